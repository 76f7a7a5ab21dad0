using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Security;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Tests.Security;

public class ClientAddressResolverTests
{
    private static ClientAddressResolver Resolver(string trusted) =>
        ClientAddressResolver.Compile(ConfigLoader.Load($"trustedProxies: {trusted}"));

    private static string? Resolve(ClientAddressResolver resolver, string peer, params (string Name, string Value)[] headers)
    {
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        foreach (var (name, value) in headers)
        {
            context.Request.Headers.Append(name, value);
        }
        return resolver.Resolve(context)?.ToString();
    }

    [Fact]
    public void Without_trusted_proxies_the_socket_peer_is_the_client()
    {
        var resolver = Resolver("[]");

        Assert.Same(ClientAddressResolver.SocketPeer, resolver);
        Assert.Equal("192.0.2.10", Resolve(resolver, "192.0.2.10", ("X-Forwarded-For", "203.0.113.7")));
        Assert.Equal("192.0.2.10", Resolve(resolver, "::ffff:192.0.2.10"));
    }

    [Fact]
    public void Forwarded_for_from_an_untrusted_peer_is_ignored()
    {
        var resolver = Resolver("[10.0.0.0/8]");

        Assert.Equal("192.0.2.10", Resolve(resolver, "192.0.2.10", ("X-Forwarded-For", "203.0.113.7")));
    }

    [Fact]
    public void Walks_from_the_right_skipping_trusted_proxies()
    {
        var resolver = Resolver("[10.0.0.0/8, \"2001:db8::/32\"]");

        Assert.Equal("203.0.113.7", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "203.0.113.7")));
        // The client wrote 1.1.1.1 itself; our proxies appended 203.0.113.7 and 10.0.0.2.
        Assert.Equal("203.0.113.7", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "1.1.1.1, 203.0.113.7, 10.0.0.2")));
        Assert.Equal("203.0.113.7", Resolve(resolver, "::ffff:10.0.0.1", ("X-Forwarded-For", "1.1.1.1"), ("X-Forwarded-For", "203.0.113.7,2001:db8::5")));
        Assert.Equal("2001:db8:ffff::1", Resolve(resolver, "2001:db8::1", ("X-Forwarded-For", "2001:db8:ffff::1")));
        Assert.Equal("198.51.100.4", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "198.51.100.4:5123, [2001:db8::9]:443")));
        // Every hop trusted: the left-most is the nearest to the client we know of.
        Assert.Equal("10.0.0.3", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "10.0.0.3, 10.0.0.2")));
    }

    [Fact]
    public void Garbage_stops_the_walk_at_the_nearest_trusted_hop()
    {
        var resolver = Resolver("[10.0.0.0/8]");

        Assert.Equal("10.0.0.2", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "203.0.113.7, unknown, 10.0.0.2")));
        Assert.Equal("10.0.0.1", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "not-an-ip")));
        Assert.Equal("10.0.0.1", Resolve(resolver, "10.0.0.1", ("X-Forwarded-For", "7")));
        Assert.Equal("10.0.0.1", Resolve(resolver, "10.0.0.1"));
    }

    [Fact]
    public void Reads_rfc7239_forwarded_when_there_is_no_x_forwarded_for()
    {
        var resolver = Resolver("[10.0.0.0/8]");

        Assert.Equal("192.0.2.60", Resolve(resolver, "10.0.0.1", ("Forwarded", "for=198.51.100.1, for=192.0.2.60;proto=https;by=10.0.0.1")));
        Assert.Equal("2001:db8:cafe::17", Resolve(resolver, "10.0.0.1", ("Forwarded", "proto=http;For=\"[2001:db8:cafe::17]:4711\"")));
        Assert.Equal("192.0.2.60", Resolve(resolver, "10.0.0.1", ("Forwarded", "for=192.0.2.60, for=10.0.0.9")));
        Assert.Equal("10.0.0.1", Resolve(resolver, "10.0.0.1", ("Forwarded", "for=_hidden")));
        // X-Forwarded-For wins when both are sent.
        Assert.Equal("203.0.113.7", Resolve(resolver, "10.0.0.1", ("Forwarded", "for=192.0.2.60"), ("X-Forwarded-For", "203.0.113.7")));
    }
}
