using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Security;

namespace Ingest.Core.Tests.Security;

public class ResourcePolicyTests
{
    private const string RouteKey = "POST /v1/events";

    private static ResourcePolicy Policy(string gateway, string route = "")
    {
        var config = ConfigLoader.Load($$"""
            {{gateway}}
            targets: { sink: { type: blackhole } }
            routes:
              - { route: GET /other, target: sink, auth: none, public: true }
              - { route: {{RouteKey}}, target: sink, auth: none, public: true {{route}} }
            """);
        return ResourcePolicy.Compile(config, config.Routes[1]);
    }

    private static string? Rule(ResourcePolicy policy, string client)
    {
        var rejection = policy.Check(IPAddress.Parse(client), RouteKey, out var rule);
        Assert.Equal(rejection is null, rule is null);
        if (rejection is not null)
        {
            Assert.Equal(403, rejection.Status);
            Assert.Equal($"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {RouteKey} with an explicit deny", rejection.Message);
        }
        return rule;
    }

    [Fact]
    public void No_lists_allow_everyone()
    {
        var policy = Policy("");

        Assert.Same(ResourcePolicy.AllowAll, policy);
        Assert.Null(policy.Check(IPAddress.Parse("203.0.113.1"), RouteKey));
        Assert.Null(policy.Check(null, RouteKey));
    }

    [Fact]
    public void Deny_wins_over_allow_at_either_level()
    {
        var policy = Policy(
            "resourcePolicy: { allow: [0.0.0.0/0, \"::/0\"], deny: [203.0.113.0/24] }",
            ", resourcePolicy: { allow: [10.0.0.0/8, 203.0.113.0/24, \"2001:db8::/32\"], deny: [10.9.0.0/16] }");

        Assert.Null(Rule(policy, "10.1.2.3"));
        Assert.Null(Rule(policy, "2001:db8::1"));
        Assert.Equal("resourcePolicy.deny[0] 203.0.113.0/24", Rule(policy, "203.0.113.5"));
        Assert.Equal("routes[1].resourcePolicy.deny[0] 10.9.0.0/16", Rule(policy, "10.9.0.1"));
        Assert.Equal("routes[1].resourcePolicy.allow (no range matched)", Rule(policy, "192.0.2.1"));
        Assert.Equal("routes[1].resourcePolicy.deny[0] 10.9.0.0/16", Rule(policy, "::ffff:10.9.0.1"));
    }

    [Fact]
    public void The_gateway_allow_list_applies_to_every_route()
    {
        var policy = Policy("resourcePolicy: { allow: [127.0.0.0/8] }");

        Assert.Null(Rule(policy, "127.0.0.1"));
        Assert.Equal("resourcePolicy.allow (no range matched)", Rule(policy, "192.0.2.1"));
        Assert.NotNull(policy.Check(null, RouteKey));
    }

    [Fact]
    public void Only_deny_lists_let_unknown_clients_in()
    {
        var policy = Policy("resourcePolicy: { deny: [192.0.2.0/24] }");

        Assert.Null(policy.Check(null, RouteKey));
        Assert.Null(Rule(policy, "198.51.100.1"));
    }

    [Fact]
    public void Checking_allocates_nothing()
    {
        var policy = Policy("resourcePolicy: { allow: [10.0.0.0/8], deny: [10.9.0.0/16] }");
        var allowed = IPAddress.Parse("10.1.1.1");
        var denied = IPAddress.Parse("10.9.1.1");
        policy.Check(allowed, RouteKey);
        policy.Check(denied, RouteKey);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            policy.Check(allowed, RouteKey);
            policy.Check(denied, RouteKey);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
