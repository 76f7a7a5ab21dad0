using System.Collections.Concurrent;
using Ingest.Gateway.Hosting;

namespace Ingest.Gateway.Status;

/// <summary>
/// Per-route request statistics of the last minute for the live status page, kept in process
/// (not read back from Prometheus): one <see cref="SecondWindow"/> per route key, fed once per
/// request from the access-log record point.
/// </summary>
internal sealed class StatusBoard(GatewayOptions options)
{
    /// <summary>Key of requests that matched no route.</summary>
    public const string Unmatched = "(no route)";

    private readonly TimeProvider _time = options.TimeProvider;
    private readonly ConcurrentDictionary<string, SecondWindow> _routes = new(StringComparer.Ordinal);

    /// <summary>Current second of the clock the windows use.</summary>
    public long Second => _time.GetTimestamp() / _time.TimestampFrequency;

    public void Record(string? routeKey, int status, TimeSpan latency) =>
        _routes.GetOrAdd(routeKey ?? Unmatched, static _ => new SecondWindow()).Record(Second, status, latency);

    /// <summary>Summaries of every route that has had traffic (or is listed in <paramref name="routeKeys"/>).</summary>
    public IReadOnlyList<(string Route, WindowSummary Summary)> Summarize(IEnumerable<string> routeKeys)
    {
        var second = Second;
        var keys = new SortedSet<string>(routeKeys, StringComparer.Ordinal);
        keys.UnionWith(_routes.Keys);
        return keys.Select(k => (k, _routes.TryGetValue(k, out var window) ? window.Summarize(second) : default)).ToList();
    }
}
