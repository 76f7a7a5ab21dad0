using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Firewall;

/// <summary>What a rule does when it matches.</summary>
public enum FirewallAction : byte
{
    /// <summary>403 Forbidden.</summary>
    Block,

    /// <summary>Metric and log only; the request goes on.</summary>
    Count,

    /// <summary>403 once the client matched more than the limit in the window.</summary>
    RateBlock,
}

/// <summary>A compiled rule: custom (conditions from the file) or managed (a built-in set).</summary>
internal abstract class FirewallRule(string id, FirewallAction action)
{
    public string Id { get; } = id;

    public FirewallAction Action { get; } = action;

    /// <summary>The action as written in the file.</summary>
    public string ActionName { get; } = action switch { FirewallAction.Block => "block", FirewallAction.Count => "count", _ => "rateBlock" };

    /// <summary>Metric tags, built once.</summary>
    public KeyValuePair<string, object?>[] Tags => _tags ??= [new("rule", Id), new("action", ActionName)];

    private KeyValuePair<string, object?>[]? _tags;

    /// <summary>True when the rule reads the body prefix.</summary>
    public abstract bool NeedsBody { get; }

    /// <summary>Counts per client for <see cref="FirewallAction.RateBlock"/>; null for other actions.</summary>
    public RateCounterTable? Rate { get; init; }

    public abstract bool Matches(ref FirewallRequest request);
}

/// <summary>A rule from <c>firewall.rules</c>: every condition it sets must hold.</summary>
internal sealed class CustomRule(
    string id,
    FirewallAction action,
    Security.CidrList? sources,
    string[]? methods,
    TextMatcher? path,
    TextMatcher? query,
    (string Name, TextMatcher Matcher)? header,
    TextMatcher? body) : FirewallRule(id, action)
{
    public override bool NeedsBody => body is not null;

    public override bool Matches(ref FirewallRequest request)
    {
        if (sources is not null && (request.Client is not { } client || !sources.Contains(client)))
        {
            return false;
        }
        if (methods is not null && Array.IndexOf(methods, request.Request.Method) < 0 && !ContainsIgnoreCase(methods, request.Request.Method))
        {
            return false;
        }
        if (path is not null && !path.IsMatch(request.Path))
        {
            return false;
        }
        if (query is not null && !query.IsMatch(request.Query))
        {
            return false;
        }
        if (header is { } h)
        {
            if (!request.Request.Headers.TryGetValue(h.Name, out var values) || !h.Matcher.IsMatch(Joined(values)))
            {
                return false;
            }
        }
        return body is null || body.IsMatch(request.Body);
    }

    private static bool ContainsIgnoreCase(string[] methods, string method)
    {
        foreach (var m in methods)
        {
            if (HttpMethods.Equals(m, method))
            {
                return true;
            }
        }
        return false;
    }

    private static string Joined(StringValues values) => values.Count == 1 ? values[0] ?? "" : values.ToString();
}

/// <summary>A built-in rule set: one pattern over the path, the query and the body prefix.</summary>
internal sealed class ManagedRule(string id, FirewallAction action, System.Text.RegularExpressions.Regex pattern) : FirewallRule(id, action)
{
    public override bool NeedsBody => true;

    public override bool Matches(ref FirewallRequest request) =>
        TextMatcher.IsRegexMatch(pattern, request.Path)
        || (request.Request.QueryString.HasValue && TextMatcher.IsRegexMatch(pattern, request.Query))
        || (!request.Body.IsEmpty && TextMatcher.IsRegexMatch(pattern, request.Body));
}
