using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Hosting.Tls;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Tls;

/// <summary>A real gateway with TLS listeners on free loopback ports, and clients that validate against the test root.</summary>
internal sealed class TlsGateway : IAsyncDisposable
{
    public const string Routes = """
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
        """;

    private TlsGateway(WebApplication app)
    {
        App = app;
    }

    public WebApplication App { get; }

    public GatewayEndpoints Endpoints => App.Services.GetRequiredService<GatewayEndpoints>();

    public TlsListeners Tls => App.Services.GetRequiredService<TlsListeners>();

    /// <summary>Port of the public listener <paramref name="index"/> after start.</summary>
    public int Port(int index = 0) => Endpoints.PublicEndPoints[index].Port;

    /// <summary>Starts a gateway; <paramref name="listenYaml"/> is the whole <c>listen:</c> section.</summary>
    public static async Task<TlsGateway> StartAsync(string listenYaml, GatewayOptions? options = null, string routes = Routes)
    {
        var config = ConfigLoader.Load(listenYaml + "\n" + """
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: "off" }
            """ + "\n" + routes, Directory.GetCurrentDirectory());
        var app = GatewayHost.Build(config, options);
        await app.StartAsync();
        return new TlsGateway(app);
    }

    /// <summary>
    /// An HttpClient for https://<paramref name="host"/>:port/ that connects to loopback and
    /// validates the certificate like any client would (chain to <paramref name="root"/>, name, dates).
    /// </summary>
    public static HttpClient Client(string host, int port, X509Certificate2 root, Version? version = null, SslProtocols protocols = SslProtocols.None)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
            SslOptions = new SslClientAuthenticationOptions
            {
                CertificateChainPolicy = TrustOnly(root),
                EnabledSslProtocols = protocols,
            },
            AllowAutoRedirect = false,
        };
        return new HttpClient(handler)
        {
            BaseAddress = new Uri($"https://{host}:{port}/"),
            DefaultRequestVersion = version ?? HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    /// <summary>Chain policy trusting only the test root, checking dates (no revocation: nothing to fetch offline).</summary>
    public static X509ChainPolicy TrustOnly(X509Certificate2 root)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.Add(root);
        return policy;
    }

    /// <summary>
    /// A TLS handshake that accepts any certificate and returns the one the server presented for
    /// <paramref name="serverName"/> (null: no SNI is sent).
    /// </summary>
    public static async Task<X509Certificate2> PresentedCertificateAsync(int port, string? serverName, SslProtocols protocols = SslProtocols.None)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            // An IP address as target host sends no SNI.
            TargetHost = serverName ?? "127.0.0.1",
            EnabledSslProtocols = protocols,
#pragma warning disable CA5359 // Deliberately accepts anything: this handshake only looks at which certificate is presented.
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
        });
        return X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData());
    }

    /// <summary>A validating handshake (test root only) for <paramref name="serverName"/>; throws AuthenticationException when the client refuses.</summary>
    public static async Task<SslProtocols> ValidatingHandshakeAsync(int port, string serverName, X509Certificate2 root, SslProtocols protocols = SslProtocols.None)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            EnabledSslProtocols = protocols,
            CertificateChainPolicy = TrustOnly(root),
        });
        return ssl.SslProtocol;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
