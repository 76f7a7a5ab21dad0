using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Core.Throttling;

/// <summary>
/// The long-lived state of throttling, shared by every deployment: token buckets, per-client
/// tables and quota counters by stable name (<c>gateway</c>, <c>route:POST /v1/events</c>,
/// <c>plan:standard:fleet-a</c>), and one Redis connection per endpoint. A redeployment that keeps
/// a name keeps its state, so deploying does not hand every client a full bucket.
/// </summary>
internal sealed partial class ThrottleStore : IAsyncDisposable, IDisposable
{
    /// <summary>How often idle per-client buckets are dropped.</summary>
    internal static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<string, object> _state = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RedisRateLimiter> _redis = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<IngestConfig, UsagePlanTable> _plans = [];
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly IServiceProvider? _services;
    private readonly ITimer _sweeper;

    public ThrottleStore(TimeProvider time, ILoggerFactory? loggers = null, IServiceProvider? services = null)
    {
        Clock = new ThrottleClock(time);
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Ingest.Core.Throttling");
        _services = services;
        _sweeper = time.CreateTimer(_ => SweepAll(), null, SweepInterval, SweepInterval);
    }

    public ThrottleClock Clock { get; }

    /// <summary>The single bucket named <paramref name="name"/>.</summary>
    public TokenBucket Bucket(string name) => (TokenBucket)_state.GetOrAdd(name, static _ => new TokenBucket());

    /// <summary>The quota counter named <paramref name="name"/>.</summary>
    public QuotaCounter Quota(string name) => (QuotaCounter)_state.GetOrAdd(name, static _ => new QuotaCounter());

    /// <summary>The per-client table named <paramref name="name"/> with text keys; its capacity follows the latest deployment.</summary>
    public ClientBucketTable<string> TextTable(string name, int capacity)
    {
        var table = (ClientBucketTable<string>)_state.GetOrAdd(name, static (n, c) => StringBucketTable.Create(n, c), capacity);
        table.Capacity = capacity;
        return table;
    }

    /// <summary>The per-client table named <paramref name="name"/> keyed by address.</summary>
    public ClientBucketTable<ClientAddressKey> AddressTable(string name, int capacity)
    {
        var table = (ClientBucketTable<ClientAddressKey>)_state.GetOrAdd(name, static (n, c) => new ClientBucketTable<ClientAddressKey>(n, c), capacity);
        table.Capacity = capacity;
        return table;
    }

    /// <summary>The usage plans of a configuration, compiled once for all its routes.</summary>
    public UsagePlanTable Plans(IngestConfig config) => _plans.GetValue(config, c => UsagePlanTable.Compile(c, this));

    /// <summary>The shared limiter of <paramref name="options"/>' endpoint; connects on first use.</summary>
    public RedisRateLimiter Redis(RedisOptions options) =>
        _redis.GetOrAdd($"{options.Endpoint}|{options.Timeout.Ticks}", _ => new RedisRateLimiter(
            options.Endpoint,
            options.Timeout,
            Clock.Time,
            _loggers.CreateLogger<RedisRateLimiter>(),
            _services?.GetService<IngestMetrics>()));

    /// <summary>Drops idle buckets of every per-client table; warns about tables that overflowed.</summary>
    internal void SweepAll()
    {
        var now = Clock.NowNs;
        foreach (var state in _state.Values)
        {
            if (state is ISweepableTable table)
            {
                table.Sweep(now);
            }
            if (state is ClientBucketTable<string> { OverflowUsed: true } text)
            {
                text.OverflowUsed = false;
                LogTableFull(_logger, text.Name, text.Capacity);
            }
            else if (state is ClientBucketTable<ClientAddressKey> { OverflowUsed: true } addresses)
            {
                addresses.OverflowUsed = false;
                LogTableFull(_logger, addresses.Name, addresses.Capacity);
            }
        }
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        foreach (var limiter in _redis.Values)
        {
            limiter.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _sweeper.DisposeAsync();
        foreach (var limiter in _redis.Values)
        {
            await limiter.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Throttle {Table} tracked its maximum of {Capacity} active clients; new clients shared one bucket. Raise maxKeys if this is normal traffic")]
    private static partial void LogTableFull(ILogger logger, string table, int capacity);
}
