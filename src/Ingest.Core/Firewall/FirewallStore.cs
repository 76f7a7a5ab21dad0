using System.Runtime.CompilerServices;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Core.Firewall;

/// <summary>
/// Long-lived state of the firewall, shared by all deployments: the rate counters of
/// <c>rateBlock</c> rules (kept by rule id, so a redeploy does not forgive a client), the clock,
/// the metric and the logger; and the rules compiled once per configuration.
/// </summary>
public sealed class FirewallStore(TimeProvider time, ILoggerFactory? loggers, IServiceProvider? services)
{
    private readonly Dictionary<string, RateCounterTable> _rates = new(StringComparer.Ordinal);
    private readonly ConditionalWeakTable<IngestConfig, CompiledRules> _compiled = [];
    private IngestMetrics? _metrics;
    private long _nextFullWarning;

    internal TimeProvider Time { get; } = time;

    internal ILogger Logger { get; } = loggers?.CreateLogger("Ingest.Firewall") ?? NullLogger.Instance;

    /// <summary>Resolved on first use: the metrics singleton may be registered after the store.</summary>
    internal IngestMetrics? Metrics => _metrics ??= services?.GetService<IngestMetrics>();

    /// <summary>The rules of <paramref name="config"/>, compiled once (regexes included) however many routes use them.</summary>
    internal CompiledRules Rules(IngestConfig config) => _compiled.GetValue(config, c => CompiledRules.Compile(c, this));

    /// <summary>The counters of a rateBlock rule; the same table as the previous deployment's unless the window changed.</summary>
    internal RateCounterTable RateTable(string ruleId, TimeSpan window, int limit, int capacity)
    {
        lock (_rates)
        {
            if (!_rates.TryGetValue(ruleId, out var table) || table.Window != window)
            {
                table = new RateCounterTable(window, limit, capacity, Time);
                _rates[ruleId] = table;
            }
            table.Limit = limit;
            table.Capacity = capacity;
            return table;
        }
    }

    /// <summary>Warns that a rate table overflowed, at most once a minute.</summary>
    internal void WarnIfFull(FirewallRule rule)
    {
        if (rule.Rate is not { Overflowed: true } table)
        {
            return;
        }
        var now = Time.GetTimestamp();
        var next = Volatile.Read(ref _nextFullWarning);
        if (now >= next && Interlocked.CompareExchange(ref _nextFullWarning, now + (60 * Time.TimestampFrequency), next) == next)
        {
            table.Overflowed = false;
            FirewallLog.RateTableFull(Logger, rule.Id, table.Count);
        }
    }
}

public static class FirewallServiceCollectionExtensions
{
    /// <summary>Registers the firewall's long-lived state; uses the registered <see cref="TimeProvider"/> (default: the system clock).</summary>
    public static IServiceCollection AddIngestFirewall(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new FirewallStore(
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            sp.GetService<ILoggerFactory>(),
            sp));
        return services;
    }
}

/// <summary>Every rule of one configuration, compiled: custom rules by id in priority order, and the managed sets.</summary>
internal sealed class CompiledRules
{
    private CompiledRules(FirewallRule[] custom, Dictionary<string, FirewallRule> managed, int bodyPrefixBytes)
    {
        Custom = custom;
        Managed = managed;
        BodyPrefixBytes = bodyPrefixBytes;
    }

    /// <summary>Custom rules in the order written (their priority).</summary>
    public FirewallRule[] Custom { get; }

    /// <summary>Managed sets by name (<c>sqli</c>, <c>xss</c>).</summary>
    public Dictionary<string, FirewallRule> Managed { get; }

    public int BodyPrefixBytes { get; }

    public static CompiledRules Compile(IngestConfig config, FirewallStore store)
    {
        var options = config.Firewall;
        var timeout = options.RegexTimeout;
        var custom = new List<FirewallRule>(options.Rules.Count);
        foreach (var rule in options.Rules)
        {
            var action = FirewallValidation.ParseAction(rule.Action)!.Value;
            custom.Add(new CustomRule(
                rule.Id,
                action,
                rule.SourceIp.Count > 0 ? Security.CidrList.Compile(rule.SourceIp) : null,
                rule.Method.Count > 0 ? [.. rule.Method] : null,
                rule.Path is { } path ? TextMatcher.Compile(path, timeout) : null,
                rule.Query is { } query ? TextMatcher.Compile(query, timeout) : null,
                rule.Header is { } header ? (header.Name, TextMatcher.Compile(header, timeout)) : null,
                rule.Body is { } body ? TextMatcher.Compile(body, timeout) : null)
            {
                Rate = action == FirewallAction.RateBlock
                    ? store.RateTable(rule.Id, rule.Window ?? FirewallValidation.DefaultWindow, rule.Limit!.Value, options.MaxTrackedClients)
                    : null,
            });
        }
        var managedAction = FirewallValidation.ParseAction(options.ManagedRules.Action) ?? FirewallAction.Block;
        var managed = ManagedRuleSets.Names
            .Where(name => config.Routes.Any(r => r.ManagedRules?.Contains(name, StringComparer.Ordinal) == true))
            .ToDictionary(
                name => name,
                FirewallRule (name) => new ManagedRule(ManagedRuleSets.RuleId(name), managedAction, ManagedRuleSets.Regex(name, timeout)),
                StringComparer.Ordinal);
        return new CompiledRules([.. custom], managed, options.BodyPrefixBytes);
    }
}
