using Ingest.Core.Firewall;
using static Ingest.Core.Tests.Firewall.FirewallTestKit;

namespace Ingest.Core.Tests.Firewall;

/// <summary>rateBlock on a fake clock: counted per client address over a sliding window.</summary>
public class RateBlockTests
{
    private static string Yaml(int maxTrackedClients = 100_000) => $$"""
        firewall:
          maxTrackedClients: {{maxTrackedClients}}
          rules:
            - { id: login-flood, action: rateBlock, limit: 3, window: 10s, path: { startsWith: /v1/login } }
        targets: { sink: { type: blackhole } }
        routes:
          - { route: POST /v1/login, target: sink, auth: none, public: true, firewall: [login-flood] }
        """;

    [Fact]
    public async Task A_client_over_the_limit_is_blocked_others_are_not()
    {
        using var kit = new FirewallTestKit(Yaml());
        var login = kit.Route(0);

        var first = new List<bool>();
        for (var i = 0; i < 4; i++)
        {
            first.Add((await InspectAsync(login, Request("POST", "/v1/login", "{}", "203.0.113.5"))).Blocked);
        }
        var neighbour = await InspectAsync(login, Request("POST", "/v1/login", "{}", "203.0.113.6"));

        Assert.Equal([false, false, false, true], first);
        Assert.Equal(default, neighbour);
        Assert.Equal(1, kit.Meters.Sum("ingest_firewall_matches"));
    }

    [Fact]
    public async Task The_window_slides_blocked_requests_count_too()
    {
        using var kit = new FirewallTestKit(Yaml());
        var login = kit.Route(0);
        async Task<bool> Blocked() => (await InspectAsync(login, Request("POST", "/v1/login", "{}", "203.0.113.5"))).Blocked;

        for (var i = 0; i < 5; i++)
        {
            await Blocked();  // 3 pass, 2 blocked: 5 counted in the window starting at 0 s.
        }
        kit.Time.Advance(TimeSpan.FromSeconds(12));
        // 12 s: the previous window (5) still overlaps 80%: 4 + 1 > 3.
        var at12 = await Blocked();
        kit.Time.Advance(TimeSpan.FromSeconds(6));
        // 18 s: overlap 20%: 5 * 0.2 + 2 = 3, at the limit.
        var at18 = await Blocked();
        kit.Time.Advance(TimeSpan.FromSeconds(12));
        // 30 s: two windows later, forgiven.
        var at30 = await Blocked();

        Assert.True(at12);
        Assert.False(at18);
        Assert.False(at30);
    }

    [Fact]
    public async Task Requests_the_conditions_do_not_match_are_not_counted()
    {
        using var kit = new FirewallTestKit(Yaml());
        var login = kit.Route(0);

        for (var i = 0; i < 10; i++)
        {
            Assert.False((await InspectAsync(login, Request("POST", "/v1/other", "{}", "203.0.113.5"))).Blocked);
        }
        Assert.False((await InspectAsync(login, Request("POST", "/v1/login", "{}", "203.0.113.5"))).Blocked);
    }

    [Fact]
    public async Task The_address_table_is_bounded_idle_clients_make_room()
    {
        using var kit = new FirewallTestKit(Yaml(maxTrackedClients: 2));
        var login = kit.Route(0);
        async Task<bool> Blocked(string client) => (await InspectAsync(login, Request("POST", "/v1/login", "{}", client))).Blocked;

        await Blocked("198.51.100.1");
        await Blocked("198.51.100.2");
        var untracked = new List<bool>();
        for (var i = 0; i < 6; i++)
        {
            untracked.Add(await Blocked("198.51.100.3"));
        }
        kit.Time.Advance(TimeSpan.FromSeconds(30));
        var tracked = new List<bool>();
        for (var i = 0; i < 4; i++)
        {
            tracked.Add(await Blocked("198.51.100.3"));
        }

        // A full table does not grow: the third client is not counted (fails open) until the
        // first two have been idle for two windows and are dropped.
        Assert.All(untracked, Assert.False);
        Assert.Equal([false, false, false, true], tracked);
    }

    [Fact]
    public async Task Counts_survive_a_redeployment_of_the_same_rule()
    {
        using var kit = new FirewallTestKit(Yaml());
        for (var i = 0; i < 3; i++)
        {
            await InspectAsync(kit.Route(0), Request("POST", "/v1/login", "{}", "203.0.113.5"));
        }

        // Same store, a new configuration object (as a deploy makes).
        var redeployed = RequestFirewall.Compile(Ingest.Core.Configuration.ConfigLoader.Load(Yaml()), Ingest.Core.Configuration.ConfigLoader.Load(Yaml()).Routes[0], kit.Services);

        Assert.True((await InspectAsync(redeployed, Request("POST", "/v1/login", "{}", "203.0.113.5"))).Blocked);
    }
}
