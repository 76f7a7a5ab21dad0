using System.Diagnostics;
using System.Text;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Ingest.FuzzTests.Engine;
using Ingest.TestSupport.Integration;
using Microsoft.Extensions.Primitives;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Templates;

/// <summary>
/// Mapping templates from mutated sources: <see cref="MappingTemplate.Compile(string?, string, ICollection{string})"/>
/// either compiles or reports exactly one error naming where and the line, never throws; a compiled
/// template renders over request and response scopes (JSON, text and binary bodies) or throws
/// <see cref="TemplateRenderException"/>, nothing else, and stops within its time limit.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class TemplateFuzz(ITestOutputHelper output)
{
    private const string Where = "routes[0] (POST /v1/devices/{id}).requestTemplate";

    private const string Alphabet = "{}%|.:'\"[]()-_ \n\tabcdefijlnoprstuxyz0123456789=<>!,$#";

    private static readonly string[] Dictionary =
    [
        "{{ ", " }}", "{% ", " %}", "{%- ", " -%}", "{{- ", " -}}", "| json_escape", "| json", "| json_path: '$.a[0]'", "| json_path: \"$['x']\"", "| base64_encode", "| base64_decode", "| default: 'x'", "| append: s", "| split: ','", "| size", "| slice: 0, 1", "| plus: 1", "| date: '%s'", "| upcase", "| replace: 'a', 'bb'",
        "input.json", "input.json.a", "input.body", "input.path.id", "input.query.q", "input.header.x-a", "input.headers", "context.requestId", "context.identity.apiKeyId", "stageVariables.t", "integration.json", "integration.status", "integration.header.content-type",
        "for x in ", "endfor", "if ", "endif", "unless ", "endunless", "else", "elsif ", "case ", "when ", "endcase", "assign s = ", "capture c", "endcapture", "raw", "endraw", "comment", "endcomment", "cycle 'a', 'b'", "tablerow t in ", "endtablerow", "increment i", "break", "continue", "include 'x'", "render 'x'",
        "(1..1000000000)", "(1..3)", "(-5..5)", "limit: 2", "offset: 1", "reversed", "forloop.index", "forloop.last", "[0]", "['a']", "[-1]", "nil", "empty", "blank", "contains", " and ", " or ", " == ", " != ", "'", "\"",
        "{% assign s = s | append: s %}", "{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}", "{% for x in input.json.a %}{{ x }}{% endfor %}",
    ];

    // Tighter than the defaults so that one input costs milliseconds; the property is the same.
    private static readonly TemplateLimits Limits = new()
    {
        RenderTime = TimeSpan.FromMilliseconds(200),
        MaxSteps = 20_000,
        MaxRangeItems = 2_000,
        MaxOutputChars = 256 * 1024,
    };

    // Rendering that ran past its limit by more than this (a loop step that cannot be interrupted) is a finding.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(1);

    private static readonly TemplateScope[] Scopes = BuildScopes();

    [Fact]
    public void Templates_compile_or_report_and_render_within_limits() =>
        FuzzRunner.RunAndAssert("templates", Mutations.Inputs(Corpus.Load("templates"), Mutations.TextFrom(Alphabet), Dictionary), Check, output);

    [Fact]
    public void Seeds_compile_and_render()
    {
        var seeds = Corpus.Load("templates").Seeds;
        Assert.True(seeds.Length >= 10, $"{seeds.Length} seeds");
        foreach (var seed in seeds)
        {
            var errors = new List<string>();
            var template = MappingTemplate.Compile(Encoding.UTF8.GetString(seed), Where, errors, Limits);
            Assert.True(template is not null, string.Join("; ", errors));
            foreach (var scope in Scopes)
            {
                Assert.NotNull(template.Render(scope, CancellationToken.None));
            }
        }
    }

    internal static void Check(byte[] input)
    {
        var source = Encoding.UTF8.GetString(input);
        var errors = new List<string>();
        var template = MappingTemplate.Compile(source, Where, errors, Limits);
        if (template is null)
        {
            PropertyBrokenException.Check(source.Length == 0 ? errors.Count == 0 : errors.Count == 1, $"no template and {errors.Count} errors");
            PropertyBrokenException.Check(errors.All(e => e.StartsWith(Where + ": ", StringComparison.Ordinal)), $"an error does not say where: {errors.FirstOrDefault()}");
            return;
        }
        PropertyBrokenException.Check(errors.Count == 0, $"a template and {errors.Count} errors");
        foreach (var scope in Scopes)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                template.Render(scope, CancellationToken.None);
            }
            catch (TemplateRenderException ex)
            {
                PropertyBrokenException.Check(ex.Message.StartsWith(Where + ": ", StringComparison.Ordinal), $"a render error does not say where: {ex.Message}");
            }
            PropertyBrokenException.Check(clock.Elapsed < Limits.RenderTime + Slack, $"a render took {clock.Elapsed.TotalMilliseconds:0} ms");
        }
    }

    private static TemplateScope[] BuildScopes()
    {
        var json = Request("""{"a":[1,"two",{"x":null}],"x":"q\"uote","n":3.5,"deep":{"deeper":{"deepest":[[[]]]}},"s":"\ud83d\ude00"}""", isBinary: false);
        var text = Request("plain, text, with x and \u00e9", isBinary: false);
        var binary = Request("\u0000\u00ff binary", isBinary: true);
        var answer = new IntegrationResult
        {
            IntegrationStatus = 200,
            ContentType = "application/json",
            Headers = [new("x-amzn-RequestId", new StringValues("r-1"))],
            Body = Encoding.UTF8.GetBytes("""{"Item":{"id":{"S":"d-1"}},"Items":[{"device":{"S":"d"},"ts":{"N":"1"}}],"Count":1}"""),
        };
        return [TemplateScope.ForRequest(json), TemplateScope.ForRequest(text), TemplateScope.ForRequest(binary), TemplateScope.ForResponse(json, answer)];
    }

    private static IntegrationRequest Request(string body, bool isBinary) =>
        IntegrationRequests.For(
            IntegrationRequests.Route("POST /v1/devices/{id}", "prod", new Dictionary<string, string> { ["t"] = "table" }),
            IntegrationRequests.Http("POST", "/v1/devices/d-1", "?q=1&q=2&limit=5", [new("x-a", "header value"), new("Content-Type", "application/json")]),
            new Dictionary<string, string> { ["id"] = "d-1" },
            new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero),
            Encoding.UTF8.GetBytes(body),
            isBinary,
            apiKeyId: "key",
            principal: "p",
            authorizerContext: new Dictionary<string, string> { ["tenant"] = "t" });
}
