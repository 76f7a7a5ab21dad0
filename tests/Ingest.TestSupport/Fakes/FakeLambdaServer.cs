using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Ingest.Core.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.TestSupport.Fakes;

/// <summary>One Invoke call the fake Lambda accepted (signature, path and payload were valid).</summary>
/// <param name="FunctionName">The function's name (from a name, partial ARN or ARN).</param>
/// <param name="Qualifier">Alias or version (<c>name:alias</c>, a qualified ARN or <c>?Qualifier=</c>), or null.</param>
/// <param name="InvocationType"><c>RequestResponse</c>, <c>Event</c> or <c>DryRun</c>.</param>
/// <param name="Payload">The payload bytes as sent.</param>
/// <param name="Headers">Request headers, names in lower case.</param>
/// <param name="AccessKeyId">The access key that signed the call.</param>
public sealed record FakeLambdaInvocation(
    string FunctionName,
    string? Qualifier,
    string InvocationType,
    byte[] Payload,
    IReadOnlyDictionary<string, string> Headers,
    string AccessKeyId)
{
    /// <summary>The payload parsed (the proxy event).</summary>
    public JsonElement Event => JsonDocument.Parse(Payload).RootElement;
}

/// <summary>What the fake function does with one invocation: a result, a function error, a service error, a delay or a hang.</summary>
public sealed class FakeLambdaReply
{
    private FakeLambdaReply()
    {
    }

    internal int Status { get; private init; } = 200;

    internal byte[] Body { get; private init; } = [];

    internal KeyValuePair<string, string>[] Headers { get; private init; } = [];

    internal TimeSpan Delay { get; private init; }

    internal bool Hangs { get; private init; }

    /// <summary>The function returned <paramref name="payload"/> (any bytes: the runtime's JSON, or something malformed).</summary>
    public static FakeLambdaReply Result(byte[] payload) => new() { Body = payload };

    /// <summary>The function returned this JSON text.</summary>
    public static FakeLambdaReply Result(string json) => Result(Encoding.UTF8.GetBytes(json));

    /// <summary>A proxy response object built from the arguments.</summary>
    public static FakeLambdaReply Proxy(int statusCode, string body, IReadOnlyDictionary<string, string>? headers = null, bool isBase64Encoded = false)
    {
        var json = JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["statusCode"] = statusCode,
            ["headers"] = headers ?? new Dictionary<string, string>(),
            ["body"] = body,
            ["isBase64Encoded"] = isBase64Encoded,
        });
        return Result(json);
    }

    /// <summary>The function threw: 200 with <c>X-Amz-Function-Error</c> and the runtime's error document.</summary>
    public static FakeLambdaReply FunctionError(string errorType, string errorMessage, bool handled = false) => new()
    {
        Headers = [new("X-Amz-Function-Error", handled ? "Handled" : "Unhandled")],
        Body = JsonSerializer.SerializeToUtf8Bytes(new { errorMessage, errorType, requestId = Guid.NewGuid().ToString(), stackTrace = new[] { "at handler (index.js:1:1)" } }),
    };

    /// <summary>Lambda refused: 429 <c>TooManyRequestsException</c> (reserved concurrency used up).</summary>
    public static FakeLambdaReply Throttled(int? retryAfterSeconds = null) => ServiceError(
        429,
        "TooManyRequestsException",
        """{"Reason":"ReservedFunctionConcurrentInvocationLimitExceeded","Type":"User","message":"Rate Exceeded."}""",
        retryAfterSeconds is { } seconds ? [new("Retry-After", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture))] : []);

    /// <summary>Any status, headers and body.</summary>
    public static FakeLambdaReply Raw(int status, string body, params KeyValuePair<string, string>[] headers) =>
        new() { Status = status, Body = Encoding.UTF8.GetBytes(body), Headers = headers };

    /// <summary>Answers <paramref name="reply"/> after <paramref name="delay"/>.</summary>
    public static FakeLambdaReply After(TimeSpan delay, FakeLambdaReply reply) => new()
    {
        Status = reply.Status,
        Body = reply.Body,
        Headers = reply.Headers,
        Delay = delay,
    };

    /// <summary>Never answers (until the caller gives up or the server stops).</summary>
    public static FakeLambdaReply Hang() => new() { Hangs = true };

    internal static FakeLambdaReply ServiceError(int status, string type, string body, KeyValuePair<string, string>[]? extra = null) => new()
    {
        Status = status,
        Body = Encoding.UTF8.GetBytes(body),
        Headers = [new("x-amzn-ErrorType", type), .. extra ?? []],
    };
}

