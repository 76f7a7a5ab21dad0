using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Core.Events;
using Ingest.Core.Requests;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Diagnostics;

/// <summary>
/// The execution log of one request (API Gateway's "execution logging"): one line per lifecycle
/// step: matched route, resource policy, authentication, throttle decision, payload, transformed
/// request, enqueue result, completion. Lines go to the gateway's log at Information under the
/// <see cref="Category"/> category and, for an admin test-invoke, are kept for the answer.
/// </summary>
/// <remarks>
/// A trace exists only while execution logging is on for the route (or for a test-invoke), so the
/// lifecycle steps pay one null check when it is off: <c>context.Trace?.Write(...)</c>.
/// Never write secrets: header values of credentials are masked by <see cref="Started"/>.
/// </remarks>
public sealed partial class ExecutionTrace
{
    /// <summary>Logger category of execution-log lines.</summary>
    public const string Category = "ExecutionLog";

    /// <summary>Longest body text written into a line; the rest is cut (the whole envelope is in test-invoke's answer).</summary>
    public const int MaxBodyChars = 1024;

    // Header names that carry credentials: authorization, x-api-key, cookie, x-amz-security-token,
    // signature headers of hmac devices, and anything else that looks like one.
    private static readonly string[] SecretHeaderParts = ["auth", "key", "token", "secret", "signature", "cookie", "password", "credential"];

    private static readonly JsonWriterOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly ILogger? _logger;
    private readonly TimeProvider _time;
    private readonly List<string>? _lines;

    /// <param name="requestId">The gateway's request id.</param>
    /// <param name="logger">Where lines go (category <see cref="Category"/>); null to only keep them.</param>
    /// <param name="time">Clock of the line timestamps.</param>
    /// <param name="keepLines">Keep the lines for <see cref="Lines"/> (test-invoke).</param>
    public ExecutionTrace(Guid requestId, ILogger? logger, TimeProvider time, bool keepLines)
    {
        RequestId = requestId;
        _logger = logger;
        _time = time;
        _lines = keepLines ? [] : null;
    }

    public Guid RequestId { get; }

    /// <summary>Route key once matched; <c>-</c> before.</summary>
    public string RouteKey { get; set; } = "-";

    /// <summary>Lines kept so far (empty unless created with keepLines).</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            if (_lines is null)
            {
                return [];
            }
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>Adds one line.</summary>
    public void Write(string message)
    {
        if (_lines is not null)
        {
            var now = _time.GetUtcNow();
            // AWS's format: "Thu Nov 25 21:14:44 UTC 2026 : message", with milliseconds added.
            var line = now.ToString("ddd MMM dd HH:mm:ss.fff 'UTC' yyyy", CultureInfo.InvariantCulture) + " : " + message;
            lock (_lines)
            {
                _lines.Add(line);
            }
        }
        if (_logger is not null)
        {
            LogLine(_logger, RouteKey, RequestId, message);
        }
    }

    /// <summary>The first lines: request, route and (masked) headers.</summary>
    public void Started(RequestContext context)
    {
        var request = context.Http.Request;
        RouteKey = context.Route.RouteKey;
        Write($"Starting execution for request: {RequestId}");
        Write($"HTTP Method: {request.Method}, Resource Path: {request.Path}{request.QueryString}");
        Write($"Matched route: {context.Route.RouteKey} -> target {context.Route.Target.Name} (ack: {context.Route.Ack}), client {context.ClientIp?.ToString() ?? "unknown"}");
        var headers = new StringBuilder("Method request headers: {");
        var first = true;
        foreach (var (name, value) in request.Headers)
        {
            headers.Append(first ? "" : ", ").Append(name).Append('=').Append(IsSecretHeader(name) ? "****" : value.ToString());
            first = false;
        }
        Write(headers.Append('}').ToString());
        if (context.SkipResourcePolicy)
        {
            Write("Resource policy: skipped (test invoke)");
        }
    }

