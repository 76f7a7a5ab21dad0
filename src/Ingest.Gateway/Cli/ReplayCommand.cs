using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Ingest.Gateway.Cli;

/// <summary>
/// <c>ingest replay --config F --target NAME FILE...</c>: sends the events of spill files back
/// through the target's sender with the target's batching, retries and circuit breaker, keeping
/// their event ids (FIFO deduplication ids and consumers' dedup keys stay valid). Whatever fails
/// again is written to a new spill file and the exit code is 1.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = "Configuration file (the target's queue or stream, endpoints and credentials).",
            DefaultValueFactory = _ => "ingest.yaml",
        };
        var target = new Option<string>("--target", "-t") { Description = "Target to send the events to.", Required = true };
        var failed = new Option<string?>("--failed")
        {
            Description = "Spill file for events that fail again. Default: TARGET-replay-failed-TIME.ndjson next to the first FILE.",
        };
        var timeout = new Option<string>("--timeout")
        {
            Description = "Give up after this long (e.g. 90s, 10m); what is not delivered by then counts as failed.",
            DefaultValueFactory = _ => "10m",
        };
        var files = new Argument<string[]>("FILE") { Description = "Spill files (JSON lines).", Arity = ArgumentArity.OneOrMore };
        var command = new Command("replay", """
            Send the events of spill files back to a target, with the same batching and retries, keeping event ids.
            Exits 1 if any event failed again; those are written to a new spill file.
            Example: ingest replay --config ingest.yaml --target events-queue data/spill/events-queue-20261125.ndjson
            """)
        { config, target, failed, timeout, files };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            if (LogsCommand.ParseDuration(result.GetValue(timeout)!) is not { } limit || limit <= TimeSpan.Zero)
            {
                error.WriteLine($"--timeout: '{result.GetValue(timeout)}' is not a duration. Write e.g. 90s or 10m.");
                return 2;
            }
            IngestConfig loaded;
            try
            {
                loaded = ConfigFile.Load(result.GetValue(config)!);
            }
            catch (ConfigException e)
            {
                error.WriteLine($"{result.GetValue(config)}: {e.Message}");
                return 2;
            }
            var replay = new SpillReplay(loaded, result.GetValue(target)!, result.GetValue(files)!, result.GetValue(failed), error, result.InvocationConfiguration.Output);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(limit);
            return await replay.RunAsync(deadline.Token);
        });
        return command;
    }
}

