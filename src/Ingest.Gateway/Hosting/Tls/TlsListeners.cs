using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Domains;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Hosting.Tls;

/// <summary>
/// TLS on the public listeners that have <c>tls:</c>: certificate per host name (SNI) from
/// <see cref="ListenerCertificates"/>, TLS 1.2+ (or 1.3 only), HTTP/2 and HTTP/1.1 by ALPN; the
/// optional plain-HTTP redirect listener and the Strict-Transport-Security header.
/// </summary>
internal sealed class TlsListeners(TimeProvider time, ILoggerFactory loggers, IngestMetrics metrics) : IDisposable
{
    /// <summary>Gauge: seconds until each served certificate expires (negative once expired), by listener and host.</summary>
    public const string ExpiryMetric = "ingest_tls_certificate_expiry_seconds";

    private static readonly byte[] BadRequestBody = """{"message":"Bad Request"}"""u8.ToArray();

    private readonly ILogger _logger = loggers.CreateLogger("Ingest.Gateway.Tls");
    private readonly List<ListenerCertificates> _certificates = [];
    private readonly List<(ListenOptions Listen, string Value)> _hsts = [];
    private readonly List<(ListenOptions Redirect, ListenOptions Tls)> _redirects = [];

    /// <summary>Certificates of each TLS listener, in the order of <c>listen:</c>.</summary>
    public IReadOnlyList<ListenerCertificates> Certificates => _certificates;

    /// <summary>Bound addresses of the redirect listeners, after start.</summary>
    public IReadOnlyList<IPEndPoint> RedirectEndPoints => _redirects.Select(r => r.Redirect.IPEndPoint!).ToList();

    /// <summary>Makes <paramref name="listen"/> a TLS listener (its protocols already set) and adds its redirect listener.</summary>
    public void Configure(KestrelServerOptions kestrel, ListenOptions listen, ListenerOptions listener)
    {
        var tls = listener.Tls!;
        List<SslApplicationProtocol> alpn = listen.Protocols switch
        {
            HttpProtocols.Http1 => [SslApplicationProtocol.Http11],
            HttpProtocols.Http2 => [SslApplicationProtocol.Http2],
            _ => [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        };
        var certificates = new ListenerCertificates(listener.Address, tls, alpn, time, _logger);
        _certificates.Add(certificates);
        if (_certificates.Count == 1)
        {
            metrics.ObserveGauge(ExpiryMetric, ObserveExpiry, "Seconds until each served TLS certificate expires (negative once expired).");
        }
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = context => ValueTask.FromResult(certificates.Current.Select(context.ClientHelloInfo.ServerName)),
        });
        if (tls.Hsts is { } hsts)
        {
            _hsts.Add((listen, HstsValue(hsts)));
        }
        if (tls.RedirectHttp is { } redirect)
        {
            kestrel.Listen(IPEndPoint.Parse(redirect), plain =>
            {
                plain.Protocols = HttpProtocols.Http1AndHttp2;
                _redirects.Add((plain, listen));
            });
        }
    }

    /// <summary>The Strict-Transport-Security value, e.g. <c>max-age=31536000; includeSubDomains</c>.</summary>
    public static string HstsValue(HstsOptions hsts) =>
        $"max-age={(long)hsts.MaxAge.TotalSeconds}{(hsts.IncludeSubDomains ? "; includeSubDomains" : "")}{(hsts.Preload ? "; preload" : "")}";

    /// <summary>
    /// Adds the redirect answer and the HSTS header to the public pipeline, only when a listener has
    /// them (the other listeners pay nothing). Call before the request handler is added.
    /// </summary>
    public static void UseRedirectsAndHsts(WebApplication app, IngestConfig config)
    {
        var tls = app.Services.GetRequiredService<TlsListeners>();
        if (config.Listen.Exists(l => l.Tls?.Hsts is not null))
        {
            app.Use(next => context =>
            {
                if (context.Request.IsHttps && tls.HstsFor(context.Connection.LocalPort) is { } value)
                {
                    context.Response.Headers.StrictTransportSecurity = value;
                }
                return next(context);
            });
        }
        if (config.Listen.Exists(l => l.Tls?.RedirectHttp is not null))
        {
            app.MapWhen(context => tls.RedirectTarget(context.Connection.LocalPort) is not null, redirect => redirect.Run(tls.RedirectAsync));
        }
    }

    private IEnumerable<Measurement<long>> ObserveExpiry()
    {
        var now = time.GetUtcNow();
        foreach (var listener in _certificates)
        {
            var listenerTag = new KeyValuePair<string, object?>("listener", listener.Name);
            foreach (var certificate in listener.Current.Certificates)
            {
                var seconds = (long)(new DateTimeOffset(certificate.Leaf.NotAfter.ToUniversalTime()) - now).TotalSeconds;
                foreach (var host in certificate.Hosts)
                {
                    yield return new(seconds, listenerTag, new KeyValuePair<string, object?>("host", host));
                }
            }
        }
    }

    private string? HstsFor(int localPort)
    {
        foreach (var (listen, value) in _hsts)
        {
            if (listen.IPEndPoint?.Port == localPort)
            {
                return value;
            }
        }
        return null;
    }

    private ListenOptions? RedirectTarget(int localPort)
    {
        foreach (var (redirect, target) in _redirects)
        {
            if (redirect.IPEndPoint?.Port == localPort)
            {
                return target;
            }
        }
        return null;
    }

    /// <summary>301 (GET, HEAD) or 308 (other methods, so the body is sent again) to the same host, path and query over HTTPS.</summary>
    private Task RedirectAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.XContentTypeOptions = "nosniff";
        var host = DomainRouting.HostWithoutPort(request.Host.Value);
        if (host.IsEmpty)
        {
            response.StatusCode = StatusCodes.Status400BadRequest;
            response.ContentType = "application/json";
            response.Headers.CacheControl = "no-store";
            response.ContentLength = BadRequestBody.Length;
            return response.Body.WriteAsync(BadRequestBody).AsTask();
        }
        var port = RedirectTarget(context.Connection.LocalPort)!.IPEndPoint!.Port;
        response.StatusCode = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)
            ? StatusCodes.Status301MovedPermanently
            : StatusCodes.Status308PermanentRedirect;
        var authority = port == 443 ? host.ToString() : $"{host}:{port}";
        response.Headers.Location = $"https://{authority}{request.PathBase.ToUriComponent()}{request.Path.ToUriComponent()}{request.QueryString.ToUriComponent()}";
        response.ContentLength = 0;
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        foreach (var certificates in _certificates)
        {
            certificates.Dispose();
        }
    }
}
