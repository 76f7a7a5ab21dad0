using Ingest.Core.Configuration;
using Ingest.Core.Security;

namespace Ingest.Core.Firewall;

/// <summary>Validation of <c>firewall:</c> and the routes' <c>firewall</c> / <c>managedRules</c> keys: every problem at once, each naming the rule or route and the fix.</summary>
public static class FirewallValidation
{
    /// <summary>Window of a rateBlock rule without one (AWS WAF's default evaluation window).</summary>
    public static readonly TimeSpan DefaultWindow = TimeSpan.FromMinutes(5);

    /// <summary>Largest <c>bodyPrefixBytes</c>: what AWS WAF inspects at most.</summary>
    public const int MaxBodyPrefixBytes = 65536;

    private static readonly string[] Actions = ["block", "count", "rateBlock"];

    public static FirewallAction? ParseAction(string action) => action switch
    {
        "block" => FirewallAction.Block,
        "count" => FirewallAction.Count,
        "rateBlock" => FirewallAction.RateBlock,
        _ => null,
    };

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        var firewall = config.Firewall;
        if (firewall.BodyPrefixBytes is < 1 or > MaxBodyPrefixBytes)
        {
            errors.Add($"firewall.bodyPrefixBytes: {firewall.BodyPrefixBytes} is outside 1..{MaxBodyPrefixBytes}; 8192 is the default.");
        }
        if (firewall.RegexTimeout <= TimeSpan.Zero || firewall.RegexTimeout > TimeSpan.FromSeconds(10))
        {
            errors.Add("firewall.regexTimeout: must be above zero and at most 10s, e.g. 100ms.");
        }
        if (firewall.MaxTrackedClients < 1)
        {
            errors.Add("firewall.maxTrackedClients: must be at least 1, e.g. 100000.");
        }
        if (ParseAction(firewall.ManagedRules.Action) is not (FirewallAction.Block or FirewallAction.Count))
        {
            errors.Add($"firewall.managedRules.action: '{firewall.ManagedRules.Action}' must be block or count.");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < firewall.Rules.Count; i++)
        {
            ValidateRule(i, firewall.Rules[i], ids, errors);
        }
        References("firewall.gateway", firewall.Gateway, ids, errors);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var where = $"routes[{i}] ({route.Route})";
            References($"{where}.firewall", route.Firewall ?? [], ids, errors);
            foreach (var set in route.ManagedRules ?? [])
            {
                if (!ManagedRuleSets.Names.Contains(set, StringComparer.Ordinal))
                {
                    errors.Add($"{where}.managedRules: '{set}' is not a built-in rule set. Use {string.Join(" or ", ManagedRuleSets.Names)}.");
                }
            }
        }
    }

    private static void ValidateRule(int index, FirewallRuleOptions rule, HashSet<string> ids, ICollection<string> errors)
    {
        var where = string.IsNullOrEmpty(rule.Id) ? $"firewall.rules[{index}]" : $"firewall.rules[{index}] ({rule.Id})";
        if (string.IsNullOrWhiteSpace(rule.Id))
        {
            errors.Add($"{where}.id: missing. Name the rule, e.g. block-scanners; routes, the access log and the metric use it.");
        }
        else if (rule.Id.Any(c => !char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.')))
        {
            errors.Add($"{where}.id: use letters, digits, '-', '_' and '.' only.");
        }
        else if (!ids.Add(rule.Id))
        {
            errors.Add($"{where}.id: '{rule.Id}' is defined twice. Rename one of them.");
        }

        var action = ParseAction(rule.Action);
        if (action is null)
        {
            errors.Add(string.IsNullOrEmpty(rule.Action)
                ? $"{where}.action: missing. Set block, count or rateBlock."
                : $"{where}.action: '{rule.Action}' is not an action. Use {string.Join(", ", Actions)}.");
        }
        if (action == FirewallAction.RateBlock)
        {
            if (rule.Limit is not > 0)
            {
                errors.Add($"{where}.limit: rateBlock needs the requests a client may send per window, at least 1, e.g. limit: 100.");
            }
            if (rule.Window is { } window && (window < TimeSpan.FromSeconds(1) || window > TimeSpan.FromHours(1)))
            {
                errors.Add($"{where}.window: {Durations.Format(window)} is outside 1s..1h.");
            }
        }
        else if (action is not null && (rule.Limit is not null || rule.Window is not null))
        {
            errors.Add($"{where}: limit and window apply to action rateBlock only. Remove them, or set action: rateBlock.");
        }

        for (var i = 0; i < rule.SourceIp.Count; i++)
        {
            if (!CidrList.TryParse(rule.SourceIp[i], out _, out _, out var error))
            {
                errors.Add($"{where}.sourceIp[{i}]: {error}.");
            }
        }
        foreach (var method in rule.Method)
        {
            if (!ConfigValidator.Methods.Contains(method, StringComparer.Ordinal) || method == "ANY")
            {
                errors.Add($"{where}.method: '{method}' must be one of {string.Join(", ", ConfigValidator.Methods.Where(m => m != "ANY"))} (upper case).");
            }
        }
        Text($"{where}.path", rule.Path, errors);
        Text($"{where}.query", rule.Query, errors);
        Text($"{where}.body", rule.Body, errors);
        if (rule.Header is { } header)
        {
            if (string.IsNullOrWhiteSpace(header.Name) || header.Name.Any(c => c <= ' ' || c == ':' || c > '~'))
            {
                errors.Add($"{where}.header.name: '{header.Name}' is not a header name. Write e.g. user-agent.");
            }
            Text($"{where}.header", header, errors);
        }
    }

    private static void Text(string where, TextMatchOptions? condition, ICollection<string> errors)
    {
        if (condition is not null && TextMatcher.Problem(condition) is { } problem)
        {
            errors.Add($"{where}: {problem}.");
        }
    }

    private static void References(string where, List<string> references, HashSet<string> ids, ICollection<string> errors)
    {
        foreach (var id in references)
        {
            if (!ids.Contains(id))
            {
                errors.Add($"{where}: '{id}' is not a rule under firewall.rules. Define it there or remove it from the list.");
            }
        }
    }
}
