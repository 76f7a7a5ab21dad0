using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ingest.Core.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.TestSupport.Fakes;

/// <summary>One call the fake Step Functions endpoint accepted.</summary>
/// <param name="Operation"><c>StartExecution</c> or <c>StartSyncExecution</c>.</param>
/// <param name="Host">The Host header as received.</param>
/// <param name="StateMachineArn">The state machine.</param>
/// <param name="Name">The execution name.</param>
/// <param name="Input">The input text (JSON).</param>
public sealed record FakeExecution(string Operation, string Host, string StateMachineArn, string? Name, string Input);

/// <summary>How a scripted express execution ends.</summary>
public sealed class FakeExecutionOutcome
{
    private FakeExecutionOutcome()
    {
    }

    internal string Status { get; private init; } = "SUCCEEDED";

    internal string? Output { get; private init; }

    internal string? Error { get; private init; }

    internal string? Cause { get; private init; }

    internal bool Hangs { get; private init; }

    internal bool Throttles { get; private init; }

    /// <summary>SUCCEEDED with <paramref name="outputJson"/> as output.</summary>
    public static FakeExecutionOutcome Succeeded(string outputJson) => new() { Output = outputJson };

    /// <summary>FAILED with an error and cause.</summary>
    public static FakeExecutionOutcome Failed(string error, string cause) => new() { Status = "FAILED", Error = error, Cause = cause };

    /// <summary>TIMED_OUT (the state machine's own timeout).</summary>
    public static FakeExecutionOutcome TimedOut() => new() { Status = "TIMED_OUT", Error = "States.Timeout", Cause = "The execution timed out" };

    /// <summary>The call never answers (until the caller gives up or the server stops).</summary>
    public static FakeExecutionOutcome Hang() => new() { Hangs = true };

    /// <summary>Step Functions refuses with <c>ThrottlingException</c> (400, JSON 1.0).</summary>
    public static FakeExecutionOutcome Throttled() => new() { Throttles = true };
}

/// <summary>
/// A Step Functions endpoint on a free loopback port (real Kestrel) speaking JSON 1.0 as AWS does:
/// <c>POST /</c>, <c>X-Amz-Target: AWSStepFunctions.Operation</c>, content type
/// <c>application/x-amz-json-1.0</c>, SigV4 for service <c>states</c> in this region (verified with
/// the gateway's own verifier), errors as <c>400 {"__type","message"}</c>. Started as the
/// <c>states</c> host it serves StartExecution (idempotent by name and input, as AWS is); started
/// as the <c>sync-states</c> host it serves StartSyncExecution only, and only for express machines.
/// </summary>
public sealed class FakeStepFunctionsServer : IAsyncDisposable
{
    /// <summary>The access key the fake accepts by default.</summary>
    public const string AccessKeyId = "AKIDFAKESTATES";

    /// <summary>Its secret.</summary>
    public const string SecretAccessKey = "fake-states-secret";

    /// <summary>JSON 1.0 content type.</summary>
    public const string ContentType = "application/x-amz-json-1.0";

    private readonly WebApplication _app;
    private readonly SigV4Verifier _verifier;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, (string Input, string Arn, double StartDate)> _started = new(StringComparer.Ordinal);
    private int _refused;

    private FakeStepFunctionsServer(WebApplication app, bool syncHost, string region, SigV4Verifier verifier)
    {
        _app = app;
        SyncHost = syncHost;
        Region = region;
        _verifier = verifier;
    }

    /// <summary><c>http://127.0.0.1:PORT</c>: <c>aws.endpoints.stepfunctions</c> (or <c>stepfunctionsSync</c> for the sync host).</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>True: plays <c>sync-states.REGION</c> (StartSyncExecution); false: <c>states.REGION</c>.</summary>
    public bool SyncHost { get; }

    /// <summary>The region credential scopes must name.</summary>
    public string Region { get; }

    /// <summary>State machines that exist: ARN to express (true) or standard (false).</summary>
    public ConcurrentDictionary<string, bool> StateMachines { get; } = new(StringComparer.Ordinal);

