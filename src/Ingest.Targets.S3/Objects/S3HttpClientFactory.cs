using Amazon.Runtime;

namespace Ingest.Targets.S3.Objects;

/// <summary>
/// Gives the S3 client an HttpClient over a handler we built (and that a test may have wrapped to
/// inject faults). One shared client per target, disposed with it.
/// </summary>
internal sealed class S3HttpClientFactory(HttpMessageHandler handler) : HttpClientFactory, IDisposable
{
    private readonly Lock _gate = new();
    private HttpClient? _client;
    private bool _disposed;

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        // Called once per request: no lock once the client exists.
        if (Volatile.Read(ref _client) is { } existing)
        {
            return existing;
        }
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _client ??= new HttpClient(handler, disposeHandler: false)
            {
                Timeout = clientConfig.Timeout ?? TimeSpan.FromSeconds(100),
            };
        }
    }

    // The SDK's cache is process-wide and keyed by configuration text: targets with different
    // handlers but equal settings would share one. Keep ours per factory instead.
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    // The one client serves every request; the SDK must not dispose it after each call.
    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _client?.Dispose();
            _client = null;
        }
        handler.Dispose();
    }
}
