using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.Fakes;
using static Ingest.Gateway.Tests.Integration.AwsGateway;

namespace Ingest.Gateway.Tests.Integration.Lambda;

/// <summary>
/// The lambda target end to end: a real gateway in front of the fake Lambda endpoint (which checks
/// every signature). Status codes per compat, async invocation, binary bodies, the access log.
/// Each test takes under 3 s.
/// </summary>
public sealed class LambdaGatewayTests : IAsyncLifetime
{
    private FakeLambdaServer _lambda = null!;

    public async Task InitializeAsync() => _lambda = await FakeLambdaServer.StartAsync();

    public async Task DisposeAsync() => await _lambda.DisposeAsync();

    [Theory]
    [InlineData("1.0")]
    [InlineData("2.0")]
    public async Task The_function_gets_the_proxy_event_and_its_answer_is_the_response(string format)
    {
        _lambda.Function = invocation => FakeLambdaReply.Result($$"""
            {"statusCode":201,"headers":{"Content-Type":"application/json","X-Order":"{{invocation.Event.GetProperty("pathParameters").GetProperty("id").GetString()}}"},
             "multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"{\"created\":true}","isBase64Encoded":false}
            """);
        await using var gateway = await StartAsync(format: format);

        using var response = await gateway.Client.PostAsync("/v1/orders/o-17?source=test", Json("""{"qty":2}"""));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("""{"created":true}""", await response.Content.ReadAsStringAsync());
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("o-17", response.Headers.GetValues("X-Order").Single());
        Assert.Equal(["a=1", "b=2"], response.Headers.GetValues("Set-Cookie"));
        var requestId = response.Headers.GetValues("x-request-id").Single();

        var e = Assert.Single(_lambda.Invocations).Event;
        Assert.Equal(0, _lambda.Refused);
        Assert.Equal("""{"qty":2}""", e.GetProperty("body").GetString());
        Assert.Equal(requestId, e.GetProperty("requestContext").GetProperty("requestId").GetString());
        var query = e.GetProperty("queryStringParameters").GetProperty("source").GetString();
        Assert.Equal("test", query);
        if (format == "2.0")
        {
            Assert.Equal("POST /v1/orders/{id}", e.GetProperty("routeKey").GetString());
            Assert.Equal("/v1/orders/o-17", e.GetProperty("rawPath").GetString());
            Assert.Equal("127.0.0.1", e.GetProperty("requestContext").GetProperty("http").GetProperty("sourceIp").GetString());
            Assert.Equal(response.Headers.GetValues("traceparent").Single(), e.GetProperty("headers").GetProperty("traceparent").GetString());
        }
        else
        {
            Assert.Equal("/v1/orders/{id}", e.GetProperty("resource").GetString());
            Assert.Equal("/v1/orders/o-17", e.GetProperty("path").GetString());
            Assert.Equal("127.0.0.1", e.GetProperty("requestContext").GetProperty("identity").GetProperty("sourceIp").GetString());
        }

        var log = await LastLogLineAsync(gateway);
        Assert.Equal(201, log.GetProperty("status").GetInt32());
        Assert.Equal(200, log.GetProperty("integrationStatus").GetInt32());
        Assert.Equal(JsonValueKind.Null, log.GetProperty("integrationError").ValueKind);
    }

