using System.Diagnostics;
using System.Text;
using Ingest.Core.Diagnostics;
using Ingest.Core.Integration;
using Ingest.Core.Payload;
using Ingest.Core.Requests;
using Ingest.Core.Templates;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Gateway.Integration;

/// <summary>
/// Lifecycle step 8 for sync routes: reads (or leaves for streaming) the body, builds the
/// <see cref="IntegrationRequest"/>, calls the route's <see cref="ISyncTarget"/> within the route
/// timeout, and writes the backend's answer (through the response template when the route has
/// one) or the gateway's error for the failure.
/// </summary>
internal sealed class SyncInvoker(IngestMetrics metrics, GatewayOptions options)
{
    private static readonly IReadOnlyDictionary<string, string> NoParameters = new Dictionary<string, string>();
    private readonly TimeProvider _time = options.TimeProvider;

    /// <summary>A sync route's request without a body (a GET, a DELETE): no content type to check.</summary>
    public static bool WithoutBody(Ingest.Core.Deployment.CompiledRoute route, HttpRequest request) =>
        route.SyncTarget is not null && request.HttpContext.Features.Get<IHttpRequestBodyDetectionFeature>() is { CanHaveBody: false };

    /// <summary>Runs the call; returns the response body length for the access log.</summary>
    public async ValueTask<long> InvokeAsync(RequestContext context, string traceParent, DateTimeOffset now, bool restV1)
    {
        var http = context.Http;
        var route = context.Route;
        var target = route.SyncTarget!;
        var body = ReadOnlyMemory<byte>.Empty;
        if (target.NeedsBody)
        {
            context.Body ??= await PayloadPolicy.ReadBodyAsync(http.Request, route.Payload.MaxBodyBytes, http.RequestAborted);
            if (context.Body is null)
            {
                return Reject(context, Rejection.RequestEntityTooLarge);
            }
            // Content-Encoding undone (with its cap) and the route's JSON checks, as for events.
            var payload = route.Payload.Decode(context);
            if (payload.Rejection is { } invalid)
            {
                return Reject(context, invalid);
            }
            body = payload.Single;
        }
        else if (context.Body is { } read)
        {
            // Authentication read the body already: the target streams those bytes.
            http.Request.Body = new MemoryStream(read, writable: false);
        }
        else if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            // Streamed to the backend: Kestrel cuts a chunked body at the route's limit (413).
            sizeFeature.MaxRequestBodySize = route.Payload.MaxBodyBytes;
        }

        var request = new IntegrationRequest
        {
            Context = context,
            PathParameters = PathParameters(context),
            Body = body,
            IsBinary = route.BinaryMediaTypes.IsBinary(http.Request.ContentType),
            RequestTime = now,
            TraceParent = traceParent,
            BufferResponse = route.BufferResponse,
            RequestTemplate = route.RequestTemplate,
        };
        context.Trace?.Write($"Endpoint request to target {target.Name}: {http.Request.Method} {context.MatchedPath ?? http.Request.Path.Value}, timeout {route.Timeout.TotalMilliseconds:0} ms");