    /// <summary>One step's outcome: passed, or the rejection it answered with.</summary>
    /// <returns><paramref name="rejection"/>, so a step can be traced inline.</returns>
    public Rejection? Decision(string step, Rejection? rejection)
    {
        Write(rejection is null
            ? $"{step}: passed"
            : $"{step}: refused with {rejection.Status} {rejection.Message}{(rejection.LogReason is { } reason ? $" ({reason})" : "")}");
        return rejection;
    }

    /// <summary>The authentication step: who the request was authenticated as, or the rejection.</summary>
    /// <returns><paramref name="rejection"/>.</returns>
    public Rejection? Authenticated(RequestContext context, Rejection? rejection)
    {
        if (rejection is not null)
        {
            return Decision("Authentication", rejection);
        }
        var who = new StringBuilder("Authentication: passed");
        if (context.ApiKeyId is { } keyId)
        {
            who.Append(", apiKeyId ").Append(keyId);
        }
        if (context.Principal is { } principal)
        {
            who.Append(", principal ").Append(principal);
        }
        Write(who.ToString());
        return null;
    }

    /// <summary>The envelope a target receives, body cut at <see cref="MaxBodyChars"/>.</summary>
    public void Transformed(IngestEvent e) =>
        Write("Endpoint request body after transformations: " + EnvelopeJson(e, MaxBodyChars));

    /// <summary>
    /// The event envelope as JSON: id, receive time, route, source ip, content type, trace context,
    /// kept headers and the body (text when it is UTF-8, else <c>bodyBase64</c>).
    /// </summary>
    /// <param name="e">The event.</param>
    /// <param name="maxBodyChars">Cut the body text here (adds <c>bodyTruncated</c>); null for all of it.</param>
    public static string EnvelopeJson(IngestEvent e, int? maxBodyChars = null)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, Relaxed))
        {
            WriteEnvelope(json, e, maxBodyChars);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Writes the envelope of <see cref="EnvelopeJson"/> as one JSON value.</summary>
    /// <param name="json">Writer positioned where a value may start.</param>
    /// <param name="e">The event.</param>
    /// <param name="maxBodyChars">Cut the body text here; null for all of it.</param>
    public static void WriteEnvelope(Utf8JsonWriter json, IngestEvent e, int? maxBodyChars = null)
    {
        json.WriteStartObject();
        json.WriteString("id", e.Id);
        json.WriteNumber("receivedAtMs", e.ReceivedAtMs);
        json.WriteString("route", e.RouteKey);
        json.WriteString("sourceIp", e.SourceIp);
        json.WriteString("contentType", e.ContentType);
        json.WriteString("traceparent", e.TraceParent);
        json.WriteStartObject("headers");
        foreach (var (name, value) in e.Headers)
        {
            json.WriteString(name, IsSecretHeader(name) ? "****" : value);
        }
        json.WriteEndObject();
        json.WriteNumber("bodyBytes", e.Body.Length);
        var body = e.Body.Span;
        if (Utf8.IsValid(body))
        {
            var text = Encoding.UTF8.GetString(body);
            if (maxBodyChars is { } max && text.Length > max)
            {
                json.WriteString("body", text[..max]);
                json.WriteBoolean("bodyTruncated", true);
            }
            else
            {
                json.WriteString("body", text);
            }
        }
        else
        {
            json.WriteBase64String("bodyBase64", maxBodyChars is { } max && body.Length > max ? body[..max] : body);
        }
        json.WriteEndObject();
    }

    /// <summary>True for header names whose values are masked in the execution log.</summary>
    public static bool IsSecretHeader(string name)
    {
        foreach (var part in SecretHeaderParts)
        {
            if (name.Contains(part, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{RouteKey} {RequestId}: {Line}")]
    private static partial void LogLine(ILogger logger, string routeKey, Guid requestId, string line);
}
