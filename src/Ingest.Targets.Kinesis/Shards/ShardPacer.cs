using Ingest.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Kinesis;

/// <summary>A shard map with one write budget per open shard, swapped as one.</summary>
internal sealed class ShardState(ShardMap map, ShardBudget[] budgets)
{
    public ShardMap Map { get; } = map;

    public ShardBudget[] Budgets { get; } = budgets;
}

/// <summary>
/// Knows a stream's open shards and keeps each under its write limit. The map is read with
/// ListShards at start, every <see cref="KinesisShardOptions.Refresh"/>, and soon after Kinesis
/// throttles a record or answers from a shard the map does not predict (the stream was resharded).
/// Refreshes run on the send path, one at a time; a failed refresh keeps the old map.
/// </summary>
public sealed partial class ShardPacer : IDisposable
{
    /// <summary>Shortest time between two refreshes asked for by throttling or an unknown shard.</summary>
    public static readonly TimeSpan MinTriggeredInterval = TimeSpan.FromSeconds(1);

    /// <summary>Wait before trying again after ListShards failed.</summary>
    public static readonly TimeSpan FailedRefreshRetry = TimeSpan.FromSeconds(5);

    /// <summary>A shard counts as hot while its budget ran out within this window.</summary>
    public static readonly TimeSpan HotWindow = TimeSpan.FromSeconds(10);

    private readonly string _target;
    private readonly KinesisShardOptions _options;
    private readonly Func<CancellationToken, Task<IReadOnlyList<ShardRange>>> _listOpenShards;
    private readonly TimeProvider _time;
    private readonly KinesisMetrics? _metrics;
    private readonly ILogger _logger;
    private volatile ShardState _state;
    private volatile string? _staleReason;
    private long _nextRefresh;
    private long _notBefore;
    private int _refreshing;

    /// <param name="target">Target name, for logs and metrics.</param>
    /// <param name="options">Limits and refresh interval.</param>
    /// <param name="listOpenShards">Reads the open shards (ListShards).</param>
    /// <param name="time">Clock.</param>
    /// <param name="metrics">Instruments; null: none.</param>
    /// <param name="logger">Logging.</param>
    public ShardPacer(
        string target,
        KinesisShardOptions options,
        Func<CancellationToken, Task<IReadOnlyList<ShardRange>>> listOpenShards,
        TimeProvider time,
        KinesisMetrics? metrics,
        ILogger logger)
    {
        _target = target;
        _options = options;
        _listOpenShards = listOpenShards;
        _time = time;
        _metrics = metrics;
        _logger = logger;
        _state = new ShardState(ShardMap.Empty, []);
        TargetTag = new("target", target);
        _nextRefresh = time.GetTimestamp();
        _notBefore = _nextRefresh;
        metrics?.Add(this);
    }

    /// <summary>The current open shards.</summary>
    public ShardMap Map => _state.Map;

    /// <summary>Longest a batch waits for budget.</summary>
    public TimeSpan MaxDelay => _options.MaxDelay;

    internal KeyValuePair<string, object?> TargetTag { get; }

    internal ShardState State => _state;

    internal KinesisMetrics? Metrics => _metrics;

    /// <summary>Reads the map now (start-up). Returns false, keeping the old map, when ListShards failed.</summary>
    public async Task<bool> RefreshAsync(string reason, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        Volatile.Write(ref _notBefore, started + Ticks(MinTriggeredInterval));
        IReadOnlyList<ShardRange> shards;
        try
        {
            shards = await _listOpenShards(cancellationToken);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Neither the interval nor a trigger asks again before the retry time.
            Volatile.Write(ref _nextRefresh, started + Ticks(FailedRefreshRetry));
            Volatile.Write(ref _notBefore, started + Ticks(FailedRefreshRetry));
            LogRefreshFailed(_logger, _target, ex.Message, FailedRefreshRetry.TotalSeconds);
            return false;
        }
        var old = _state;
        var map = new ShardMap(shards);
        var budgets = new ShardBudget[map.Count];
        for (var i = 0; i < budgets.Length; i++)
        {
            // A shard that stays keeps its budget: a refresh must not hand out a fresh second.
            var id = map.Shards[i].ShardId;
            var kept = -1;
            for (var j = 0; j < old.Map.Count; j++)
            {
                if (old.Map.Shards[j].ShardId == id)
                {
                    kept = j;
                    break;
                }
            }
            budgets[i] = kept >= 0 ? old.Budgets[kept] : new ShardBudget(_options.RecordsPerSecond, _options.BytesPerSecond, _time);
        }
        _state = new ShardState(map, budgets);
        _staleReason = null;
        Volatile.Write(ref _nextRefresh, started + Ticks(_options.Refresh));
        _metrics?.ShardMapRefreshes.Add(1, TargetTag, new("reason", reason));
        if (!SameShards(old.Map, map))
        {
            LogMapChanged(_logger, _target, map.Count, old.Map.Count, reason);
        }
        return true;
    }

    /// <summary>Refreshes when the interval is up or a refresh was asked for; returns at once while another caller refreshes.</summary>
    public ValueTask RefreshIfDueAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        var stale = _staleReason;
        var due = now >= Volatile.Read(ref _nextRefresh)
            || (stale is not null && now >= Volatile.Read(ref _notBefore));
        if (!due || Interlocked.CompareExchange(ref _refreshing, 1, 0) != 0)
        {
            return ValueTask.CompletedTask;
        }
        return RefreshOnceAsync(stale ?? "periodic", cancellationToken);
    }

    /// <summary>Asks for a refresh on the next send (at most one per <see cref="MinTriggeredInterval"/>).</summary>
    public void MarkStale(string reason) => _staleReason ??= reason;

    /// <summary>Kinesis throttled a record of shard <paramref name="index"/> of <paramref name="state"/>.</summary>
    internal void OnThrottled(ShardState state, int index)
    {
        if (index >= 0)
        {
            state.Budgets[index].Exhaust();
        }
        // Throttling below the paced rate means the shard is not what the map says (merged, or the limits are lower).
        MarkStale("throttled");
    }

    /// <summary>Open shards whose budget ran out within <see cref="HotWindow"/>.</summary>
    public int HotShardCount()
    {
        var count = 0;
        foreach (var budget in _state.Budgets)
        {
            if (budget.RefusedWithin(HotWindow))
            {
                count++;
            }
        }
        return count;
    }

    public void Dispose() => _metrics?.Remove(this);

    private async ValueTask RefreshOnceAsync(string reason, CancellationToken cancellationToken)
    {
        try
        {
            await RefreshAsync(reason, cancellationToken);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private static bool SameShards(ShardMap a, ShardMap b)
    {
        if (a.Count != b.Count)
        {
            return false;
        }
        for (var i = 0; i < a.Count; i++)
        {
            if (a.Shards[i] != b.Shards[i])
            {
                return false;
            }
        }
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: shard map has {Shards} open shard(s), was {Previous} ({Reason})")]
    private static partial void LogMapChanged(ILogger logger, string target, int shards, int previous, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: could not read the shard map with ListShards ({Reason}); keeping the last one, trying again in {Seconds}s. Without a map records are not paced per shard; allow kinesis:ListShards to the gateway's credentials")]
    private static partial void LogRefreshFailed(ILogger logger, string target, string reason, double seconds);
}