    /// <summary>How express executions end; default: SUCCEEDED with the input as output.</summary>
    public Func<FakeExecution, FakeExecutionOutcome> Outcome { get; set; } = execution => FakeExecutionOutcome.Succeeded(execution.Input);

    /// <summary>Calls accepted, in arrival order.</summary>
    public ConcurrentQueue<FakeExecution> Executions { get; } = new();

    /// <summary>Calls refused (signature, host, target header, content type, unknown machine, bad input).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Why the last call was refused, for test messages.</summary>
    public string? LastRefusal { get; private set; }

    /// <summary>The ARN of a state machine in this fake's region and account.</summary>
    public string StateMachineArn(string name) => $"arn:aws:states:{Region}:123456789012:stateMachine:{name}";

    public static async Task<FakeStepFunctionsServer> StartAsync(bool syncHost, string region = "us-east-1", string accessKeyId = AccessKeyId, string secretAccessKey = SecretAccessKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var verifier = new SigV4Verifier([new(accessKeyId, secretAccessKey)], TimeSpan.FromMinutes(5), TimeProvider.System);
        var server = new FakeStepFunctionsServer(app, syncHost, region, verifier);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, context.RequestAborted);
        var body = buffer.ToArray();

        // The endpoint is the host the client addressed: what was signed must be this one.
        var expectedHost = new Uri(Endpoint).Authority;
        if (request.Host.Value != expectedHost)
        {
            await RefuseAsync(context, 400, "InvalidSignatureException", $"Host {request.Host.Value} is not {expectedHost}");
            return;
        }
        if (request.Method != "POST" || request.Path != "/")
        {
            await RefuseAsync(context, 404, "UnknownOperationException", $"{request.Method} {request.Path}");
            return;
        }
        var target = request.Headers["X-Amz-Target"].ToString();
        var operation = target.StartsWith("AWSStepFunctions.", StringComparison.Ordinal) ? target["AWSStepFunctions.".Length..] : "";
        var served = SyncHost ? operation == "StartSyncExecution" : operation == "StartExecution";
        if (!served)
        {
            await RefuseAsync(context, 400, "UnknownOperationException", $"X-Amz-Target '{target}' is not served on the {(SyncHost ? "sync-states" : "states")} host");
            return;
        }
        if (!string.Equals(request.ContentType, ContentType, StringComparison.OrdinalIgnoreCase))
        {
            await RefuseAsync(context, 400, "UnknownOperationException", $"content type '{request.ContentType}'");
            return;
        }
        if (SignatureProblem(request, body) is { } problem)
        {
            await RefuseAsync(context, 400, problem.Type, problem.Message);
            return;
        }

        JsonObject call;
        try
        {
            call = JsonNode.Parse(body)!.AsObject();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NullReferenceException)
        {
            await RefuseAsync(context, 400, "SerializationException", "body is not a JSON object");
            return;
        }
        var arn = (string?)call["stateMachineArn"];
        var name = (string?)call["name"];
        var input = (string?)call["input"] ?? "{}";
        if (arn is null || !arn.StartsWith("arn:aws:states:", StringComparison.Ordinal))
        {
            await RefuseAsync(context, 400, "InvalidArn", $"Invalid Arn: '{arn}'");
            return;
        }
        if (!StateMachines.TryGetValue(arn, out var express))
        {
            await RefuseAsync(context, 400, "StateMachineDoesNotExist", $"State Machine Does Not Exist: '{arn}'");
            return;
        }
        if (name is not null && (name.Length is 0 or > 80 || name.Any(c => char.IsWhiteSpace(c) || "<>{}[]?*\"#%\\^|~`$&,;:/".Contains(c))))
        {
            await RefuseAsync(context, 400, "InvalidName", $"Invalid Name: '{name}'");
            return;
        }
        try
        {
            using var _ = JsonDocument.Parse(input);
        }
        catch (JsonException)
        {
            await RefuseAsync(context, 400, "InvalidExecutionInput", "Invalid State Machine Execution Input: 'Unexpected character'");
            return;
        }
        if (SyncHost && !express)
        {
            await RefuseAsync(context, 400, "StateMachineTypeNotSupported", "This operation is not supported by this type of state machine");
            return;
        }

