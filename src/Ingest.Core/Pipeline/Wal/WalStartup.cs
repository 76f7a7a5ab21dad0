using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Pipeline.Wal;

/// <summary>Opens the write-ahead log at gateway start and replays what the previous run left.</summary>
public static partial class WalStartup
{
    /// <summary>Settings from <c>wal:</c> with defaults applied (a segment is never larger than the cap).</summary>
    public static WalSettings Settings(WalOptions options) =>
        new(Path.GetFullPath(options.Path), options.MaxBytes, Math.Min(options.SegmentBytes, options.MaxBytes));

    /// <summary>
    /// Opens the log when a route acknowledges <c>durable</c> or segments are left in <c>wal.path</c> (a route
    /// may have changed to another ack level since), then re-queues every event without a done marker into
    /// its target before returning, so nothing is served before replay. Null when no log is needed.
    /// </summary>
    public static async Task<WriteAheadLog?> OpenAsync(
        IngestConfig config,
        IReadOnlyDictionary<string, IEventTarget> targets,
        IWalFileSystem files,
        IngestMetrics metrics,
        TimeProvider timeProvider,
        ILoggerFactory loggerFactory,
        CancellationToken cancellationToken)
    {
        var settings = Settings(config.Wal);
        var durable = WalValidation.DurableRoutes(config).Any();
        if (!durable && files.ListFiles(settings.Directory, WriteAheadLog.SegmentSuffix).Count == 0)
        {
            return null;
        }
        var logger = loggerFactory.CreateLogger("Ingest.Wal");
        var wal = WriteAheadLog.Open(settings, files, metrics, logger);
        if (wal.ToReplay > 0)
        {
            var spills = new Dictionary<string, SpillFile>(StringComparer.Ordinal);
            var started = timeProvider.GetTimestamp();
            var requeued = await wal.ReplayAsync(
                name => targets.TryGetValue(name, out var target) ? target : null,
                name => spills.TryGetValue(name, out var spill) ? spill
                    : spills[name] = new SpillFile(config.Targets.GetValueOrDefault(name)?.DeadLetter?.Path ?? "./data/spill", name, timeProvider),
                timeProvider,
                cancellationToken);
            foreach (var spill in spills.Values)
            {
                spill.Dispose();
            }
            var elapsed = timeProvider.GetElapsedTime(started);
            LogReplayed(logger, requeued, wal.ToReplay - requeued, elapsed.TotalMilliseconds);
        }
        return wal;
    }

    /// <summary>
    /// For a deployment while the gateway runs: opens the log when <paramref name="config"/> has a durable
    /// route (nothing to replay: a log left from the previous run was opened at start). Null otherwise.
    /// </summary>
    public static WriteAheadLog? OpenIfNeeded(IngestConfig config, IWalFileSystem files, IngestMetrics metrics, ILoggerFactory loggerFactory) =>
        WalValidation.DurableRoutes(config).Any()
            ? WriteAheadLog.Open(Settings(config.Wal), files, metrics, loggerFactory.CreateLogger("Ingest.Wal"))
            : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Write-ahead log replay: {Requeued} events re-queued with their ids, {Spilled} to spill files, in {Milliseconds:F0} ms")]
    private static partial void LogReplayed(ILogger logger, int requeued, int spilled, double milliseconds);
}
