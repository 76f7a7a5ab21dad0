using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Deployments;

/// <summary>What a deploy or rollback did.</summary>
/// <param name="Deployment">The deployment now served; null when refused.</param>
/// <param name="Errors">Why it was refused (every problem); empty on success.</param>
/// <param name="RestartRequired">Changed settings that only take effect when the gateway restarts.</param>
/// <param name="Kept">Targets whose settings did not change: kept running, queues untouched.</param>
/// <param name="Started">Targets created for this deployment.</param>
/// <param name="Retired">Targets removed or changed: drained once requests still using them finish.</param>
internal sealed record DeployOutcome(
    DeploymentRecord? Deployment,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> RestartRequired,
    IReadOnlyList<string> Kept,
    IReadOnlyList<string> Started,
    IReadOnlyList<string> Retired)
{
    public bool Ok => Deployment is not null;

    public static DeployOutcome Refused(IReadOnlyList<string> errors) => new(null, errors, [], [], [], []);
}

/// <summary>
/// Switches the gateway to another configuration without dropping a request: validates it
/// (a bad one is refused and the current one keeps serving), builds a new snapshot next to the
/// running one — targets whose settings did not change are kept, new and changed ones are started —
/// records it, swaps it in atomically, and drains the removed and changed targets once every
/// request that started on an older snapshot has finished. One switch at a time.
/// </summary>
internal sealed partial class DeploymentActivator(
    GatewayRuntime runtime,
    TargetFactory targetFactory,
    IngestConfig startConfig,
    GatewayOptions options,
    IServiceProvider services,
    ILogger<DeploymentActivator> logger)
{
    private static readonly string[] RestartKeys = ["listen", "admin.listen", "accessLog", "memory", "wal", "limits", "deployments.path"];

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _retiring = new();
    private readonly List<GatewaySnapshot> _replaced = [];
    private readonly List<Task> _retirements = [];
    private volatile DeploymentRecord? _active;

    public DeploymentStore Store { get; } = new(startConfig.Deployments.Path, options.TimeProvider);

    /// <summary>The recorded deployment being served; null when the running configuration was never recorded.</summary>
    public DeploymentRecord? Active => _active;

    /// <summary>Notes which record the configuration the gateway started with is.</summary>
    internal void Started(DeploymentRecord record)
    {
        _active = record;
        Store.SetActive(record.Number);
    }

    /// <summary>Validates, records and serves <paramref name="content"/> (a whole configuration file).</summary>
    /// <param name="content">The file's text.</param>
    /// <param name="note">Free text kept with the record.</param>
    /// <param name="source">Path of the file; relative <c>${file:...}</c> paths resolve against its folder.</param>
    /// <param name="cancellationToken">Cancels the wait for another switch and target creation.</param>
    public async Task<DeployOutcome> DeployAsync(string content, string? note, string? source, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await SwitchAsync(content, source, record: () => Store.Record(content, note, source), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Serves recorded deployment <paramref name="number"/> again (the whole gateway, every stage).</summary>
    /// <param name="number">Deployment number.</param>
    /// <param name="stage">Optional stage named by the caller: it must exist in that deployment. Rollback always switches every stage.</param>
    /// <param name="cancellationToken">Cancels the wait for another switch and target creation.</param>
    public async Task<DeployOutcome?> ActivateAsync(int number, string? stage, CancellationToken cancellationToken)
    {
        var record = Store.Get(number);
        if (record is null)
        {
            return null;
        }
        var content = Store.Content(number);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await SwitchAsync(content, record.Source, record: () => record, cancellationToken, stage);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Waits for the drains of replaced targets still running.</summary>
    public Task RetirementsAsync(CancellationToken cancellationToken)
    {
        Task[] pending;
        lock (_retiring)
        {
            pending = [.. _retirements];
        }
        return Task.WhenAll(pending).WaitAsync(cancellationToken);
    }

    private async Task<DeployOutcome> SwitchAsync(string content, string? source, Func<DeploymentRecord> record, CancellationToken cancellationToken, string? stage = null)
    {
        IngestConfig config;
        try
        {
            var baseDirectory = Path.GetDirectoryName(source ?? options.ConfigFile ?? Path.Combine(Environment.CurrentDirectory, "ingest.yaml"))!;
            config = ConfigLoader.Load(content, baseDirectory);
        }
        catch (ConfigException e)
        {
            return Refuse(e.Errors);
        }
        var errors = ConfigValidator.Validate(config, targetFactory.Kinds, targetFactory.SyncKinds);
        if (stage is not null && !config.Stages.Any(s => s.Name == stage))
        {
            var known = config.Stages.Count == 0 ? "it has no stages (omit --stage)" : $"its stages are {string.Join(", ", config.Stages.Select(s => s.Name))}";
            errors.Add($"stage '{stage}' is not in that deployment: {known}.");
        }
        if (runtime.Wal is null && config.Routes.Any(r => (r.Ack ?? config.Defaults.Ack) == "durable"))
        {
            errors.Add("ack: durable: the write-ahead log is opened at start and this gateway started without a durable route. Restart the gateway with this file (ingest serve --config) to serve it.");
        }
        if (runtime.Draining)
        {
            errors.Add("the gateway is shutting down; deploy to it after it has restarted.");
        }
        if (errors.Count > 0)
        {
            return Refuse(errors);
        }

        var current = runtime.Current;
        var instances = StagesTargets.Instances(config);
        var previousInstances = StagesTargets.Instances(current.Config);
        var keep = new Dictionary<string, IEventTarget>(StringComparer.Ordinal);
        foreach (var name in instances.Keys)
        {
            if (previousInstances.ContainsKey(name)
                && runtime.Targets.TryGetValue(name, out var running)
                && Fingerprint(config, instances, name, 0) == Fingerprint(current.Config, previousInstances, name, 0)
                && (!targetFactory.SyncKinds.ContainsKey(instances[name].Options.Type)
                    || Ingest.Core.Integration.SyncTargetSlot.RootSettings(config) == Ingest.Core.Integration.SyncTargetSlot.RootSettings(current.Config)))
            {
                keep[name] = running;
            }
        }

        Dictionary<string, IEventTarget> targets;
        try
        {
            targets = await targetFactory.CreateAsync(config, instances, keep, runtime.Budget, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return Refuse([$"a target could not be started ({e.GetType().Name}: {e.Message}). Fix its settings or the backend, then deploy again."]);
        }
        var started = targets.Where(t => !keep.ContainsKey(t.Key)).ToList();
        GatewaySnapshot snapshot;
        DeploymentRecord deployment;
        try
        {
            snapshot = GatewaySnapshot.Build(config, targets, targetFactory.Kinds, services);
            deployment = record();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            foreach (var (_, target) in started)
            {
                await target.DisposeAsync();
            }
            return Refuse([$"the deployment could not be prepared ({e.GetType().Name}: {e.Message})."]);
        }

        var previousTargets = runtime.Targets;
        var previous = runtime.Activate(snapshot, targets);
        // Requests count themselves in before re-reading the current snapshot; this fence pairs with
        // that, so a request still using the old snapshot is seen by the wait below.
        Interlocked.MemoryBarrier();
        _active = deployment;
        try
        {
            Store.SetActive(deployment.Number);
        }
        catch (IOException e)
        {
            LogActiveNotSaved(logger, deployment.Number, e.Message);
        }
        var retired = previousTargets.Where(t => !targets.TryGetValue(t.Key, out var now) || !ReferenceEquals(now, t.Value)).ToList();
        Retire(previous, retired);
        var restart = RestartRequired(current.Config, config);
        LogSwitched(logger, deployment.Number, deployment.Sha256, keep.Count, started.Count, retired.Count);
        foreach (var line in restart)
        {
            LogRestartRequired(logger, deployment.Number, line);
        }
        return new DeployOutcome(deployment, [], restart, [.. keep.Keys.Order()], [.. started.Select(t => t.Key).Order()], [.. retired.Select(t => t.Key).Order()]);
    }

    private DeployOutcome Refuse(IReadOnlyList<string> errors)
    {
        LogRefused(logger, errors.Count, string.Join(" | ", errors));
        return DeployOutcome.Refused(errors);
    }

    /// <summary>Drains <paramref name="retired"/> once no request runs on a replaced snapshot any more (bounded by deployments.retireTimeout).</summary>
    private void Retire(GatewaySnapshot previous, List<KeyValuePair<string, IEventTarget>> retired)
    {
        GatewaySnapshot[] waitFor;
        lock (_retiring)
        {
            _replaced.Add(previous);
            waitFor = [.. _replaced];
            _retirements.RemoveAll(t => t.IsCompleted);
        }
        var task = Task.Run(async () =>
        {
            var time = options.TimeProvider;
            var deadline = time.GetUtcNow() + runtime.Current.Config.Deployments.RetireTimeout;
            while (waitFor.Any(s => s.InFlight > 0) && time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5), time);
            }
            lock (_retiring)
            {
                _replaced.RemoveAll(waitFor.Contains);
            }
            if (retired.Count == 0)
            {
                return;
            }
            using var drain = new CancellationTokenSource(options.DrainTimeout ?? runtime.Current.Config.DrainTimeout, time);
            foreach (var (name, target) in retired)
            {
                var queued = target.QueuedCount;
                try
                {
                    await target.DrainAsync(drain.Token);
                }
                catch (OperationCanceledException)
                {
                    // Whatever could not be sent in time was dead-lettered by the writer.
                }
                await target.DisposeAsync();
                LogRetired(logger, name, queued);
            }
        });
        lock (_retiring)
        {
            _retirements.Add(task);
        }
    }

    /// <summary>Everything that decides how a target instance behaves: its settings, the AWS settings and its dead-letter target's.</summary>
    private static string Fingerprint(IngestConfig config, IReadOnlyDictionary<string, TargetInstance> instances, string name, int depth)
    {
        var instance = instances[name];
        var text = ConfigJson.Serialize(instance.Options) + ConfigJson.Serialize(config.Aws);
        if (instance.Options.DeadLetter?.Target is { } to && depth < 8)
        {
            var deadLetter = StagesTargets.InstanceName(instances, to, instance.Stage);
            text += instances.ContainsKey(deadLetter) ? Fingerprint(config, instances, deadLetter, depth + 1) : "";
        }
        return text;
    }

    private List<string> RestartRequired(IngestConfig before, IngestConfig after)
    {
        var changed = new List<string>();
        object?[] a = [before.Listen, before.Admin.Listen, before.AccessLog, before.Memory, before.Wal, before.Limits, before.Deployments.Path];
        object?[] b = [after.Listen, after.Admin.Listen, after.AccessLog, after.Memory, after.Wal, after.Limits, after.Deployments.Path];
        for (var i = 0; i < RestartKeys.Length; i++)
        {
            if (ConfigJson.Serialize(a[i]) != ConfigJson.Serialize(b[i]))
            {
                changed.Add($"{RestartKeys[i]}: changed; takes effect when the gateway restarts (the running value stays until then).");
            }
        }
        var ceiling = MaxBody(startConfig);
        if (MaxBody(after) > ceiling)
        {
            changed.Add($"maxBodyBytes: above {ceiling}, the largest the gateway started with; larger bodies are refused with 413 until it restarts.");
        }
        return changed;
    }

    private static long MaxBody(IngestConfig config) =>
        config.Routes.Select(r => r.MaxBodyBytes ?? config.Defaults.MaxBodyBytes).Append(config.Defaults.MaxBodyBytes).Max();

    [LoggerMessage(Level = LogLevel.Information, Message = "Deployment {Number} ({Sha256}) is serving: {Kept} targets kept, {Started} started, {Retired} to drain")]
    private static partial void LogSwitched(ILogger logger, int number, string sha256, int kept, int started, int retired);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Number}: {Setting}")]
    private static partial void LogRestartRequired(ILogger logger, int number, string setting);

    [LoggerMessage(Level = LogLevel.Error, Message = "Deployment refused, the current configuration keeps serving: {Count} problem(s): {Errors}")]
    private static partial void LogRefused(ILogger logger, int count, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target} of the replaced deployment drained ({Queued} events were queued)")]
    private static partial void LogRetired(ILogger logger, string target, int queued);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {Number} is serving but could not be noted as active: {Reason}")]
    private static partial void LogActiveNotSaved(ILogger logger, int number, string reason);
}