/// <summary>One run of <c>ingest replay</c>.</summary>
internal sealed class SpillReplay(
    IngestConfig config,
    string targetName,
    IReadOnlyList<string> files,
    string? failedPath,
    TextWriter error,
    TextWriter output)
{

    // Events held in memory at once; beyond, reading waits for deliveries.
    private const long BufferBytes = 64L * 1024 * 1024;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<string, int> _failureReasons = new(StringComparer.Ordinal);

    // One counting continuation per queued event; the summary waits for all of them.
    private readonly List<Task> _counting = [];
    private long _delivered;
    private long _failed;
    private long _total;

    /// <summary>Returns the exit code: 0 when everything was delivered, 1 when something failed again, 2 when nothing could start.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        if (!config.Targets.TryGetValue(targetName, out var options))
        {
            error.WriteLine($"--target: '{targetName}' is not a target of the configuration. Targets: {string.Join(", ", config.Targets.Keys.Order(StringComparer.Ordinal))}.");
            return 2;
        }
        if (!ConfigFile.TargetKinds.TryGetValue(options.Type, out var kind))
        {
            error.WriteLine($"--target: '{targetName}' is a {options.Type} target; only queue and stream targets ({string.Join(", ", ConfigFile.TargetKinds.Keys)}) can be replayed to.");
            return 2;
        }
        var missing = files.Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
        {
            error.WriteLine($"{string.Join(", ", missing)}: no such file. Pass spill files (deadLetter.path of the target, e.g. ./data/spill/{targetName}-20261125.ndjson).");
            return 2;
        }
        _total = files.Sum(f => File.ReadLines(f).Count(line => !string.IsNullOrWhiteSpace(line)));
        var failedFile = failedPath ?? Path.Combine(
            Path.GetDirectoryName(Path.GetFullPath(files[0]))!,
            $"{targetName}-replay-failed-{DateTime.UtcNow:yyyyMMdd'T'HHmmss'Z'}.ndjson");
        using var failures = new SpillFile(Path.GetDirectoryName(Path.GetFullPath(failedFile))!, targetName, TimeProvider.System, Path.GetFileName(failedFile));

        // Errors only (circuit opened, sends failing), on stderr with the progress.
        using var loggerFactory = LoggerFactory.Create(logging =>
        {
            logging.AddSimpleConsole(o => o.SingleLine = true).AddFilter((_, level) => level >= LogLevel.Error);
            logging.Services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        });
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new IngestMetrics(services.GetRequiredService<IMeterFactory>());
        IBatchSender sender;
        try
        {
            sender = await kind.CreateSenderAsync(targetName, options, new TargetContext(config.Aws, config.Aws.CreateMissing, loggerFactory, TimeProvider.System), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"{targetName}: cannot reach the target ({e.GetType().Name}: {e.Message}). Nothing was replayed.");
            return 2;
        }

        var sink = new FailureSink(this, failures);
        var writer = new BatchingWriter(targetName, sender, TargetFactory.Settings(kind, options), new BufferBudget(BufferBytes), sink, metrics, TimeProvider.System, loggerFactory.CreateLogger("Ingest.Replay"));
        writer.Start();
        var started = Stopwatch.GetTimestamp();
        using var stopProgress = new CancellationTokenSource();
        var progress = ShowProgressAsync(started, stopProgress.Token);
        try
        {
            await EnqueueAllAsync(writer, sink, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time while reading: what was not queued is written as failed below.
        }
        try
        {
            // Out of time here: the writer spills what is still pending to the sink.
            await writer.DrainAsync(cancellationToken);
        }
        finally
        {
            await writer.DisposeAsync();
            // Every queued event is delivered or dead-lettered by now; let the counts catch up.
            await Task.WhenAll(_counting);
            await stopProgress.CancelAsync();
            await progress;
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        output.WriteLine($"Replayed to {targetName}: {_delivered} of {_total} delivered, {_failed} failed, in {elapsed.TotalSeconds:0.0} s.");
        if (_failed == 0)
        {
            return 0;
        }
        foreach (var (reason, count) in _failureReasons.OrderByDescending(r => r.Value))
        {
            error.WriteLine($"  {count} {reason}");
        }
        error.WriteLine($"Failed events written to {failures.CurrentPath ?? failedFile}; replay that file once the cause is fixed.");
        return 1;
    }

    private async Task EnqueueAllAsync(BatchingWriter writer, FailureSink sink, CancellationToken cancellationToken)
    {
        var pending = new Queue<Task>();
        foreach (var file in files)
        {
            foreach (var line in SpillFile.Read(file))
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    sink.Unread(line.Text, "not sent: --timeout reached");
                    continue;
                }
                if (line.Event is not { } spilled)
                {
                    sink.Unread(line.Text, $"unreadable line ({Path.GetFileName(file)}:{line.Number}: {line.Error})");
                    continue;
                }
                var delivered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                var e = spilled.CopyWith(spilled.Body, delivered);
                while (true)
                {
                    var result = writer.TryEnqueue(e);
                    if (result == EnqueueResult.Accepted)
                    {
                        var counted = delivered.Task.ContinueWith(
                            (t, state) => ((SpillReplay)state!).Count(t.Result),
                            this,
                            CancellationToken.None,
                            TaskContinuationOptions.ExecuteSynchronously,
                            TaskScheduler.Default);
                        _counting.Add(counted);
                        pending.Enqueue(counted);
                        break;
                    }
                    if (result != EnqueueResult.Full)
                    {
                        sink.DeadLetter([e], result == EnqueueResult.TooLarge ? "larger than the target accepts" : "target closed");
                        break;
                    }
                    // Buffer full: wait for the oldest event in flight (or a moment when none is tracked yet).
                    while (pending.Count > 0 && pending.Peek().IsCompleted)
                    {
                        _ = pending.Dequeue();
                    }
                    var oldest = pending.Count > 0 ? pending.Peek() : Task.Delay(10, CancellationToken.None);
                    await oldest.WaitAsync(cancellationToken);
                }
            }
        }
    }

    private void ReportUnreadable(string reason) => error.WriteLine($"\n{reason}");

    private void Count(bool delivered)
    {
        if (delivered)
        {
            Interlocked.Increment(ref _delivered);
        }
    }

    private async Task ShowProgressAsync(long started, CancellationToken stop)
    {
        var interactive = !Console.IsErrorRedirected && ReferenceEquals(error, Console.Error);
        using var timer = new PeriodicTimer(interactive ? ProgressInterval : TimeSpan.FromSeconds(2));
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                WriteProgress(started, interactive, final: false);
            }
        }
        catch (OperationCanceledException)
        {
        }
        WriteProgress(started, interactive, final: true);
    }

    private void WriteProgress(long started, bool interactive, bool final)
    {
        const int Width = 30;
        var done = Interlocked.Read(ref _delivered) + Interlocked.Read(ref _failed);
        var total = Math.Max(_total, 1);
        var filled = (int)(Width * Math.Min(done, total) / total);
        var seconds = Math.Max(Stopwatch.GetElapsedTime(started).TotalSeconds, 0.001);
        var line = $"replay {targetName} [{new string('#', filled)}{new string('-', Width - filled)}] {done}/{_total} {100.0 * done / total,5:0.0}% {done / seconds,8:0} ev/s  failed {Interlocked.Read(ref _failed)}";
        if (interactive)
        {
            error.Write($"\r{line}{(final ? "\n" : "")}");
        }
        else
        {
            error.WriteLine(line);
        }
    }

    /// <summary>Failed-again events: written to the new spill file and counted by reason.</summary>
    private sealed class FailureSink(SpillReplay replay, SpillFile file) : IDeadLetterSink
    {
        public void DeadLetter(IReadOnlyList<IngestEvent> events, string reason)
        {
            if (reason == "shutdown before delivery")
            {
                reason = "not delivered before --timeout";
            }
            file.Write(events, reason);
            Interlocked.Add(ref replay._failed, events.Count);
            replay._failureReasons.AddOrUpdate(reason, events.Count, (_, n) => n + events.Count);
        }

        public void Unread(string line, string reason)
        {
            file.WriteLine(line);
            Interlocked.Increment(ref replay._failed);
            // Line numbers make every unreadable reason distinct; count them under one heading.
            var key = reason.StartsWith("unreadable", StringComparison.Ordinal) ? "unreadable lines (copied as they were)" : reason;
            replay._failureReasons.AddOrUpdate(key, 1, (_, n) => n + 1);
            if (reason.StartsWith("unreadable", StringComparison.Ordinal))
            {
                replay.ReportUnreadable(reason);
            }
        }
    }
}
