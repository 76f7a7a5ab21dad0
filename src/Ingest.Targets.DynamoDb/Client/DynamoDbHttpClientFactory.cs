using Amazon.Runtime;

namespace Ingest.Targets.DynamoDb.Client;

/// <summary>
/// Gives the SDK one HttpClient over a handler we built (that a test may have wrapped), without a
/// timeout of its own: the route timeout (the call's cancellation token) bounds every call.
/// </summary>
internal sealed class DynamoDbHttpClientFactory(HttpMessageHandler handler) : HttpClientFactory, IDisposable
{
    private readonly HttpClient _client = new(handler, disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => _client;

    // The SDK's cache is process-wide and keyed by configuration text: keep ours per target.
    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    // The one client serves every call; the SDK must not dispose it after each.
    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    public void Dispose() => _client.Dispose();
}
