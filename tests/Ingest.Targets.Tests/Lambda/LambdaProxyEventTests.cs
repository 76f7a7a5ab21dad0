using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Targets.Lambda;
using Ingest.TestSupport.Fakes;

namespace Ingest.Targets.Tests.Lambda;

/// <summary>
/// The proxy event as the function receives it, field by field, in payload formats 1.0 and 2.0:
/// each test invokes a real target against the fake Lambda endpoint (which checks the signature)
/// and reads the event the fake recorded.
/// </summary>
public sealed class LambdaProxyEventTests : IAsyncLifetime
{
    private FakeLambdaServer _lambda = null!;

    public async Task InitializeAsync() => _lambda = await FakeLambdaServer.StartAsync();

    public async Task DisposeAsync() => await _lambda.DisposeAsync();

    [Fact]
    public async Task Format_2_0_carries_every_field_as_http_apis_do()
    {
        var route = SyncRequests.Route("POST /v1/devices/{id}/events", stage: "prod", stageVariables: new Dictionary<string, string> { ["env"] = "production" });
        var request = SyncRequests.Request(
            route,
            path: "/prod/v1/devices/dev-7/events",
            query: "?a=1&a=2&b=x%20y",
            body: """{"temp":21.5,"note":"caf\u00e9"}"""u8.ToArray(),
            headers:
            [
                ("Content-Type", "application/json"), ("User-Agent", "probe/1.0"), ("X-Custom", "one"), ("X-Custom", "two"),
                ("Cookie", "c1=v1; c2=v2"), ("X-Forwarded-For", "203.0.113.9"), ("traceparent", "00-client-trace-01"),
            ],
            principal: "user-42",
            authorizerContext: new Dictionary<string, string> { ["tenant"] = "acme" });

        var result = await InvokeAsync(request, "2.0");
        Assert.Equal(IntegrationFailure.None, result.Failure);

        var e = Single().Event;
        Assert.Equal("2.0", e.GetProperty("version").GetString());
        Assert.Equal("POST /v1/devices/{id}/events", e.GetProperty("routeKey").GetString());
        Assert.Equal("/prod/v1/devices/dev-7/events", e.GetProperty("rawPath").GetString());
        Assert.Equal("a=1&a=2&b=x%20y", e.GetProperty("rawQueryString").GetString());
        Assert.Equal(["c1=v1", "c2=v2"], e.GetProperty("cookies").EnumerateArray().Select(c => c.GetString()));

        var headers = e.GetProperty("headers");
        Assert.Equal("one,two", headers.GetProperty("x-custom").GetString());
        Assert.Equal("probe/1.0", headers.GetProperty("user-agent").GetString());
        Assert.Equal("application/json", headers.GetProperty("content-type").GetString());
        Assert.False(headers.TryGetProperty("cookie", out _), "2.0 moves Cookie into cookies");
        Assert.Equal("203.0.113.9, 198.51.100.7", headers.GetProperty("x-forwarded-for").GetString());
        Assert.Equal("http", headers.GetProperty("x-forwarded-proto").GetString());
        Assert.Equal("8080", headers.GetProperty("x-forwarded-port").GetString());
        Assert.Equal(SyncRequests.TraceParent, headers.GetProperty("traceparent").GetString());
        Assert.All(headers.EnumerateObject(), h => Assert.Equal(h.Name.ToLowerInvariant(), h.Name));

        var query = e.GetProperty("queryStringParameters");
        Assert.Equal("1,2", query.GetProperty("a").GetString());
        Assert.Equal("x y", query.GetProperty("b").GetString());

        var context = e.GetProperty("requestContext");
        var http = context.GetProperty("http");
        Assert.Equal("POST", http.GetProperty("method").GetString());
        Assert.Equal("/prod/v1/devices/dev-7/events", http.GetProperty("path").GetString());
        Assert.Equal("HTTP/1.1", http.GetProperty("protocol").GetString());
        Assert.Equal("198.51.100.7", http.GetProperty("sourceIp").GetString());
        Assert.Equal("probe/1.0", http.GetProperty("userAgent").GetString());
        Assert.Equal(request.Context.RequestId.ToString(), context.GetProperty("requestId").GetString());
        Assert.Equal("POST /v1/devices/{id}/events", context.GetProperty("routeKey").GetString());
        Assert.Equal("prod", context.GetProperty("stage").GetString());
        Assert.Equal("12/Mar/2026:19:03:58 +0000", context.GetProperty("time").GetString());
        Assert.Equal(SyncRequests.RequestTime.ToUnixTimeMilliseconds(), context.GetProperty("timeEpoch").GetInt64());
        Assert.Equal("api.example.com", context.GetProperty("domainName").GetString());
        Assert.Equal("api", context.GetProperty("domainPrefix").GetString());
        Assert.Equal("acme", context.GetProperty("authorizer").GetProperty("lambda").GetProperty("tenant").GetString());
        Assert.Equal("user-42", context.GetProperty("authorizer").GetProperty("principalId").GetString());

        Assert.Equal("dev-7", e.GetProperty("pathParameters").GetProperty("id").GetString());
        Assert.Equal("production", e.GetProperty("stageVariables").GetProperty("env").GetString());
        Assert.Equal("""{"temp":21.5,"note":"caf\u00e9"}""", e.GetProperty("body").GetString());
        Assert.False(e.GetProperty("isBase64Encoded").GetBoolean());
    }

