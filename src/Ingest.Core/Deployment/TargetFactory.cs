using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Resilience;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Deployment;

/// <summary>Creates the running target (batching writer, blackhole or sync target) for each configured target.</summary>
public sealed class TargetFactory(
    IEnumerable<ITargetKind> kinds,
    IngestMetrics metrics,
    ILoggerFactory loggerFactory,
    TimeProvider timeProvider,
    Func<string, HttpMessageHandler, HttpMessageHandler>? wrapHttpHandler = null,
    IEnumerable<Integration.ISyncTargetKind>? syncKinds = null,
    IServiceProvider? services = null)
{
    /// <summary>Registered kinds by their <c>type:</c> value.</summary>
    public IReadOnlyDictionary<string, ITargetKind> Kinds { get; } = kinds.ToDictionary(k => k.Type, StringComparer.Ordinal);

    /// <summary>Registered sync (request/response) kinds by their <c>type:</c> value.</summary>
    public IReadOnlyDictionary<string, Integration.ISyncTargetKind> SyncKinds { get; } = (syncKinds ?? []).ToDictionary(k => k.Type, StringComparer.Ordinal);

    /// <summary>Creates and starts every target. Dead-letter targets are wired after all exist.</summary>
    public Task<Dictionary<string, IEventTarget>> CreateAllAsync(IngestConfig config, BufferBudget budget, CancellationToken cancellationToken) =>
        CreateAsync(config, StagesTargets.Instances(config), new Dictionary<string, IEventTarget>(), budget, cancellationToken);

    /// <summary>
    /// The running targets of <paramref name="instances"/>: those in <paramref name="keep"/> as they
    /// are (a deployment that did not change them), the others created and started. When one cannot
    /// be created, the ones created here are disposed and the exception is thrown.
    /// </summary>
    public async Task<Dictionary<string, IEventTarget>> CreateAsync(
        IngestConfig config,
        IReadOnlyDictionary<string, TargetInstance> instances,
        IReadOnlyDictionary<string, IEventTarget> keep,
        BufferBudget budget,
        CancellationToken cancellationToken)
    {
        var context = new TargetContext(config.Aws, config.Aws.CreateMissing, loggerFactory, timeProvider, wrapHttpHandler, metrics);
        var syncContext = new Integration.SyncTargetContext(config, loggerFactory, timeProvider, services ?? NoServices, wrapHttpHandler, metrics);
        var targets = new Dictionary<string, IEventTarget>(StringComparer.Ordinal);
        var created = new List<IEventTarget>();
        var forwarders = new List<(DeadLetterToTarget Forwarder, string To)>();
        try
        {
            foreach (var (name, instance) in instances)
            {
                if (keep.TryGetValue(name, out var kept))
                {
                    targets[name] = kept;
                    continue;
                }
                var options = instance.Options;
                if (options.Type == "blackhole")
                {
                    targets[name] = new BlackholeTarget(name, metrics);
                    continue;
                }
                if (SyncKinds.TryGetValue(options.Type, out var syncKind))
                {
                    var slot = new Integration.SyncTargetSlot(syncKind.Create(name, options, syncContext));
                    created.Add(slot);
                    targets[name] = slot;
                    continue;
                }
                var kind = Kinds[options.Type];
                var sender = await kind.CreateSenderAsync(name, options, context, cancellationToken);
                var spill = new SpillFile(options.DeadLetter?.Path ?? "./data/spill", name, timeProvider);
                IDeadLetterSink deadLetters = spill;
                if (options.DeadLetter?.Target is { } to)
                {
                    var forwarder = new DeadLetterToTarget(spill);
                    forwarders.Add((forwarder, StagesTargets.InstanceName(instances, to, instance.Stage)));
                    deadLetters = forwarder;
                }
                var writer = new BatchingWriter(name, sender, Settings(kind, options), budget, deadLetters, metrics, timeProvider, loggerFactory.CreateLogger($"Ingest.Targets.{name}"));
                created.Add(writer);
                writer.Start();
                targets[name] = writer;
            }
        }
        catch
        {
            foreach (var target in created)
            {
                await target.DisposeAsync();
            }
            throw;
        }
        foreach (var (forwarder, to) in forwarders)
        {
            forwarder.Target = targets[to];
        }
        CircuitStateGauge.Observe(metrics, targets);
        return targets;
    }

    private static readonly IServiceProvider NoServices = Microsoft.Extensions.DependencyInjection.ServiceCollectionContainerBuilderExtensions.BuildServiceProvider(new Microsoft.Extensions.DependencyInjection.ServiceCollection());

    /// <summary>Batching settings with the documented defaults filled in.</summary>
    public static BatchingSettings Settings(ITargetKind kind, TargetOptions options)
    {
        var limits = kind.ServiceLimits(options);
        var retry = options.Retry ?? new RetryOptions();
        return new BatchingSettings(
            MaxRecords: options.Batch?.MaxRecords ?? limits.MaxRecords,
            MaxBytes: options.Batch?.MaxBytes ?? limits.MaxBatchBytes,
            Linger: options.Batch?.Linger ?? TimeSpan.FromMilliseconds(20),
            MaxInFlight: options.Batch?.MaxInFlight ?? kind.DefaultMaxInFlight(options),
            ChannelCapacity: options.ChannelCapacity ?? 100_000,
            MaxAttempts: retry.MaxAttempts,
            BaseDelay: retry.BaseDelay,
            MaxDelay: retry.MaxDelay,
            Circuit: CircuitSettings.From(options.CircuitBreaker));
    }
}

/// <summary>Sends dead letters to another target; falls back to the spill file when it cannot take them.</summary>
internal sealed class DeadLetterToTarget(SpillFile fallback) : IDeadLetterSink
{
    public IEventTarget? Target { get; set; }

    public void DeadLetter(IReadOnlyList<Events.IngestEvent> events, string reason)
    {
        List<Events.IngestEvent>? refused = null;
        foreach (var e in events)
        {
            if (Target?.TryEnqueue(e) != EnqueueResult.Accepted)
            {
                (refused ??= []).Add(e);
            }
        }
        if (refused is not null)
        {
            fallback.Write(refused, reason);
        }
    }
}
