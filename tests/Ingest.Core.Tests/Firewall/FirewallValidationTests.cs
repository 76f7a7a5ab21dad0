using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;

namespace Ingest.Core.Tests.Firewall;

public class FirewallValidationTests
{
    [Fact]
    public void Every_bad_rule_and_reference_is_reported_at_once_with_the_fix()
    {
        var config = ConfigLoader.Load("""
            firewall:
              bodyPrefixBytes: 0
              regexTimeout: 0s
              managedRules: { action: rateBlock }
              gateway: [nope]
              rules:
                - { action: block, path: { contains: /x } }
                - { id: dup, action: deny }
                - { id: dup, action: block, path: { regex: "(a)\\1" } }
                - { id: rate, action: rateBlock }
                - { id: counted, action: count, limit: 5 }
                - { id: many, action: block, path: { contains: a, startsWith: b }, query: { } }
                - { id: bad-header, action: block, header: { name: "x y", exactly: "1" }, sourceIp: [10.0.0.1/8], method: [FETCH] }
                - { id: "spaces here", action: block, body: { regex: "([" } }
                - { id: slow, action: rateBlock, limit: 10, window: 2h }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: none, public: true, firewall: [rate, missing], managedRules: [sqli, rce] }
            """);

        var errors = ConfigValidator.Validate(config, new Dictionary<string, ITargetKind>());

        string[] expected =
        [
            "firewall.bodyPrefixBytes: 0 is outside 1..65536",
            "firewall.regexTimeout: must be above zero",
            "firewall.managedRules.action: 'rateBlock' must be block or count",
            "firewall.rules[0].id: missing. Name the rule",
            "firewall.rules[1] (dup).action: 'deny' is not an action. Use block, count, rateBlock",
            "firewall.rules[2] (dup).id: 'dup' is defined twice",
            "firewall.rules[2] (dup).path: regex '(a)\\1' cannot run on the linear-time engine",
            "firewall.rules[3] (rate).limit: rateBlock needs the requests a client may send per window",
            "firewall.rules[4] (counted): limit and window apply to action rateBlock only",
            "firewall.rules[5] (many).path: set only one of exactly, contains, startsWith, endsWith or regex",
            "firewall.rules[5] (many).query: set one of exactly, contains, startsWith, endsWith or regex",
            "firewall.rules[6] (bad-header).sourceIp[0]: '10.0.0.1/8' has bits set past the /8 prefix",
            "firewall.rules[6] (bad-header).method: 'FETCH' must be one of",
            "firewall.rules[6] (bad-header).header.name: 'x y' is not a header name",
            "firewall.rules[7] (spaces here).id: use letters, digits",
            "firewall.rules[7] (spaces here).body: regex '([' is not a valid .NET regular expression",
            "firewall.rules[8] (slow).window: 120m is outside 1s..1h",
            "firewall.gateway: 'nope' is not a rule under firewall.rules",
            "routes[0] (POST /a).firewall: 'missing' is not a rule under firewall.rules",
            "routes[0] (POST /a).managedRules: 'rce' is not a built-in rule set. Use sqli or xss",
        ];
        var firewallErrors = errors.Where(e => e.StartsWith("firewall", StringComparison.Ordinal) || e.Contains(".firewall", StringComparison.Ordinal) || e.Contains(".managedRules", StringComparison.Ordinal)).ToList();
        Assert.Equal(expected.Length, firewallErrors.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], firewallErrors[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unknown_keys_in_a_rule_are_refused_by_the_loader()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("""
            firewall:
              rules:
                - { id: a, action: block, uri: { contains: x } }
            """));

        Assert.Contains(error.Errors, e => e.StartsWith("firewall.rules[0].uri", StringComparison.Ordinal) && e.Contains("Known keys here: id, action, sourceIp", StringComparison.Ordinal));
    }
}