    [Fact]
    public async Task Format_1_0_carries_every_field_as_rest_apis_do()
    {
        var route = SyncRequests.Route("POST /v1/devices/{id}/events", stage: "prod", stageVariables: new Dictionary<string, string> { ["env"] = "production" });
        var request = SyncRequests.Request(
            route,
            path: "/prod/v1/devices/dev-7/events",
            query: "?a=1&a=2",
            body: "plain text"u8.ToArray(),
            headers: [("Content-Type", "text/plain"), ("User-Agent", "probe/1.0"), ("X-Custom", "one"), ("X-Custom", "two"), ("Cookie", "c1=v1")],
            apiKeyId: "key-7",
            principal: "user-42",
            authorizerContext: new Dictionary<string, string> { ["tenant"] = "acme" });

        var result = await InvokeAsync(request, "1.0");
        Assert.Equal(IntegrationFailure.None, result.Failure);

        var e = Single().Event;
        Assert.Equal("/v1/devices/{id}/events", e.GetProperty("resource").GetString());
        Assert.Equal("/v1/devices/dev-7/events", e.GetProperty("path").GetString());
        Assert.Equal("POST", e.GetProperty("httpMethod").GetString());
        Assert.Equal("two", e.GetProperty("headers").GetProperty("X-Custom").GetString());
        Assert.Equal("c1=v1", e.GetProperty("headers").GetProperty("Cookie").GetString());
        Assert.Equal(["one", "two"], e.GetProperty("multiValueHeaders").GetProperty("X-Custom").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal("2", e.GetProperty("queryStringParameters").GetProperty("a").GetString());
        Assert.Equal(["1", "2"], e.GetProperty("multiValueQueryStringParameters").GetProperty("a").EnumerateArray().Select(v => v.GetString()));

        var context = e.GetProperty("requestContext");
        Assert.Equal("/v1/devices/{id}/events", context.GetProperty("resourcePath").GetString());
        Assert.Equal("/prod/v1/devices/dev-7/events", context.GetProperty("path").GetString());
        Assert.Equal("POST", context.GetProperty("httpMethod").GetString());
        Assert.Equal("prod", context.GetProperty("stage").GetString());
        Assert.Equal(request.Context.RequestId.ToString(), context.GetProperty("requestId").GetString());
        Assert.Equal(request.Context.RequestId.ToString(), context.GetProperty("extendedRequestId").GetString());
        Assert.Equal("12/Mar/2026:19:03:58 +0000", context.GetProperty("requestTime").GetString());
        Assert.Equal(SyncRequests.RequestTime.ToUnixTimeMilliseconds(), context.GetProperty("requestTimeEpoch").GetInt64());
        Assert.Equal("HTTP/1.1", context.GetProperty("protocol").GetString());
        var identity = context.GetProperty("identity");
        Assert.Equal("198.51.100.7", identity.GetProperty("sourceIp").GetString());
        Assert.Equal("probe/1.0", identity.GetProperty("userAgent").GetString());
        Assert.Equal("key-7", identity.GetProperty("apiKeyId").GetString());
        Assert.Equal(JsonValueKind.Null, identity.GetProperty("apiKey").ValueKind);
        Assert.Equal("user-42", context.GetProperty("authorizer").GetProperty("principalId").GetString());
        Assert.Equal("acme", context.GetProperty("authorizer").GetProperty("tenant").GetString());

        Assert.Equal("dev-7", e.GetProperty("pathParameters").GetProperty("id").GetString());
        Assert.Equal("production", e.GetProperty("stageVariables").GetProperty("env").GetString());
        Assert.Equal("plain text", e.GetProperty("body").GetString());
        Assert.False(e.GetProperty("isBase64Encoded").GetBoolean());
    }

    [Fact]
    public async Task Absent_parts_are_null_in_1_0_and_left_out_in_2_0()
    {
        var route = SyncRequests.Route("GET /health");
        await InvokeAsync(SyncRequests.Request(route, method: "GET", path: "/health", pathParameters: new Dictionary<string, string>()), "1.0");
        await InvokeAsync(SyncRequests.Request(route, method: "GET", path: "/health", pathParameters: new Dictionary<string, string>()), "2.0");

        var events = _lambda.Invocations.Select(i => i.Event).ToArray();
        var v1 = events[0];
        foreach (var field in new[] { "queryStringParameters", "multiValueQueryStringParameters", "pathParameters", "stageVariables", "body" })
        {
            Assert.Equal(JsonValueKind.Null, v1.GetProperty(field).ValueKind);
        }
        Assert.Equal("$default", v1.GetProperty("requestContext").GetProperty("stage").GetString());
        Assert.False(v1.GetProperty("requestContext").TryGetProperty("authorizer", out _));

        var v2 = events[1];
        foreach (var field in new[] { "queryStringParameters", "pathParameters", "stageVariables", "body", "cookies" })
        {
            Assert.False(v2.TryGetProperty(field, out _), $"2.0 leaves out {field} when there is none");
        }
        Assert.Equal("", v2.GetProperty("rawQueryString").GetString());
        Assert.False(v2.GetProperty("isBase64Encoded").GetBoolean());
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("2.0")]
    public async Task Binary_bodies_and_bodies_that_are_not_UTF8_go_as_base64(string format)
    {
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        var route = SyncRequests.Route();
        await InvokeAsync(SyncRequests.Request(route, body: bytes, isBinary: true), format);
        // Not a binary media type, but the bytes are not UTF-8: a JSON string would change them.
        await InvokeAsync(SyncRequests.Request(route, body: [0x61, 0xff, 0xfe, 0x62], isBinary: false), format);

        var events = _lambda.Invocations.Select(i => i.Event).ToArray();
        Assert.True(events[0].GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal(bytes, Convert.FromBase64String(events[0].GetProperty("body").GetString()!));
        Assert.True(events[1].GetProperty("isBase64Encoded").GetBoolean());
        Assert.Equal([0x61, 0xff, 0xfe, 0x62], Convert.FromBase64String(events[1].GetProperty("body").GetString()!));
    }

    [Fact]
    public async Task An_inflated_body_loses_its_content_encoding()
    {
        var plain = """{"temp":21}"""u8.ToArray();
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(plain);
        }
        var request = SyncRequests.Request(
            SyncRequests.Route(),
            body: plain,
            headers: [("Content-Encoding", "gzip"), ("Content-Length", compressed.Length.ToString(System.Globalization.CultureInfo.InvariantCulture))]);

        await InvokeAsync(request, "2.0");

        var e = Single().Event;
        Assert.False(e.GetProperty("headers").TryGetProperty("content-encoding", out _));
        Assert.Equal(plain.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), e.GetProperty("headers").GetProperty("content-length").GetString());
        Assert.Equal("""{"temp":21}""", e.GetProperty("body").GetString());
    }

