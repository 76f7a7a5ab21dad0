using System.Collections.Concurrent;

namespace Ingest.Gateway.Admin;

/// <summary>
/// Requests and events per API key id since the process started, for <c>GET /admin/usage</c>.
/// Fed once per request from the access-log record point; requests without a key are counted
/// under <see cref="Anonymous"/>. Quota left comes from the throttling component once it exposes it.
/// </summary>
internal sealed class UsageCounters
{
    /// <summary>Key id reported for requests that carried no API key.</summary>
    public const string Anonymous = "";

    private readonly ConcurrentDictionary<string, Usage> _byKey = new(StringComparer.Ordinal);
    private readonly Usage _anonymous = new();

    public void Record(string? apiKeyId, int events)
    {
        var usage = apiKeyId is null ? _anonymous : _byKey.GetOrAdd(apiKeyId, static _ => new Usage());
        Interlocked.Increment(ref usage.Requests);
        if (events != 0)
        {
            Interlocked.Add(ref usage.Events, events);
        }
    }

    /// <summary>Counts per key id, configured keys included with zeros; anonymous last when it has traffic.</summary>
    public IReadOnlyList<(string ApiKeyId, long Requests, long Events)> Snapshot(IEnumerable<string> configuredKeys)
    {
        var rows = new SortedDictionary<string, (long, long)>(StringComparer.Ordinal);
        foreach (var key in configuredKeys)
        {
            rows[key] = (0, 0);
        }
        foreach (var (key, usage) in _byKey)
        {
            rows[key] = (Interlocked.Read(ref usage.Requests), Interlocked.Read(ref usage.Events));
        }
        var result = rows.Select(r => (r.Key, r.Value.Item1, r.Value.Item2)).ToList();
        var anonymousRequests = Interlocked.Read(ref _anonymous.Requests);
        if (anonymousRequests > 0)
        {
            result.Add((Anonymous, anonymousRequests, Interlocked.Read(ref _anonymous.Events)));
        }
        return result;
    }

    private sealed class Usage
    {
        public long Requests;
        public long Events;
    }
}