/// <summary>
/// A Lambda endpoint on a free loopback port (real Kestrel) that speaks Invoke as AWS does:
/// <c>POST /2015-03-31/functions/{name}/invocations</c>, SigV4 verified with the gateway's own
/// verifier plus the credential scope (service <c>lambda</c>, this region), the payload checked to
/// be JSON, errors shaped as Lambda's (<c>x-amzn-ErrorType</c>, <c>{"Type","message"}</c>), 202 with
/// an empty body for <c>Event</c>. What each function returns is scripted with <see cref="Function"/>.
/// </summary>
public sealed class FakeLambdaServer : IAsyncDisposable
{
    /// <summary>The access key the fake accepts by default.</summary>
    public const string AccessKeyId = "AKIDFAKELAMBDA";

    /// <summary>Its secret.</summary>
    public const string SecretAccessKey = "fake-lambda-secret";

    /// <summary>Lambda's synchronous payload limit (6 MB).</summary>
    public const int MaxSyncPayloadBytes = 6 * 1024 * 1024;

    private readonly WebApplication _app;
    private readonly SigV4Verifier _verifier;
    private readonly CancellationTokenSource _stopping = new();
    private int _refused;

    private FakeLambdaServer(WebApplication app, string region, SigV4Verifier verifier)
    {
        _app = app;
        Region = region;
        _verifier = verifier;
    }

    /// <summary><c>http://127.0.0.1:PORT</c>: set as <c>aws.endpoints.lambda</c>.</summary>
    public string Endpoint { get; private set; } = "";

    /// <summary>The region credential scopes must name.</summary>
    public string Region { get; }

    /// <summary>Functions that exist (by name); empty: every name exists.</summary>
    public HashSet<string> Functions { get; } = new(StringComparer.Ordinal);

    /// <summary>What a function returns; default: the payload echoed as the result.</summary>
    public Func<FakeLambdaInvocation, FakeLambdaReply> Function { get; set; } = invocation => FakeLambdaReply.Result(invocation.Payload);

    /// <summary>Invocations accepted, in arrival order.</summary>
    public ConcurrentQueue<FakeLambdaInvocation> Invocations { get; } = new();

    /// <summary>Calls refused before the function ran (signature, path, payload).</summary>
    public int Refused => Volatile.Read(ref _refused);

    /// <summary>Why the last call was refused, for test messages.</summary>
    public string? LastRefusal { get; private set; }