    [Theory]
    [InlineData("rest-v1", 504, "Endpoint request timed out")]
    [InlineData("http-v2", 503, "Service Unavailable")]
    public async Task A_function_slower_than_the_route_timeout_gets_the_compat_answer(string compat, int status, string message)
    {
        _lambda.Function = _ => FakeLambdaReply.Hang();
        await using var gateway = await StartAsync(compat, timeout: "300ms");

        using var response = await gateway.Client.PostAsync("/v1/orders/o-1", Json("{}"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        var log = await LastLogLineAsync(gateway);
        Assert.Equal(status, log.GetProperty("status").GetInt32());
        Assert.Equal("Lambda Invoke: no answer within the route timeout (0.3s)", log.GetProperty("integrationError").GetString());
    }

    [Theory]
    [InlineData("rest-v1", 502, "Internal server error")]
    [InlineData("http-v2", 500, "Internal Server Error")]
    public async Task A_function_error_gets_the_compat_answer_and_its_type_in_the_access_log(string compat, int status, string message)
    {
        _lambda.Function = _ => FakeLambdaReply.FunctionError("ValidationError", "order 17 has no items");
        await using var gateway = await StartAsync(compat);

        using var response = await gateway.Client.PostAsync("/v1/orders/o-1", Json("{}"));

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        var log = await LastLogLineAsync(gateway);
        Assert.Equal("function error (Unhandled): ValidationError", log.GetProperty("integrationError").GetString());
        Assert.Equal(200, log.GetProperty("integrationStatus").GetInt32());
        Assert.DoesNotContain("no items", log.ToString());
    }

    [Theory]
    [InlineData("rest-v1", "Internal server error")]
    [InlineData("http-v2", "Internal Server Error")]
    public async Task A_malformed_proxy_answer_is_502_with_the_reason_in_the_access_log(string compat, string message)
    {
        _lambda.Function = _ => FakeLambdaReply.Result("""{"statusCode":"soon","body":"x"}""");
        await using var gateway = await StartAsync(compat);

        using var response = await gateway.Client.PostAsync("/v1/orders/o-1", Json("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        var log = await LastLogLineAsync(gateway);
        Assert.Equal("malformed Lambda proxy response: statusCode is not a number", log.GetProperty("integrationError").GetString());
    }

    [Fact]
    public async Task Event_invocation_answers_202_with_the_request_id()
    {
        await using var gateway = await StartAsync(invocationType: "Event");

        using var response = await gateway.Client.PostAsync("/v1/orders/o-9", Json("""{"qty":1}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), body.RootElement.GetProperty("requestId").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("accepted").GetInt32());
        var invocation = Assert.Single(_lambda.Invocations);
        Assert.Equal("Event", invocation.InvocationType);
        Assert.Equal("""{"qty":1}""", invocation.Event.GetProperty("body").GetString());
        Assert.Equal(202, (await LastLogLineAsync(gateway)).GetProperty("integrationStatus").GetInt32());
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("2.0")]
    public async Task Random_binary_round_trips_bit_exact(string format)
    {
        var bytes = new byte[64 * 1024];
        new Random(20260312).NextBytes(bytes);
        _lambda.Function = Echo;
        await using var gateway = await StartAsync(format: format, contentType: "application/octet-stream");
        using var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await gateway.Client.PostAsync("/v1/orders/blob", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/octet-stream", response.Content.Headers.ContentType!.MediaType);
        var echoed = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(bytes.Length, echoed.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(echoed), "the bytes came back changed");
        Assert.True(Assert.Single(_lambda.Invocations).Event.GetProperty("isBase64Encoded").GetBoolean());
    }

    [Fact]
    public async Task Lambda_throttling_is_429_with_Retry_After_and_the_reason_in_the_access_log()
    {
        _lambda.Function = _ => FakeLambdaReply.Throttled(retryAfterSeconds: 2);
        await using var gateway = await StartAsync();

        using var response = await gateway.Client.PostAsync("/v1/orders/o-1", Json("{}"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("Too Many Requests", await MessageAsync(response));
        Assert.Equal("2", response.Headers.GetValues("Retry-After").Single());
        var log = await LastLogLineAsync(gateway);
        Assert.Equal(429, log.GetProperty("integrationStatus").GetInt32());
        Assert.StartsWith("Lambda Invoke answered 429 TooManyRequestsException", log.GetProperty("integrationError").GetString());
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_by_Lambda_and_answered_502()
    {
        await using var gateway = await StartAsync(secret: "not-the-secret");

        using var response = await gateway.Client.PostAsync("/v1/orders/o-1", Json("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(1, _lambda.Refused);
        var log = await LastLogLineAsync(gateway);
        Assert.Equal(403, log.GetProperty("integrationStatus").GetInt32());
        Assert.StartsWith("Lambda Invoke answered 403 InvalidSignatureException", log.GetProperty("integrationError").GetString());
        Assert.DoesNotContain("not-the-secret", log.ToString());
    }

    /// <summary>Answers with the request body and content type, base64 as it came.</summary>
    private static FakeLambdaReply Echo(FakeLambdaInvocation invocation)
    {
        var e = invocation.Event;
        var contentType = e.GetProperty("headers").EnumerateObject().First(h => h.Name.Equals("content-type", StringComparison.OrdinalIgnoreCase)).Value.GetString()!;
        return FakeLambdaReply.Proxy(
            200,
            e.GetProperty("body").GetString()!,
            new Dictionary<string, string> { ["Content-Type"] = contentType },
            isBase64Encoded: e.GetProperty("isBase64Encoded").GetBoolean());
    }

    private Task<TestGateway> StartAsync(
        string compat = "http-v2",
        string format = "2.0",
        string timeout = "5s",
        string invocationType = "RequestResponse",
        string contentType = "application/json",
        string secret = FakeLambdaServer.SecretAccessKey) =>
        AwsGateway.StartAsync(compat, _lambda.Region, FakeLambdaServer.AccessKeyId, secret, [("lambda", _lambda.Endpoint)], $$"""
            binaryMediaTypes: [application/octet-stream]
            targets:
              orders: { type: lambda, function: "orders:live", payloadFormat: "{{format}}", invocationType: {{invocationType}} }
            routes:
              - { route: "POST /v1/orders/{id}", target: orders, auth: [none], public: true, timeout: {{timeout}}, contentTypes: [{{contentType}}] }
            """);
}
