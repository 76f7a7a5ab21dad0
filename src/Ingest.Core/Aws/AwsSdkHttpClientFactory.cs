using Amazon.Runtime;

namespace Ingest.Core.Aws;

/// <summary>
/// Gives an AWS SDK client (SQS, S3) an HttpClient over a handler we built (and that a test or proxy may have
/// wrapped). The SDK asks for a client on every request when its own cache is off, so this
/// factory hands out one shared client; it is disposed with the sender.
/// </summary>
public sealed class AwsSdkHttpClientFactory(HttpMessageHandler handler) : HttpClientFactory, IDisposable
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

    // The SDK's cache is process-wide and keyed by configuration text: two targets with different
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