    [Fact]
    public async Task The_payload_format_defaults_to_2_0_and_to_1_0_under_rest_v1()
    {
        var kind = new LambdaTargetKind();
        var options = new TargetOptions { Type = "lambda", Function = "fn" };
        await using var http = (LambdaTarget)kind.Create("t", options, SyncRequests.Context(Config("http-v2")));
        await using var rest = (LambdaTarget)kind.Create("t", options, SyncRequests.Context(Config("rest-v1")));
        await using var overridden = (LambdaTarget)kind.Create("t", new TargetOptions { Type = "lambda", Function = "fn", PayloadFormat = "2.0" }, SyncRequests.Context(Config("rest-v1")));

        Assert.Equal(LambdaPayloadFormat.V2, http.Format);
        Assert.Equal(LambdaPayloadFormat.V1, rest.Format);
        Assert.Equal(LambdaPayloadFormat.V2, overridden.Format);
    }

    private FakeLambdaInvocation Single()
    {
        Assert.Equal(0, _lambda.Refused);
        return Assert.Single(_lambda.Invocations);
    }

    private IngestConfig Config(string compat = "http-v2") => SyncRequests.Config(
        compat,
        FakeLambdaServer.AccessKeyId,
        FakeLambdaServer.SecretAccessKey,
        endpoints: ("lambda", _lambda.Endpoint));

    private async Task<IntegrationResult> InvokeAsync(IntegrationRequest request, string format)
    {
        // The function answers with a minimal proxy response; these tests look at what it received.
        _lambda.Function = _ => FakeLambdaReply.Proxy(200, "ok");
        var options = new TargetOptions { Type = "lambda", Function = "orders", PayloadFormat = format };
        await using var target = new LambdaTargetKind().Create("orders", options, SyncRequests.Context(Config()));
        var result = await target.InvokeAsync(request, CancellationToken.None);
        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Failure}: {result.Reason}; fake: {_lambda.LastRefusal}");
        Assert.Equal("ok", Encoding.UTF8.GetString(result.Body.Span));
        return result;
    }
}
