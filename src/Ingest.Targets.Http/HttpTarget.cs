using System.Net.Sockets;
using Ingest.Core.Integration;
using Ingest.Targets.Http.Destinations;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Forwarder;

namespace Ingest.Targets.Http;

/// <summary>
/// <c>type: http</c>: proxies the request to a backend with YARP's <see cref="IHttpForwarder"/>,
/// bodies streamed both ways (buffered only when the gateway needs the whole response). Several
/// destinations are load-balanced; a destination that refuses the connection is skipped (the
/// call goes to another one: nothing was sent yet) until a probe finds it healthy again.
/// </summary>
internal sealed class HttpTarget : ISyncTarget
{
    /// <summary>Largest response the gateway buffers (response template, cache): API Gateway's 10 MB payload limit.</summary>
    internal const int MaxBufferedResponseBytes = 10 * 1024 * 1024;

    /// <summary>Without active health checks, how long a destination that refused a connection is skipped.</summary>
    internal static readonly TimeSpan PassiveReactivation = TimeSpan.FromSeconds(10);

    private static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(300) };

    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ProxyTransformer _transformer;
    private readonly DestinationSet _destinations;
    private readonly HealthProber? _prober;
    private readonly TimeProvider _time;

    public HttpTarget(string name, IHttpForwarder forwarder, HttpMessageInvoker invoker, ProxyTransformer transformer, DestinationSet destinations, HealthProber? prober, TimeProvider time)
    {
        Name = name;
        _forwarder = forwarder;
        _invoker = invoker;
        _transformer = transformer;
        _destinations = destinations;
        _prober = prober;
        _time = time;
    }

    public string Name { get; }

    /// <summary>The body is streamed to the backend, not read first.</summary>
    public bool NeedsBody => false;

    internal DestinationSet Destinations => _destinations;

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        var http = request.Context.Http;
        var response = http.Response;
        // Response.Clear() on a proxy error drops every header: the gateway's own are put back.
        var requestId = response.Headers["x-request-id"];
        var traceParent = response.Headers.TraceParent;
        http.Request.Headers.TraceParent = request.TraceParent;
        var greedy = GreedyParameter(request);

        Stream? clientBody = null;
        CappedBuffer? buffer = null;
        if (request.BufferResponse)
        {
            clientBody = response.Body;
            buffer = new CappedBuffer(MaxBufferedResponseBytes);
            response.Body = buffer;
        }
        try
        {
            Destination? failed = null;
            while (true)
            {
                var destination = _destinations.Pick(failed);
                if (destination is null)
                {
                    return IntegrationResult.Failed(IntegrationFailure.Unreachable, "no destination could be reached");
                }
                var url = destination.Url.Build(request.PathParameters, greedy, http.Request.QueryString);
                destination.Enter();
                ForwarderError error;
                try
                {
                    error = await _forwarder.SendAsync(http, url, _invoker, RequestConfig, _transformer, cancellationToken);
                }
                finally
                {
                    destination.Exit();
                }
                if (error == ForwarderError.None)
                {
                    return buffer is null
                        ? IntegrationResult.WrittenByTarget(response.StatusCode)
                        : Buffered(response, buffer);
                }
                var exception = http.Features.Get<IForwarderErrorFeature>()?.Exception;
                if (error is ForwarderError.Request && IsConnectFailure(exception))
                {
                    destination.MarkDown(_prober is null ? _time.GetTimestamp() + (long)(PassiveReactivation.TotalSeconds * _time.TimestampFrequency) : long.MaxValue);
                    if (!response.HasStarted && !cancellationToken.IsCancellationRequested && _destinations.All.Count > 1)
                    {
                        // Nothing reached the backend: another destination gets the same request.
                        response.StatusCode = StatusCodes.Status200OK;
                        http.Features.Set<IForwarderErrorFeature>(null);
                        failed = destination;
                        continue;
                    }
                }
                return Failure(error, exception, destination, buffer, cancellationToken.IsCancellationRequested);
            }
        }
        finally
        {
            if (clientBody is not null)
            {
                response.Body = clientBody;
            }
            if (!response.HasStarted && !response.Headers.ContainsKey("x-request-id"))
            {
                response.Headers["x-request-id"] = requestId;
                response.Headers.TraceParent = traceParent;
            }
        }
    }

    /// <summary>The route's greedy parameter name (<c>{proxy+}</c>), or null.</summary>
    private static string? GreedyParameter(IntegrationRequest request)
    {
        var text = (request.Context.MatchedTemplate ?? request.Context.Route.Template).Text;
        var plus = text.IndexOf("+}", StringComparison.Ordinal);
        if (plus < 0)
        {
            return null;
        }
        var open = text.LastIndexOf('{', plus);
        return text[(open + 1)..plus];
    }

    private static IntegrationResult Buffered(HttpResponse response, CappedBuffer buffer)
    {
        var headers = new List<KeyValuePair<string, StringValues>>(response.Headers.Count);
        foreach (var header in response.Headers)
        {
            headers.Add(header);
        }
        return new IntegrationResult
        {
            IntegrationStatus = response.StatusCode,
            StatusCode = response.StatusCode,
            ContentType = response.ContentType,
            Headers = headers,
            Body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length),
        };
    }

    /// <summary>Maps YARP's error to the gateway's failure kinds; client-side body errors are the client's.</summary>
    private static IntegrationResult Failure(ForwarderError error, Exception? exception, Destination destination, CappedBuffer? buffer, bool timedOut)
    {
        var where = destination.Url.Origin;
        if (error is ForwarderError.RequestBodyClient)
        {
            // Kestrel's 413 (body over the route limit), 408 (too slow) or 400 (broken body): the handler answers it.
            throw Find<BadHttpRequestException>(exception) ?? new BadHttpRequestException($"request body could not be read: {exception?.GetBaseException().Message}");
        }
        if (timedOut)
        {
            return IntegrationResult.Failed(IntegrationFailure.Timeout, $"{where}: route timeout ({error})");
        }
        if (buffer is { Overflowed: true })
        {
            return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, $"{where}: response larger than {MaxBufferedResponseBytes} bytes, the most a response template or cache takes");
        }
        var requestError = Find<HttpRequestException>(exception)?.HttpRequestError;
        var reason = $"{where}: {error}{(requestError is { } kind ? $" ({kind})" : "")}: {exception?.GetBaseException().Message}";
        return error switch
        {
            ForwarderError.RequestTimedOut => IntegrationResult.Failed(IntegrationFailure.Timeout, reason),
            ForwarderError.Request or ForwarderError.RequestCreation => requestError switch
            {
                HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded or HttpRequestError.HttpProtocolError or HttpRequestError.ConfigurationLimitExceeded
                    => IntegrationResult.Failed(IntegrationFailure.InvalidResponse, reason),
                _ => IntegrationResult.Failed(IntegrationFailure.Unreachable, reason),
            },
            ForwarderError.RequestBodyDestination => IntegrationResult.Failed(IntegrationFailure.Unreachable, reason),
            _ => IntegrationResult.Failed(IntegrationFailure.InvalidResponse, reason),
        };
    }

    private static bool IsConnectFailure(Exception? exception) =>
        Find<HttpRequestException>(exception) is { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError }
        || Find<SocketException>(exception) is { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable };

    private static T? Find<T>(Exception? exception)
        where T : Exception
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
            if (e is AggregateException aggregate)
            {
                foreach (var inner in aggregate.InnerExceptions)
                {
                    if (Find<T>(inner) is { } nested)
                    {
                        return nested;
                    }
                }
            }
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_prober is not null)
        {
            await _prober.DisposeAsync();
        }
        _invoker.Dispose();
    }

    /// <summary>The response, buffered up to a cap; past it a write fails (YARP reports it) and <see cref="Overflowed"/> says why.</summary>
    internal sealed class CappedBuffer(int cap) : MemoryStream
    {
        public bool Overflowed { get; private set; }

        // MemoryStream sends every other write (span, async) of a derived class through this one.
        public override void Write(byte[] buffer, int offset, int count)
        {
            Check(count);
            base.Write(buffer, offset, count);
        }

        public override void WriteByte(byte value)
        {
            Check(1);
            base.WriteByte(value);
        }

        private void Check(int count)
        {
            if (Length + count > cap)
            {
                Overflowed = true;
                throw new IOException($"response larger than {cap} bytes");
            }
        }
    }
}
