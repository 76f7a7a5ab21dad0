using System.Net;
using Ingest.Core.Throttling;

namespace Ingest.Core.Tests.Throttling;

/// <summary>Per-client tables stay bounded: idle buckets are dropped, overflowing clients share one.</summary>
public class ClientBucketTableTests
{
    [Fact]
    public void Full_table_drops_idle_buckets_and_busy_overflow_shares_one_bucket()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile("""
            routes:
              - { route: POST /a, target: sink, throttle: { rate: 1, burst: 1, by: sourceIp, maxKeys: 2 } }
            """);
        var table = kit.Store.AddressTable("route:POST /a#sourceIp", 2);

        policy.AllowsExactly(ThrottleTestKit.Request(ip: "10.0.0.1"), 1);
        policy.AllowsExactly(ThrottleTestKit.Request(ip: "10.0.0.2"), 1);
        Assert.Equal(2, table.Count);

        // Both known clients are busy: new ones share the overflow bucket.
        policy.Allowed(ThrottleTestKit.Request(ip: "10.0.0.3"));
        policy.Refused(ThrottleTestKit.Request(ip: "10.0.0.4"));
        Assert.Equal(2, table.Count);

        // Once the known ones are idle (full again), a new client gets a bucket of its own.
        kit.Advance(1);
        policy.AllowsExactly(ThrottleTestKit.Request(ip: "10.0.0.5"), 1);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Periodic_sweep_forgets_idle_clients_without_changing_any_answer()
    {
        using var kit = new ThrottleTestKit();
        var policy = kit.Compile("""
            routes:
              - { route: POST /a, target: sink, throttle: { rate: 1, burst: 2, by: apiKey } }
            """);
        var table = kit.Store.TextTable("route:POST /a#apiKey", 100_000);
        for (var i = 0; i < 1000; i++)
        {
            policy.Allowed(ThrottleTestKit.Request($"key-{i}"));
        }
        policy.Allowed(ThrottleTestKit.Request("busy"));
        policy.Allowed(ThrottleTestKit.Request("busy"));
        Assert.Equal(1001, table.Count);

        kit.Advance(ThrottleStore.SweepInterval.TotalSeconds - 0.5); // the others are full again; "busy" too
        policy.Allowed(ThrottleTestKit.Request("busy"));              // "busy" is not idle
        kit.Advance(0.5);                                             // the sweep timer fires

        Assert.Equal(1, table.Count);
        policy.AllowsExactly(ThrottleTestKit.Request("busy"), 1);
        policy.AllowsExactly(ThrottleTestKit.Request("key-1"), 2);
    }

    [Fact]
    public void Lookup_of_known_keys_and_the_take_allocate_nothing()
    {
        using var kit = new ThrottleTestKit();
        var config = ThrottleTestKit.Load("""
            throttle: { rate: 1000000000, burst: 1000000000 }
            apiKeys: [{ id: fleet-a, sha256: aa }]
            usagePlans: [{ name: p, keys: [fleet-a], throttle: { rate: 1000000000, burst: 1000000000 }, quota: { limit: 1000000000, period: day } }]
            routes:
              - { route: POST /ip, target: sink, throttle: { rate: 1000000000, burst: 1000000000, by: sourceIp } }
              - { route: POST /key, target: sink, throttle: { rate: 1000000000, burst: 1000000000, by: apiKey } }
              - { route: POST /header, target: sink, throttle: { rate: 1000000000, burst: 1000000000, by: 'header:x-device' } }
            """);
        var policies = Enumerable.Range(0, 3).Select(i => kit.Compile(config, i)).ToArray();
        var request = ThrottleTestKit.Request("fleet-a", "2001:db8::1", ("x-device", new string('d', 100)));
        foreach (var policy in policies)
        {
            policy.Allowed(request); // first use adds the keys
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            foreach (var policy in policies)
            {
                if (policy.Check(request) is not null)
                {
                    Assert.Fail("refused");
                }
            }
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Address_keys_group_ipv6_by_64_and_keep_ipv4_whole()
    {
        Assert.Equal(ClientAddressKey.From(IPAddress.Parse("2001:db8:a:b::1")), ClientAddressKey.From(IPAddress.Parse("2001:db8:a:b:1:2:3:4")));
        Assert.NotEqual(ClientAddressKey.From(IPAddress.Parse("2001:db8:a:b::1")), ClientAddressKey.From(IPAddress.Parse("2001:db8:a:c::1")));
        Assert.Equal(ClientAddressKey.From(IPAddress.Parse("192.0.2.1")), ClientAddressKey.From(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.NotEqual(ClientAddressKey.From(IPAddress.Parse("192.0.2.1")), ClientAddressKey.From(IPAddress.Parse("192.0.2.2")));
        Assert.Equal("192.0.2.1", ClientAddressKey.From(IPAddress.Parse("192.0.2.1")).ToString());
        Assert.Equal("2001:db8:a:b::/64", ClientAddressKey.From(IPAddress.Parse("2001:db8:a:b::1")).ToString());
    }
}
