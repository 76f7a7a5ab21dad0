namespace Ingest.Core.Firewall;

// The `firewall:` section of the YAML file (top level) and the routes' `firewall:` / `managedRules:`
// keys. Parsed text only: FirewallValidation checks it, RequestFirewall compiles it.

/// <summary>
/// Request firewall rules, the role AWS WAF plays in front of API Gateway. Rules are defined here
/// once and act only where applied: <see cref="Gateway"/> for every request, or a route's
/// <c>firewall: [ruleId, ...]</c>. Default: no rules.
/// </summary>
public sealed class FirewallOptions
{
    /// <summary>Rule definitions, by priority: of the rules that apply to a request, the first listed is checked first. Default: none.</summary>
    public List<FirewallRuleOptions> Rules { get; set; } = [];

    /// <summary>Ids of rules checked for every request, before route match (so unknown paths too), ahead of the route's own. Default: none.</summary>
    public List<string> Gateway { get; set; } = [];

    /// <summary>Settings of the built-in rule sets (<c>sqli</c>, <c>xss</c>) that routes enable with <c>managedRules:</c>.</summary>
    public ManagedRulesOptions ManagedRules { get; set; } = new();

    /// <summary>Bytes at the start of the body that <c>body</c> conditions and the managed rules inspect (after gzip/deflate is undone); the rest is not read by the firewall. Default: 8192.</summary>
    public int BodyPrefixBytes { get; set; } = 8192;

    /// <summary>
    /// Longest one regular expression may run on one input. Patterns run on the linear-time
    /// (non-backtracking) engine, so this is a second guard; running out counts as a match. Default: 100ms.
    /// </summary>
    public TimeSpan RegexTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary><c>rateBlock</c> rules: client addresses tracked at once per rule; idle ones are dropped first, new clients beyond are not limited until room frees. Default: 100000.</summary>
    public int MaxTrackedClients { get; set; } = 100_000;
}

/// <summary>One rule: an action and conditions that must all hold (a rule without conditions matches every request).</summary>
public sealed class FirewallRuleOptions
{
    /// <summary>Name used by <c>firewall.gateway</c>, routes, the access log (<c>firewallRule</c>) and the metric. Required.</summary>
    public string Id { get; set; } = "";

    /// <summary>
    /// <c>block</c> (403 Forbidden), <c>count</c> (metric and log only, the request goes on) or
    /// <c>rateBlock</c> (403 once a client address matched more than <see cref="Limit"/> requests in
    /// <see cref="Window"/>). Required.
    /// </summary>
    public string Action { get; set; } = "";

    /// <summary>Client address (after trusted proxies) in one of these CIDR ranges. Default: any address.</summary>
    public List<string> SourceIp { get; set; } = [];

    /// <summary>Request method is one of these (upper case). Default: any method.</summary>
    public List<string> Method { get; set; } = [];

    /// <summary>Condition on the path (percent-decoded, query excluded). Default: none.</summary>
    public TextMatchOptions? Path { get; set; }

    /// <summary>Condition on the query string (without <c>?</c>, percent-decoded, <c>+</c> as space). Default: none.</summary>
    public TextMatchOptions? Query { get; set; }

    /// <summary>Condition on one request header (all its values, comma-joined); a missing header does not match. Default: none.</summary>
    public HeaderMatchOptions? Header { get; set; }

    /// <summary>Condition on the first <c>firewall.bodyPrefixBytes</c> of the body as UTF-8 text. Default: none.</summary>
    public TextMatchOptions? Body { get; set; }

    /// <summary><c>rateBlock</c>: requests a client may send in <see cref="Window"/>; more are refused. Required for rateBlock.</summary>
    public int? Limit { get; set; }

    /// <summary><c>rateBlock</c>: the sliding window, 1s to 1h. Default: 5m (as AWS WAF).</summary>
    public TimeSpan? Window { get; set; }
}

/// <summary>
/// A text condition: exactly one of <see cref="Exactly"/>, <see cref="Contains"/>,
/// <see cref="StartsWith"/>, <see cref="EndsWith"/> (literals, ordinal) or <see cref="Regex"/>.
/// </summary>
public class TextMatchOptions
{
    /// <summary>The whole text equals this.</summary>
    public string? Exactly { get; set; }

    /// <summary>The text contains this.</summary>
    public string? Contains { get; set; }

    /// <summary>The text starts with this.</summary>
    public string? StartsWith { get; set; }

    /// <summary>The text ends with this.</summary>
    public string? EndsWith { get; set; }

    /// <summary>.NET regular expression, compiled once at deploy for the linear-time engine (no backreferences, lookarounds or atomic groups).</summary>
    public string? Regex { get; set; }

    /// <summary>Compare without regard to case (ASCII and Unicode simple case folding). Default: false.</summary>
    public bool IgnoreCase { get; set; }
}

/// <summary>A text condition on the header <see cref="Name"/>.</summary>
public sealed class HeaderMatchOptions : TextMatchOptions
{
    /// <summary>Header name (any case). Required.</summary>
    public string Name { get; set; } = "";
}

/// <summary>The built-in rule sets: <c>sqli</c> (SQL-injection probes) and <c>xss</c> (script injection), in path, query and body prefix.</summary>
public sealed class ManagedRulesOptions
{
    /// <summary><c>block</c> (default) or <c>count</c> (to watch for false positives before blocking).</summary>
    public string Action { get; set; } = "block";
}
