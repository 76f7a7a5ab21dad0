namespace Ingest.Core.Auth;

/// <summary>
/// The HTTP client of authentication (JWKS and discovery fetches, http and lambda authorizers),
/// one per process so connections are pooled across deployments. Timeouts are set per call.
/// </summary>
public sealed class AuthHttpClient : IDisposable
{
    public AuthHttpClient()
        : this(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AllowAutoRedirect = false,
        })
    {
    }

    public AuthHttpClient(HttpMessageHandler handler) =>
        Client = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };

    public HttpClient Client { get; }

    public void Dispose() => Client.Dispose();
}
