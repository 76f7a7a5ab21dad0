using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Targets.Lambda;
using Ingest.TestSupport.Fakes;

namespace Ingest.Targets.Tests.Lambda;

/// <summary>Invoke against the fake Lambda endpoint: signing, function names, errors, async invocation, timeouts, binary bodies.</summary>
public sealed class LambdaInvokeTests : IAsyncLifetime
{
    private FakeLambdaServer _lambda = null!;

    public async Task InitializeAsync() => _lambda = await FakeLambdaServer.StartAsync();

    public async Task DisposeAsync() => await _lambda.DisposeAsync();

    [Fact]
    public async Task Invoke_is_signed_for_lambda_and_names_the_function_and_invocation_type()
    {
        _lambda.Function = _ => FakeLambdaReply.Proxy(200, "done", new Dictionary<string, string> { ["content-type"] = "text/plain" });

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()));

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal("done", Encoding.UTF8.GetString(result.Body.Span));
        Assert.Equal("text/plain", result.ContentType);
        var invocation = Assert.Single(_lambda.Invocations);
        Assert.Equal(0, _lambda.Refused);
        Assert.Equal("orders", invocation.FunctionName);
        Assert.Null(invocation.Qualifier);
        Assert.Equal("RequestResponse", invocation.InvocationType);
        Assert.Equal(FakeLambdaServer.AccessKeyId, invocation.AccessKeyId);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDFAKELAMBDA/", invocation.Headers["authorization"]);
        Assert.Contains("/us-east-1/lambda/aws4_request", invocation.Headers["authorization"]);
    }

    [Theory]
    [InlineData("orders:live", "orders", "live")]
    [InlineData("arn:aws:lambda:us-east-1:123456789012:function:orders", "orders", null)]
    [InlineData("arn:aws:lambda:us-east-1:123456789012:function:orders:7", "orders", "7")]
    [InlineData("123456789012:function:orders:live", "orders", "live")]
    public async Task Names_aliases_and_ARNs_reach_the_function(string function, string name, string? qualifier)
    {
        _lambda.Functions.Add("orders");
        _lambda.Function = _ => FakeLambdaReply.Proxy(200, "ok");

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), new TargetOptions { Type = "lambda", Function = function });

        Assert.True(result.Failure == IntegrationFailure.None, $"{result.Reason}; fake: {_lambda.LastRefusal}");
        var invocation = Assert.Single(_lambda.Invocations);
        Assert.Equal(name, invocation.FunctionName);
        Assert.Equal(qualifier, invocation.Qualifier);
    }

    [Fact]
    public async Task The_fake_refuses_a_wrong_secret_and_the_call_fails_with_the_reason()
    {
        var config = SyncRequests.Config(accessKeyId: FakeLambdaServer.AccessKeyId, secretAccessKey: "not-the-secret", endpoints: ("lambda", _lambda.Endpoint));

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), config: config);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(403, result.IntegrationStatus);
        Assert.Contains("InvalidSignatureException", result.Reason);
        Assert.Equal(1, _lambda.Refused);
        Assert.Empty(_lambda.Invocations);
    }

    [Fact]
    public async Task The_fake_refuses_an_unknown_key_and_another_region()
    {
        var unknownKey = SyncRequests.Config(accessKeyId: "AKIDOTHER", secretAccessKey: FakeLambdaServer.SecretAccessKey, endpoints: ("lambda", _lambda.Endpoint));
        var otherRegion = SyncRequests.Config(accessKeyId: FakeLambdaServer.AccessKeyId, secretAccessKey: FakeLambdaServer.SecretAccessKey, region: "eu-west-1", endpoints: ("lambda", _lambda.Endpoint));

        var first = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), config: unknownKey);
        var second = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), config: otherRegion);

        Assert.Contains("UnrecognizedClientException", first.Reason);
        Assert.Contains("InvalidSignatureException", second.Reason);
        Assert.Contains("valid region", second.Reason);
        Assert.Equal(2, _lambda.Refused);
    }

    [Fact]
    public async Task A_function_error_is_FunctionError_with_the_error_type_and_not_the_message()
    {
        _lambda.Function = _ => FakeLambdaReply.FunctionError("Runtime.UnhandledPromiseRejection", "secret-ish detail from the function");

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()));

        Assert.Equal(IntegrationFailure.FunctionError, result.Failure);
        Assert.Equal(200, result.IntegrationStatus);
        Assert.Equal("function error (Unhandled): Runtime.UnhandledPromiseRejection", result.Reason);
    }

    [Fact]
    public async Task Lambda_throttling_is_429_with_Retry_After_and_500_under_rest_v1()
    {
        _lambda.Function = _ => FakeLambdaReply.Throttled(retryAfterSeconds: 3);

        var http = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()));
        var rest = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), config: Config("rest-v1"));

        Assert.Equal(IntegrationFailure.None, http.Failure);
        Assert.Equal(429, http.StatusCode);
        Assert.Equal(429, http.IntegrationStatus);
        Assert.Equal("3", Assert.Single(http.Headers, h => h.Key == "Retry-After").Value.ToString());
        Assert.Equal("""{"message":"Too Many Requests"}""", Encoding.UTF8.GetString(http.Body.Span));
        Assert.Contains("TooManyRequestsException", http.Reason);
        Assert.Equal(500, rest.StatusCode);
        Assert.Equal("""{"message":"Internal server error"}""", Encoding.UTF8.GetString(rest.Body.Span));
    }

    [Fact]
    public async Task An_unknown_function_is_InvalidResponse_naming_ResourceNotFoundException()
    {
        _lambda.Functions.Add("something-else");

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()));

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(404, result.IntegrationStatus);
        Assert.Contains("ResourceNotFoundException", result.Reason);
        Assert.Contains("Function not found", result.Reason);
    }

    [Fact]
    public async Task A_function_answer_that_is_not_JSON_is_malformed()
    {
        _lambda.Function = _ => FakeLambdaReply.Result("<html>oops</html>");

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()));

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.StartsWith("malformed Lambda proxy response: the function's answer is not JSON", result.Reason);
    }

    [Fact]
    public async Task Event_invocation_is_answered_202_with_the_request_id()
    {
        var request = SyncRequests.Request(SyncRequests.Route());

        var result = await InvokeAsync(request, new TargetOptions { Type = "lambda", Function = "orders", InvocationType = "Event" });

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal(202, result.StatusCode);
        Assert.Equal(202, result.IntegrationStatus);
        Assert.Equal("application/json", result.ContentType);
        using var body = JsonDocument.Parse(result.Body);
        Assert.Equal(request.Context.RequestId.ToString(), body.RootElement.GetProperty("requestId").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal("Event", Assert.Single(_lambda.Invocations).InvocationType);
    }

    [Fact]
    public async Task A_function_that_hangs_ends_in_Timeout_when_the_token_fires()
    {
        _lambda.Function = _ => FakeLambdaReply.Hang();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var watch = Stopwatch.StartNew();

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route(timeout: TimeSpan.FromMilliseconds(300))), cancellationToken: timeout.Token);

        Assert.Equal(IntegrationFailure.Timeout, result.Failure);
        Assert.Equal("Lambda Invoke: no answer within the route timeout (0.3s)", result.Reason);
        Assert.InRange(watch.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_client_that_goes_away_ends_the_call_as_Timeout_with_that_reason()
    {
        _lambda.Function = _ => FakeLambdaReply.Hang();
        using var aborted = new CancellationTokenSource();
        var request = SyncRequests.Request(SyncRequests.Route(), requestAborted: aborted.Token);

        var call = InvokeAsync(request, cancellationToken: aborted.Token);
        await Poll(() => !_lambda.Invocations.IsEmpty);
        await aborted.CancelAsync();
        var result = await call;

        Assert.Equal(IntegrationFailure.Timeout, result.Failure);
        Assert.Equal("Lambda Invoke: the client went away before the answer", result.Reason);
    }

    [Fact]
    public async Task A_slow_function_within_the_timeout_still_answers()
    {
        _lambda.Function = _ => FakeLambdaReply.After(TimeSpan.FromMilliseconds(200), FakeLambdaReply.Proxy(200, "late"));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), cancellationToken: timeout.Token);

        Assert.Equal("late", Encoding.UTF8.GetString(result.Body.Span));
    }

    [Fact]
    public async Task A_refused_connection_is_Unreachable()
    {
        var closedPort = ClosedPort();
        var config = SyncRequests.Config(endpoints: ("lambda", $"http://127.0.0.1:{closedPort}"));

        var result = await InvokeAsync(SyncRequests.Request(SyncRequests.Route()), config: config);

        Assert.Equal(IntegrationFailure.Unreachable, result.Failure);
        Assert.StartsWith("Lambda Invoke unreachable: ", result.Reason);
        Assert.Equal(0, result.IntegrationStatus);
    }

    [Theory]
    [InlineData("1.0")]
    [InlineData("2.0")]
    public async Task Random_binary_round_trips_bit_exact_through_an_echo_function(string format)
    {
        var bytes = new byte[64 * 1024];
        new Random(2026).NextBytes(bytes);
        _lambda.Function = EchoFunction;

        var result = await InvokeAsync(
            SyncRequests.Request(SyncRequests.Route(), body: bytes, isBinary: true, headers: [("Content-Type", "application/octet-stream")]),
            new TargetOptions { Type = "lambda", Function = "echo", PayloadFormat = format });

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal("application/octet-stream", result.ContentType);
        Assert.Equal(bytes.Length, result.Body.Length);
        Assert.True(bytes.AsSpan().SequenceEqual(result.Body.Span), "the bytes came back changed");
    }

    [Fact]
    public async Task With_a_request_template_the_rendered_text_is_the_payload_and_the_result_the_body()
    {
        var errors = new List<string>();
        var template = Ingest.Core.Templates.MappingTemplate.Compile("""{"orderId":"{{ input.path.id }}","qty":{{ input.json.qty }}}""", "routes[0].requestTemplate", errors);
        Assert.Empty(errors);
        _lambda.Function = invocation => FakeLambdaReply.Result($$"""{"received":{{Encoding.UTF8.GetString(invocation.Payload)}}}""");
        var plain = SyncRequests.Request(SyncRequests.Route(), body: """{"qty":3}"""u8.ToArray());
        var request = new IntegrationRequest
        {
            Context = plain.Context,
            PathParameters = plain.PathParameters,
            Body = plain.Body,
            RequestTime = plain.RequestTime,
            TraceParent = plain.TraceParent,
            RequestTemplate = template,
        };

        var result = await InvokeAsync(request);

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("application/json", result.ContentType);
        Assert.Equal("""{"received":{"orderId":"dev-7","qty":3}}""", Encoding.UTF8.GetString(result.Body.Span));
        Assert.Equal("""{"orderId":"dev-7","qty":3}""", Encoding.UTF8.GetString(Assert.Single(_lambda.Invocations).Payload));
    }

    /// <summary>A function that answers with the request's body and content type, base64 as it came.</summary>
    internal static FakeLambdaReply EchoFunction(FakeLambdaInvocation invocation)
    {
        var e = invocation.Event;
        var headers = e.GetProperty("headers");
        var contentType = headers.EnumerateObject().FirstOrDefault(h => h.Name.Equals("content-type", StringComparison.OrdinalIgnoreCase)).Value;
        var body = e.TryGetProperty("body", out var b) && b.ValueKind == JsonValueKind.String ? b.GetString()! : "";
        return FakeLambdaReply.Proxy(
            200,
            body,
            new Dictionary<string, string> { ["Content-Type"] = contentType.ValueKind == JsonValueKind.String ? contentType.GetString()! : "application/json" },
            isBase64Encoded: e.GetProperty("isBase64Encoded").GetBoolean());
    }

    private IngestConfig Config(string compat = "http-v2") => SyncRequests.Config(
        compat, FakeLambdaServer.AccessKeyId, FakeLambdaServer.SecretAccessKey, endpoints: ("lambda", _lambda.Endpoint));

    private async Task<IntegrationResult> InvokeAsync(
        IntegrationRequest request,
        TargetOptions? options = null,
        IngestConfig? config = null,
        CancellationToken cancellationToken = default)
    {
        options ??= new TargetOptions { Type = "lambda", Function = "orders" };
        await using var target = new LambdaTargetKind().Create("orders", options, SyncRequests.Context(config ?? Config()));
        return await target.InvokeAsync(request, cancellationToken);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task Poll(Func<bool> condition)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "condition not met within 10s");
            await Task.Delay(10);
        }
    }
}