    public static async Task<FakeLambdaServer> StartAsync(string region = "us-east-1", string accessKeyId = AccessKeyId, string secretAccessKey = SecretAccessKey)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 16 * 1024 * 1024);
        var app = builder.Build();
        var verifier = new SigV4Verifier([new(accessKeyId, secretAccessKey)], TimeSpan.FromMinutes(5), TimeProvider.System);
        var server = new FakeLambdaServer(app, region, verifier);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Endpoint = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var body = await ReadBodyAsync(request, context.RequestAborted);

        var segments = request.Path.Value!.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (request.Method != "POST" || segments.Length != 4 || segments[0] != "2015-03-31" || segments[1] != "functions" || segments[3] != "invocations")
        {
            await RefuseAsync(context, FakeLambdaReply.ServiceError(404, "UnknownOperationException", """{"Type":"User","message":"Unknown operation"}"""), $"{request.Method} {request.Path}: not Invoke");
            return;
        }

        if (SignatureProblem(request, body, out var accessKeyId) is { } refusal)
        {
            await RefuseAsync(context, refusal.Reply, refusal.Why);
            return;
        }

        var (name, qualifier) = SplitFunction(Uri.UnescapeDataString(segments[2]));
        qualifier ??= request.Query["Qualifier"].FirstOrDefault();
        if (Functions.Count > 0 && !Functions.Contains(name))
        {
            await RefuseAsync(
                context,
                FakeLambdaReply.ServiceError(404, "ResourceNotFoundException", JsonSerializer.Serialize(new { Type = "User", Message = $"Function not found: arn:aws:lambda:{Region}:123456789012:function:{name}" })),
                $"no function {name}");
            return;
        }

        var invocationType = request.Headers["X-Amz-Invocation-Type"].FirstOrDefault() ?? "RequestResponse";
        if (invocationType is not ("RequestResponse" or "Event" or "DryRun"))
        {
            await RefuseAsync(context, FakeLambdaReply.ServiceError(400, "InvalidParameterValueException", """{"Type":"User","message":"Unsupported invocation type"}"""), $"invocation type {invocationType}");
            return;
        }
        var limit = invocationType == "Event" ? 1024 * 1024 : MaxSyncPayloadBytes;
        if (body.Length > limit)
        {
            await RefuseAsync(
                context,
                FakeLambdaReply.ServiceError(413, "RequestTooLargeException", $$"""{"Type":"User","message":"Request must be smaller than {{limit}} bytes for the InvokeFunction operation"}"""),
                $"payload of {body.Length} bytes");
            return;
        }
        if (body.Length > 0 && !IsJson(body))
        {
            await RefuseAsync(
                context,
                FakeLambdaReply.ServiceError(400, "InvalidRequestContentException", """{"Type":"User","message":"Could not parse request body into json: Could not parse payload into json"}"""),
                "payload is not JSON");
            return;
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, values) in request.Headers)
        {
            headers[key.ToLowerInvariant()] = values.ToString();
        }
        var invocation = new FakeLambdaInvocation(name, qualifier, invocationType, body, headers, accessKeyId!);
        Invocations.Enqueue(invocation);

        context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        if (invocationType == "Event")
        {
            context.Response.StatusCode = 202;
            return;
        }
        if (invocationType == "DryRun")
        {
            context.Response.StatusCode = 204;
            return;
        }
        var reply = Function(invocation);
        await WriteAsync(context, reply);
    }

    private (FakeLambdaReply Reply, string Why)? SignatureProblem(HttpRequest request, byte[] body, out string? accessKeyId)
    {
        accessKeyId = null;
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.Length == 0)
        {
            return (FakeLambdaReply.ServiceError(403, "MissingAuthenticationTokenException", """{"message":"Missing Authentication Token"}"""), "unsigned");
        }
        // Lambda checks the scope before the signature: the service and region must be its own.
        var scope = ScopeOf(authorization);
        if (scope is not { Length: 5 } || scope[3] != "lambda")
        {
            return (FakeLambdaReply.ServiceError(403, "InvalidSignatureException", """{"message":"Credential should be scoped to correct service: 'lambda'. "}"""), $"scope {string.Join('/', scope ?? [])}");
        }
        if (scope[2] != Region)
        {
            return (FakeLambdaReply.ServiceError(403, "InvalidSignatureException", $$"""{"message":"Credential should be scoped to a valid region, not '{{scope[2]}}'. "}"""), $"region {scope[2]}");
        }
        var rejection = _verifier.Verify(request, body, out accessKeyId);
        if (rejection is null)
        {
            return null;
        }
        return rejection.Message.Contains("security token", StringComparison.Ordinal)
            ? (FakeLambdaReply.ServiceError(403, "UnrecognizedClientException", """{"message":"The security token included in the request is invalid."}"""), rejection.LogReason ?? "unknown key")
            : (FakeLambdaReply.ServiceError(403, "InvalidSignatureException", JsonSerializer.Serialize(new { message = rejection.Message })), rejection.LogReason ?? rejection.Message);
    }

    /// <summary>The credential scope of an Authorization header: key id, date, region, service, aws4_request.</summary>
    internal static string[]? ScopeOf(string authorization)
    {
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }
        start += "Credential=".Length;
        var end = authorization.IndexOf(',', start);
        return authorization[start..(end < 0 ? authorization.Length : end)].Trim().Split('/');
    }

    /// <summary>Name and qualifier of <c>name</c>, <c>name:alias</c>, <c>123456789012:function:name[:q]</c> or the full ARN.</summary>
    public static (string Name, string? Qualifier) SplitFunction(string function)
    {
        var parts = function.Split(':');
        var at = Array.IndexOf(parts, "function");
        if (at >= 0 && at + 1 < parts.Length)
        {
            return (parts[at + 1], at + 2 < parts.Length ? parts[at + 2] : null);
        }
        return parts.Length == 2 ? (parts[0], parts[1]) : (function, null);
    }

    private async Task RefuseAsync(HttpContext context, FakeLambdaReply reply, string why)
    {
        Interlocked.Increment(ref _refused);
        LastRefusal = why;
        await WriteAsync(context, reply);
    }

    private async Task WriteAsync(HttpContext context, FakeLambdaReply reply)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            if (reply.Hangs)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, linked.Token);
            }
            if (reply.Delay > TimeSpan.Zero)
            {
                await Task.Delay(reply.Delay, linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
            context.Abort();
            return;
        }
        var response = context.Response;
        response.StatusCode = reply.Status;
        response.ContentType = "application/json";
        foreach (var (name, value) in reply.Headers)
        {
            response.Headers.Append(name, value);
        }
        if (reply.Status == 200)
        {
            response.Headers["X-Amz-Executed-Version"] = "$LATEST";
        }
        response.ContentLength = reply.Body.Length;
        await response.Body.WriteAsync(reply.Body, context.RequestAborted);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static bool IsJson(byte[] body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }
}