        var execution = new FakeExecution(operation, request.Host.Value!, arn, name, input);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0;
        var machine = arn[(arn.LastIndexOf(':') + 1)..];
        name ??= Guid.NewGuid().ToString();
        if (!SyncHost)
        {
            // StartExecution is idempotent: the same name and input give the same execution.
            var started = _started.GetOrAdd($"{arn}|{name}", _ => (input, $"arn:aws:states:{Region}:123456789012:execution:{machine}:{name}", now));
            if (started.Input != input)
            {
                await RefuseAsync(context, 400, "ExecutionAlreadyExists", $"Execution Already Exists: '{started.Arn}'");
                return;
            }
            Executions.Enqueue(execution);
            await WriteAsync(context, 200, new JsonObject { ["executionArn"] = started.Arn, ["startDate"] = started.StartDate });
            return;
        }

        Executions.Enqueue(execution);
        var outcome = Outcome(execution);
        if (outcome.Hangs)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, linked.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort();
                return;
            }
        }
        if (outcome.Throttles)
        {
            await WriteAsync(context, 400, new JsonObject { ["__type"] = "com.amazonaws.swf.base.model#ThrottlingException", ["message"] = "Rate exceeded" });
            return;
        }
        var answer = new JsonObject
        {
            ["billingDetails"] = new JsonObject { ["billedDurationInMilliseconds"] = 100, ["billedMemoryUsedInMB"] = 64 },
            ["executionArn"] = $"arn:aws:states:{Region}:123456789012:express:{machine}:{name}:{Guid.NewGuid()}",
            ["input"] = input,
            ["inputDetails"] = new JsonObject { ["included"] = true },
            ["name"] = name,
            ["startDate"] = now,
            ["stateMachineArn"] = arn,
            ["status"] = outcome.Status,
            ["stopDate"] = now + 0.1,
        };
        if (outcome.Output is not null)
        {
            answer["output"] = outcome.Output;
            answer["outputDetails"] = new JsonObject { ["included"] = true };
        }
        if (outcome.Error is not null)
        {
            answer["error"] = outcome.Error;
            answer["cause"] = outcome.Cause;
        }
        await WriteAsync(context, 200, answer);
    }

    private (string Type, string Message)? SignatureProblem(HttpRequest request, byte[] body)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return ("MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        var scope = FakeLambdaServer.ScopeOf(authorization);
        if (scope is not { Length: 5 } || scope[3] != "states")
        {
            return ("InvalidSignatureException", "Credential should be scoped to correct service: 'states'. ");
        }
        if (scope[2] != Region)
        {
            return ("InvalidSignatureException", $"Credential should be scoped to a valid region, not '{scope[2]}'. ");
        }
        var rejection = _verifier.Verify(request, body, out _);
        if (rejection is null)
        {
            return null;
        }
        return rejection.Message.Contains("security token", StringComparison.Ordinal)
            ? ("UnrecognizedClientException", "The security token included in the request is invalid.")
            : ("InvalidSignatureException", rejection.Message);
    }

    private async Task RefuseAsync(HttpContext context, int status, string type, string message)
    {
        Interlocked.Increment(ref _refused);
        LastRefusal = $"{type}: {message}";
        await WriteAsync(context, status, new JsonObject { ["__type"] = $"com.amazonaws.swf.base.model#{type}", ["message"] = message });
    }

    private static async Task WriteAsync(HttpContext context, int status, JsonObject answer)
    {
        var bytes = Encoding.UTF8.GetBytes(answer.ToJsonString());
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = ContentType;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        response.ContentLength = bytes.Length;
        await response.Body.WriteAsync(bytes, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
