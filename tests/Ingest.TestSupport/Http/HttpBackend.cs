using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.TestSupport.Http;

/// <summary>A request as an HTTP backend received it (before its handler ran).</summary>
/// <param name="Method">HTTP method.</param>
/// <param name="Target">Request target as sent on the wire (path and query, still escaped).</param>
/// <param name="Headers">Request headers.</param>
public sealed record BackendRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers);

/// <summary>A real Kestrel backend on a free loopback port for http-target tests; every request is recorded.</summary>
public sealed class HttpBackend : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _stopped;

    private HttpBackend(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    public int Port { get; }

    /// <summary><c>http://127.0.0.1:PORT</c>.</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<BackendRequest> Requests { get; } = new();

    /// <summary>Starts a backend answering with <paramref name="handler"/>.</summary>
    public static async Task<HttpBackend> StartAsync(RequestDelegate handler, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(IPAddress.Loopback, port);
        });
        var app = builder.Build();
        HttpBackend? backend = null;
        app.Run(async context =>
        {
            var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path + context.Request.QueryString;
            backend!.Requests.Enqueue(new BackendRequest(
                context.Request.Method,
                target,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            await handler(context);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        backend = new HttpBackend(app, new Uri(address).Port);
        return backend;
    }

    /// <summary>Stops listening (connections are then refused), as a killed backend.</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(quick.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    public static int ClosedPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
