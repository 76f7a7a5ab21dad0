using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Payload;

/// <summary>validate: json, schema: file:PATH and split: ndjson|array against a real Kestrel.</summary>
public sealed class BodyValidationTests : IDisposable
{
    private readonly string _schemaPath = Path.Combine(Path.GetTempPath(), $"ingest-schema-{Guid.NewGuid():N}.json");

    public BodyValidationTests() => File.WriteAllText(_schemaPath, """
        { "type": "object", "required": ["device", "temp"],
          "properties": { "device": { "type": "string" }, "temp": { "type": "number", "minimum": -50, "maximum": 60 } } }
        """);

    public void Dispose() => File.Delete(_schemaPath);

    private string Config => $$"""
        targets: { rec: { type: recording } }
        routes:
          - { route: POST /v1/json, target: rec, auth: none, public: true, validate: json }
          - { route: POST /v1/readings, target: rec, auth: none, public: true, schema: "file:{{_schemaPath}}" }
          - { route: POST /v1/batch, target: rec, auth: none, public: true, split: ndjson, schema: "file:{{_schemaPath}}", maxItems: 5, contentTypes: [application/x-ndjson] }
          - { route: POST /v1/array, target: rec, auth: none, public: true, split: array, schema: "file:{{_schemaPath}}" }
        """;

    private static GatewayOptions With(RecordingTargetKind kind) => new()
    {
        ConfigureServices = services => services.AddSingleton<ITargetKind>(kind),
    };

    private static StringContent Json(string body, string type = "application/json") => new(body, Encoding.UTF8, type);

    [Fact]
    public async Task Malformed_json_gets_400_naming_the_first_error_path()
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));

        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/json", Json("""{"temp": 21,}""")), 400, "Invalid request body: $");
        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/json", Json("""{"a": [1, {"temp": nope}]}""")), 400, "Invalid request body: $.a[1].temp");
        Assert.Equal(202, (int)(await gateway.Client.PostAsync("/v1/json", Json("""{"temp": 21}"""))).StatusCode);
    }

    [Fact]
    public async Task Deeply_nested_json_is_refused_at_the_depth_limit()
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));

        var response = await gateway.Client.PostAsync("/v1/json", Json(new string('[', 200_000)));

        Assert.Equal(400, (int)response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.StartsWith("Invalid request body: $[0][0][0]", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Schema_violation_gets_400_with_the_path()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/readings", Json("""{"device":"d-1","temp":"hot"}""")), 400, "Invalid request body: $.temp");
        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/readings", Json("""{"device":"d-1"}""")), 400, "Invalid request body: $.temp");
        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/readings", Json("""{"device":7,"temp":1}""")), 400, "Invalid request body: $.device");
        Assert.Equal(202, (int)(await gateway.Client.PostAsync("/v1/readings", Json("""{"device":"d-1","temp":21}"""))).StatusCode);
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Ndjson_with_good_and_bad_items_accepts_the_good_ones_and_lists_the_bad()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));
        var body = """
            {"device":"d-1","temp":20}

            {"device":"d-2","temp":"warm"}
            {"device":"d-3"
            {"device":"d-4","temp":22}
            """ + "\n";

        var response = await gateway.Client.PostAsync("/v1/batch", Json(body, "application/x-ndjson"));

        Assert.Equal(202, (int)response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = answer.RootElement;
        Assert.Equal(2, root.GetProperty("accepted").GetInt32());
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), root.GetProperty("requestId").GetString());
        var rejected = root.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("message").GetString())).ToArray();
        Assert.Equal([(1, "Invalid request body: $.temp"), (2, "Invalid request body: $")], rejected);

        await Poll.UntilAsync(() => backend.Delivered.Count == 2, TimeSpan.FromSeconds(10));
        Assert.Equal(
            ["""{"device":"d-1","temp":20}""", """{"device":"d-4","temp":22}"""],
            backend.Delivered.Values.Select(e => Encoding.UTF8.GetString(e.Body.Span)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Array_split_keeps_each_elements_exact_bytes()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var response = await gateway.Client.PostAsync("/v1/array", Json("""[ {"device":"a", "temp": 1.50} ,{"device":"b","temp":99}, {"temp":2,"device":"c"}]"""));

        Assert.Equal(202, (int)response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, answer.RootElement.GetProperty("accepted").GetInt32());
        var bad = Assert.Single(answer.RootElement.GetProperty("rejected").EnumerateArray());
        Assert.Equal(1, bad.GetProperty("index").GetInt32());
        Assert.Equal("Invalid request body: $.temp", bad.GetProperty("message").GetString());
        await Poll.UntilAsync(() => backend.Delivered.Count == 2, TimeSpan.FromSeconds(10));
        Assert.Equal(
            ["""{"device":"a", "temp": 1.50}""", """{"temp":2,"device":"c"}"""],
            backend.Delivered.Values.Select(e => Encoding.UTF8.GetString(e.Body.Span)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Split_request_with_no_good_item_gets_400_with_the_first_items_message()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var allBad = await gateway.Client.PostAsync("/v1/batch", Json("{\"device\":\"x\"}\n{\"temp\":1}\n", "application/x-ndjson"));
        var broken = await gateway.Client.PostAsync("/v1/array", Json("""[{"device":"a","temp":1}, {oops}]"""));
        var notArray = await gateway.Client.PostAsync("/v1/array", Json("""{"device":"a","temp":1}"""));
        var empty = await gateway.Client.PostAsync("/v1/batch", Json("\n\n", "application/x-ndjson"));

        await StatusCodeTests.AssertError(allBad, 400, "Invalid request body: $.temp");
        await StatusCodeTests.AssertError(broken, 400, "Invalid request body: $[1]");
        await StatusCodeTests.AssertError(notArray, 400, "Invalid request body: $");
        await StatusCodeTests.AssertError(empty, 400, "Invalid request body: $");
        Assert.Empty(backend.Delivered);
    }

    [Fact]
    public async Task More_items_than_max_items_gets_413_and_nothing_is_queued()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));
        var six = string.Concat(Enumerable.Range(0, 6).Select(i => $"{{\"device\":\"d{i}\",\"temp\":1}}\n"));

        var response = await gateway.Client.PostAsync("/v1/batch", Json(six, "application/x-ndjson"));

        await StatusCodeTests.AssertError(response, 413, "Request Entity Too Large");
        Assert.Empty(backend.Delivered);
    }
}
