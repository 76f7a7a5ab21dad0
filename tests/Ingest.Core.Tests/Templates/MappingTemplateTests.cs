using System.Diagnostics;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Templates;

public sealed class MappingTemplateTests
{
    private const string Where = "routes[2] (POST /v1/devices/{id}/events).requestTemplate";

    internal static MappingTemplate Compile(string source, TemplateLimits? limits = null)
    {
        var errors = new List<string>();
        var template = MappingTemplate.Compile(source, Where, errors, limits ?? TemplateLimits.Default);
        Assert.Empty(errors);
        return Assert.IsType<MappingTemplate>(template);
    }

    internal static string Render(string source, IntegrationRequest? request = null, TemplateLimits? limits = null) =>
        Compile(source, limits).Render(TemplateScope.ForRequest(request ?? TemplateRequests.Create()), CancellationToken.None);

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_source_is_no_template_and_no_error(string? source)
    {
        var errors = new List<string>();
        Assert.Null(MappingTemplate.Compile(source, Where, errors));
        Assert.Empty(errors);
    }

    [Fact]
    public void A_syntax_error_names_where_and_the_line()
    {
        var errors = new List<string>();
        var template = MappingTemplate.Compile("{\n  \"id\": \"{{ input.path.id }}\",\n  \"n\": {% for x in %}{% endfor %}\n}", Where, errors);
        Assert.Null(template);
        var error = Assert.Single(errors);
        Assert.StartsWith(Where + ": line 3: ", error, StringComparison.Ordinal);
        Assert.Contains("for", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Source:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unclosed_output_names_its_line()
    {
        var errors = new List<string>();
        MappingTemplate.Compile("line 1\nline 2\n{{ input.body ", Where, errors);
        Assert.StartsWith(Where + ": line 3: ", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_filter_is_a_compile_error()
    {
        var errors = new List<string>();
        Assert.Null(MappingTemplate.Compile("{{ input.body | jsonescape }}", Where, errors));
        Assert.Contains("unknown filter 'jsonescape'", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_source_above_the_limit_is_refused()
    {
        var errors = new List<string>();
        Assert.Null(MappingTemplate.Compile(new string('x', 101), Where, errors, new TemplateLimits { MaxSourceChars = 100 }));
        Assert.Contains("more than the limit of 100", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("blocks", 1000, "nested deeper than 100 levels")]
    [InlineData("unclosed", 1500, "line 1: ")]
    [InlineData("brackets", 1000, "nested deeper than 100 levels")]
    [InlineData("filters", 150, "nested deeper than 100 levels")]
    [InlineData("and", 300, "nested deeper than 100 levels")]
    [InlineData("blocks", 2500, "more than the limit of 2000")]
    [InlineData("brackets", 2500, "nests brackets more than 2000 deep")]
    public void Deep_nesting_is_a_compile_error_not_a_crash(string shape, int n, string error)
    {
        // Fluid's parser recurses per level: thousands of levels would overflow a request thread's stack.
        var source = shape switch
        {
            "blocks" => string.Concat(Enumerable.Repeat("{% if a %}", n)) + string.Concat(Enumerable.Repeat("{% endif %}", n)),
            "unclosed" => string.Concat(Enumerable.Repeat("{% if a %}", n)),
            "brackets" => "{{ a" + string.Concat(Enumerable.Repeat("[a", n)) + new string(']', n) + " }}",
            "filters" => "{{ a" + string.Concat(Enumerable.Repeat(" | append: 'x'", n)) + " }}",
            _ => "{% if a" + string.Concat(Enumerable.Repeat(" and a", n)) + " %}x{% endif %}",
        };
        var errors = new List<string>();
        Assert.Null(MappingTemplate.Compile(source, Where, errors));
        Assert.Contains(error, Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Many_tags_in_sequence_compile_on_a_larger_stack()
    {
        var source = string.Concat(Enumerable.Range(0, 500).Select(i => $"{{% if input.json.n == {i} %}}{i}{{% endif %}}"));
        Assert.Equal("42", Render(source, TemplateRequests.Create("{\"n\":42}")));
    }

    [Fact]
    public void Validation_reports_every_template_error_with_its_route()
    {
        var config = new IngestConfig
        {
            Routes =
            [
                new RouteOptions { Route = "GET /a", Target = "t", RequestTemplate = "{{ ok }}" },
                new RouteOptions { Route = "GET /b", Target = "t", RequestTemplate = "{% if %}" },
                new RouteOptions { Route = "GET /c", Target = "t", ResponseTemplate = "x\n{{ y | nope }}" },
            ],
        };
        var errors = new List<string>();
        TemplatesValidation.Validate(config, errors);
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("routes[1] (GET /b).requestTemplate: line 1: ", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("routes[2] (GET /c).responseTemplate: unknown filter 'nope'", errors[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Output_is_not_html_encoded()
    {
        Assert.Equal("{\"a\":\"<b>&'\"}", Render("{\"a\":\"{{ input.body }}\"}", TemplateRequests.Create("<b>&'")));
    }

    [Fact]
    public void Compiled_once_renders_many_times_and_on_many_threads()
    {
        var template = Compile("{\"id\":\"{{ input.path.id }}\",\"n\":{{ input.json.n }}}");
        Parallel.For(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var request = TemplateRequests.Create(
                body: $"{{\"n\":{i}}}",
                pathParameters: new Dictionary<string, string> { ["id"] = "d-" + i });
            var output = template.Render(TemplateScope.ForRequest(request), CancellationToken.None);
            Assert.Equal($"{{\"id\":\"d-{i}\",\"n\":{i}}}", output);
        });
    }

    [Fact]
    public void A_huge_range_stops_at_once_with_a_render_error()
    {
        // The range is refused by its size before any item is rendered: the message says so (a
        // render that iterated would stop at the step or time limit with another message).
        var template = Compile("{% for i in (1..100000000) %}{{ i }}{% endfor %}");
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.StartsWith(Where + ": ", error.Message, StringComparison.Ordinal);
        Assert.Contains("more than 100000 items", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nested_loops_stop_within_the_limits()
    {
        // Ten billion iterations: only a limit (steps, or time on a slow machine) ends this render.
        var template = Compile("{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}");
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Matches("steps|ran longer than", error.Message);
    }

    [Fact]
    public void Loops_stop_at_the_step_limit()
    {
        var limits = new TemplateLimits { MaxSteps = 10_000, RenderTime = TimeSpan.FromMinutes(1) };
        var template = Compile("{% for i in (1..100) %}{% for j in (1..1000) %}{% endfor %}{% endfor %}", limits);
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Contains("more than 10000 steps", error.Message, StringComparison.Ordinal);
        Assert.Equal("100", Render("{% assign n = 0 %}{% for i in (1..10) %}{% for j in (1..10) %}{% assign n = n | plus: 1 %}{% endfor %}{% endfor %}{{ n }}", limits: limits));
    }

    [Fact]
    public void Without_a_step_limit_the_time_limit_stops_the_render_near_one_second()
    {
        var limits = new TemplateLimits { MaxSteps = int.MaxValue };
        var template = Compile("{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}", limits);
        var clock = Stopwatch.StartNew();
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        clock.Stop();
        Assert.Contains("ran longer than its limit of 1000 ms", error.Message, StringComparison.Ordinal);
        // Upper bound loose: a busy machine may not schedule the render thread for a while.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void The_time_limit_follows_the_limits_clock()
    {
        // Every reading of this clock is 100 ms later than the one before: the 11th check is past 1 s.
        var limits = new TemplateLimits { TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(100)) };
        var template = Compile("{% for i in (1..1000) %}{{ i }},{% endfor %}", limits);
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Contains("ran longer than its limit of 1000 ms", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_huge_range_inside_an_index_is_bounded_too()
    {
        var error = Assert.Throws<TemplateRenderException>(() => Render("{{ input.json.a[(1..100000000)] }}", TemplateRequests.Create("{\"a\":[1]}")));
        Assert.Contains("more than 100000 items", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Output_above_the_limit_is_a_render_error()
    {
        var template = Compile("{% for i in (1..1000) %}0123456789{% endfor %}", new TemplateLimits { MaxOutputChars = 5_000 });
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Contains("longer than the limit of 5000 characters", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_assign_that_doubles_a_string_stops_at_the_size_limit()
    {
        // A clock that never moves: on a busy machine the 1 s render limit could otherwise fire first.
        var template = Compile(
            "{% assign s = 'x' %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}",
            new TemplateLimits { TimeProvider = new FakeTimeProvider() });
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Contains("'s' would hold more than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_capture_is_bounded_like_the_output()
    {
        var template = Compile("{% capture big %}{% for i in (1..1000) %}0123456789{% endfor %}{% endcapture %}{{ big | size }}", new TemplateLimits { MaxOutputChars = 5_000 });
        var error = Assert.Throws<TemplateRenderException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), CancellationToken.None));
        Assert.Contains("longer than the limit of 5000 characters", error.Message, StringComparison.Ordinal);
        Assert.Equal("500", Render("{% capture big %}{% for i in (1..50) %}0123456789{% endfor %}{% endcapture %}{{ big | size }}"));
    }

    [Fact]
    public void Nesting_beyond_the_recursion_limit_is_a_render_error()
    {
        var source = string.Concat(Enumerable.Repeat("{% for a in (1..1) %}", 80)) + "x" + string.Concat(Enumerable.Repeat("{% endfor %}", 80));
        var error = Assert.Throws<TemplateRenderException>(() => Render(source));
        Assert.Contains("nested deeper than 64 levels", error.Message, StringComparison.Ordinal);
        Assert.Equal("x", Render(string.Concat(Enumerable.Repeat("{% for a in (1..1) %}", 10)) + "x" + string.Concat(Enumerable.Repeat("{% endfor %}", 10))));
    }

    [Fact]
    public void A_cancelled_render_throws_operation_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var template = Compile("{% for i in (1..10) %}{{ i }}{% endfor %}");
        Assert.ThrowsAny<OperationCanceledException>(() => template.Render(TemplateScope.ForRequest(TemplateRequests.Create()), cancel.Token));
    }

    [Theory]
    [InlineData("{% include 'other' %}")]
    [InlineData("{% render 'other' %}")]
    [InlineData("{{ input.body | base64_decode }}")]
    [InlineData("{{ input | json_path: 'no-dollar' }}")]
    [InlineData("{{ 1 | divided_by: 0 }}")]
    public void Errors_while_rendering_are_render_errors_naming_where(string source)
    {
        var error = Assert.Throws<TemplateRenderException>(() => Render(source, TemplateRequests.Create("not base64 !")));
        Assert.StartsWith(Where + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Date_now_is_the_request_time()
    {
        Assert.Equal("2026-11-25T21:14:44", Render("{{ 'now' | date: '%Y-%m-%dT%H:%M:%S' }}"));
    }

    [Fact]
    public void A_dynamodb_request_renders_to_valid_json()
    {
        var output = Render(
            """{"Key":{"id":{"S":"{{ input.path.id | json_escape }}"}},"ConditionExpression":"attribute_exists(id)"}""",
            TemplateRequests.Create(pathParameters: new Dictionary<string, string> { ["id"] = "a\"b" }));
        using var document = JsonDocument.Parse(output);
        Assert.Equal("a\"b", document.RootElement.GetProperty("Key").GetProperty("id").GetProperty("S").GetString());
    }

    private sealed class SteppingClock(TimeSpan step) : TimeProvider
    {
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _now, step.Ticks);
    }
}