        var started = Stopwatch.GetTimestamp();
        var result = await CallAsync(target, request, route.Timeout, http.RequestAborted);
        var elapsed = Stopwatch.GetElapsedTime(started);
        context.IntegrationLatencyMs = elapsed.TotalMilliseconds;
        context.IntegrationStatus = result.IntegrationStatus > 0 ? result.IntegrationStatus : null;
        if (metrics.IntegrationLatency.Enabled)
        {
            metrics.IntegrationLatency.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("route", route.RouteKey), new KeyValuePair<string, object?>("stage", route.Stage ?? ""));
        }
        context.Trace?.Write(result.Failure == IntegrationFailure.None
            ? $"Received response. Status: {result.IntegrationStatus}, Integration latency: {elapsed.TotalMilliseconds:0} ms"
            : $"Execution failed: {result.Failure} ({result.Reason}), Integration latency: {elapsed.TotalMilliseconds:0} ms");

        if (result.Failure == IntegrationFailure.None && result.Reason is not null)
        {
            // An answer the target made of a backend refusal (Lambda throttling: 429) says why in the access log.
            context.RejectionReason = result.Reason;
        }
        if (result.Failure == IntegrationFailure.None && !result.Written && route.ResponseTemplate is { } responseTemplate)
        {
            result = Render(responseTemplate, request, result, http.RequestAborted);
        }
        if (result.Failure != IntegrationFailure.None)
        {
            context.RejectionReason = result.Reason ?? result.Failure.ToString();
            if (http.Response.HasStarted)
            {
                // Part of the backend's answer is on the wire: an error answer cannot follow, so cut the response short.
                http.Abort();
                return 0;
            }
            return Reject(context, IntegrationFailures.For(result.Failure, restV1));
        }
        if (result.Written)
        {
            return http.Response.ContentLength ?? 0;
        }
        return await WriteAsync(http, result);
    }

    /// <summary>Calls the target with the route timeout; a timeout or an exception becomes a failure, a client that left an exception.</summary>
    private async ValueTask<IntegrationResult> CallAsync(ISyncTarget target, IntegrationRequest request, TimeSpan timeout, CancellationToken requestAborted)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var link = requestAborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), deadline);
        IntegrationResult result;
        try
        {
            result = await target.InvokeAsync(request, deadline.Token);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !requestAborted.IsCancellationRequested)
        {
            result = IntegrationResult.Failed(IntegrationFailure.Timeout, TimedOut(timeout));
        }
        catch (TemplateRenderException e)
        {
            result = IntegrationResult.Failed(IntegrationFailure.MappingError, $"mapping template: {e.Message}");
        }
        // The client went away: nothing to answer (the handler logs 499).
        requestAborted.ThrowIfCancellationRequested();
        if (deadline.IsCancellationRequested && result.Failure is IntegrationFailure.Unreachable or IntegrationFailure.InvalidResponse)
        {
            // A call cut by the deadline often surfaces as a cancelled or reset connection.
            result = IntegrationResult.Failed(IntegrationFailure.Timeout, TimedOut(timeout), result.IntegrationStatus);
        }
        return result;
    }

    private static string TimedOut(TimeSpan timeout) => $"timed out after {timeout.TotalMilliseconds:0} ms";

    private static IntegrationResult Render(MappingTemplate template, IntegrationRequest request, IntegrationResult result, CancellationToken cancellationToken)
    {
        try
        {
            var body = Encoding.UTF8.GetBytes(template.Render(TemplateScope.ForResponse(request, result), cancellationToken));
            return new IntegrationResult
            {
                IntegrationStatus = result.IntegrationStatus,
                StatusCode = result.StatusCode,
                Headers = result.Headers,
                ContentType = result.ContentType ?? "application/json",
                Body = body,
            };
        }
        catch (TemplateRenderException e)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"response template: {e.Message}", result.IntegrationStatus);
        }
    }

    private static async ValueTask<long> WriteAsync(HttpContext http, IntegrationResult result)
    {
        var response = http.Response;
        response.StatusCode = result.StatusCode;
        foreach (var (name, value) in result.Headers)
        {
            if (!IsFramingHeader(name))
            {
                response.Headers[name] = value;
            }
        }
        if (result.ContentType is { } contentType)
        {
            response.ContentType = contentType;
        }
        response.ContentLength = result.Body.Length;
        if (result.Body.Length > 0 && !HttpMethods.IsHead(http.Request.Method))
        {
            await response.Body.WriteAsync(result.Body, http.RequestAborted);
        }
        return result.Body.Length;
    }

    /// <summary>Headers the gateway's own framing decides.</summary>
    private static bool IsFramingHeader(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase);

    /// <summary>Path parameters of the template the request matched (decoded).</summary>
    private static IReadOnlyDictionary<string, string> PathParameters(RequestContext context)
    {
        var template = context.MatchedTemplate ?? context.Route.Template;
        if (template.IsLiteral)
        {
            return NoParameters;
        }
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        return template.TryGetValues(context.MatchedPath ?? context.Http.Request.Path.Value ?? "/", values) ? values : NoParameters;
    }

    private static int Reject(RequestContext context, Rejection rejection)
    {
        context.RejectionReason = rejection.LogReason ?? context.RejectionReason;
        if (rejection.Status == StatusCodes.Status413PayloadTooLarge)
        {
            context.Http.Response.Headers.Connection = "close";
        }
        return GatewayResponses.Write(context.Http, rejection);
    }
}
