using System.Diagnostics;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>The scale-out tests run one after another: each measures rates and times.</summary>
[CollectionDefinition(Name)]
public sealed class ScaleOutCollection
{
    public const string Name = "ScaleOut";
}

/// <summary>
/// One two-instance cluster for the tests that do not stop an instance: <c>/v1/limited</c>
/// (throttled, to a blackhole), <c>/v1/events</c> (to a fresh SQS queue) and <c>/warmup</c>.
/// </summary>
public sealed class SharedClusterFixture : IAsyncLifetime
{
    /// <summary>Route throttle of <c>/v1/limited</c>, requests per second, shared through Redis.</summary>
    public const double Rate = 200;

    /// <summary>
    /// Half a second of tokens: a pause of the load generator on a busy machine shorter than that
    /// loses no tokens, so the count measures the sharing, not the machine.
    /// </summary>
    public const int Burst = 100;

    private ScaleOutCluster? _cluster;

    public string Queue { get; } = $"scaleout-{Guid.NewGuid():N}";

    internal ScaleOutCluster Cluster => _cluster ?? throw new InvalidOperationException("the cluster did not start");

    /// <summary>How long the cluster took to start (both gateways ready, nginx listening).</summary>
    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        _cluster = await ScaleOutCluster.StartAsync($$"""
            targets:
              sink: { type: blackhole }
              q: { type: sqs, queue: {{Queue}}, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/limited, target: sink, auth: none, public: true, throttle: { rate: {{Rate}}, burst: {{Burst}} } }
              - { route: POST /v1/events, target: q, auth: none, public: true, contentTypes: [application/json, application/octet-stream] }
              - { route: POST /warmup, target: sink, auth: none, public: true }
            """);
        StartTime = clock.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}
