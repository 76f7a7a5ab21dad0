using System.Net;
using Ingest.Core.Security;

namespace Ingest.Core.Tests.Security;

public class CidrListTests
{
    [Theory]
    [InlineData("10.0.0.0/8", "10.255.1.2", true)]
    [InlineData("10.0.0.0/8", "11.0.0.1", false)]
    [InlineData("192.0.2.7", "192.0.2.7", true)]
    [InlineData("192.0.2.7", "192.0.2.8", false)]
    [InlineData("0.0.0.0/0", "203.0.113.9", true)]
    [InlineData("2001:db8::/32", "2001:db8:1::5", true)]
    [InlineData("2001:db8::/32", "2001:db9::5", false)]
    [InlineData("::/0", "fe80::1", true)]
    [InlineData("::1", "::1", true)]
    // IPv4-mapped IPv6 clients (dual-stack listeners) are judged as IPv4, both ways round.
    [InlineData("10.0.0.0/8", "::ffff:10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "10.1.2.3", true)]
    [InlineData("::ffff:10.0.0.0/104", "::ffff:10.1.2.3", true)]
    [InlineData("::/0", "::ffff:10.1.2.3", false)]
    [InlineData("0.0.0.0/0", "2001:db8::1", false)]
    public void Matches_ranges_of_both_families(string range, string address, bool expected) =>
        Assert.Equal(expected, CidrList.Compile([range]).Contains(IPAddress.Parse(address)));

    [Fact]
    public void Index_names_the_first_matching_rule()
    {
        var list = CidrList.Compile(["192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8", "10.1.0.0/16"]);

        Assert.Equal(2, list.IndexOf(IPAddress.Parse("10.1.2.3")));
        Assert.Equal(1, list.IndexOf(IPAddress.Parse("2001:db8::9")));
        Assert.Equal(-1, list.IndexOf(IPAddress.Parse("198.51.100.1")));
        Assert.Equal("10.0.0.0/8", list.Rules[2]);
    }

    [Theory]
    [InlineData("10.0.0.1/8", "has bits set past the /8 prefix. Write 10.0.0.0/8 (the range), or 10.0.0.1/32")]
    [InlineData("10.0.0.0/33", "prefix length must be a number from 0 to 32")]
    [InlineData("2001:db8::/129", "prefix length must be a number from 0 to 128")]
    [InlineData("10.0.0.0/-1", "prefix length")]
    [InlineData("10.0.0/8", "is not an IP address or CIDR range")]
    [InlineData("10", "is not an IP address or CIDR range")]
    [InlineData("example.com", "is not an IP address or CIDR range")]
    [InlineData("1.2.3.4:80", "is not an IP address or CIDR range")]
    [InlineData("", "is not an IP address or CIDR range")]
    public void Bad_ranges_are_explained(string range, string message)
    {
        Assert.False(CidrList.TryParse(range, out _, out _, out var error));
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Matching_allocates_nothing()
    {
        var list = CidrList.Compile(["192.0.2.0/24", "2001:db8::/32", "10.0.0.0/8"]);
        var v4 = IPAddress.Parse("10.9.9.9");
        var v6 = IPAddress.Parse("2001:db8::1");
        var mapped = IPAddress.Parse("::ffff:10.9.9.9");
        list.Contains(v4);
        list.Contains(v6);
        list.Contains(mapped);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            list.Contains(v4);
            list.Contains(v6);
            list.Contains(mapped);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
