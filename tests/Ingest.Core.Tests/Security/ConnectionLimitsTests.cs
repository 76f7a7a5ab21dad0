using Ingest.Core.Configuration;
using Ingest.Core.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ingest.Core.Tests.Security;

public class ConnectionLimitsTests
{
    [Fact]
    public void Defaults_are_the_documented_ones()
    {
        var kestrel = new KestrelServerOptions().Limits;

        ConnectionLimits.Apply(kestrel, new LimitsOptions());

        Assert.Equal(100, kestrel.MaxRequestHeaderCount);
        Assert.Equal(32 * 1024, kestrel.MaxRequestHeadersTotalSize);
        Assert.Equal(8 * 1024, kestrel.MaxRequestLineSize);
        // Kestrel pads its timeouts by one 1 s heartbeat; the gateway hands it one second less.
        Assert.Equal(TimeSpan.FromSeconds(9), kestrel.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(130), kestrel.KeepAliveTimeout);
        Assert.Equal(240, kestrel.MinRequestBodyDataRate!.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(5), kestrel.MinRequestBodyDataRate.GracePeriod);
        Assert.Equal(240, kestrel.MinResponseDataRate!.BytesPerSecond);
        Assert.Null(kestrel.MaxConcurrentConnections);
    }

    [Fact]
    public void Configured_values_reach_kestrel_and_zero_rates_turn_the_check_off()
    {
        var config = ConfigLoader.Load("""
            limits: { maxRequestHeaderCount: 20, maxRequestHeadersTotalSize: 4096, maxRequestLineSize: 1024, requestHeadersTimeout: 2s, keepAliveTimeout: 30s, minRequestBodyDataRate: 0, minResponseDataRate: 0, maxConcurrentConnections: 5000 }
            """);
        var kestrel = new KestrelServerOptions().Limits;

        ConnectionLimits.Apply(kestrel, config.Limits);

        Assert.Equal(20, kestrel.MaxRequestHeaderCount);
        Assert.Equal(4096, kestrel.MaxRequestHeadersTotalSize);
        Assert.Equal(4096, kestrel.Http2.MaxRequestHeaderFieldSize);
        Assert.Equal(1024, kestrel.MaxRequestLineSize);
        Assert.Equal(TimeSpan.FromSeconds(1), kestrel.RequestHeadersTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), kestrel.KeepAliveTimeout);
        Assert.Null(kestrel.MinRequestBodyDataRate);
        Assert.Null(kestrel.MinResponseDataRate);
        Assert.Equal(5000, kestrel.MaxConcurrentConnections);
    }

    [Theory]
    [InlineData("1500ms", 1500)]
    [InlineData("2s", 1000)]
    [InlineData("30s", 29000)]
    public void Header_timeout_is_shortened_by_the_heartbeat_padding_only_when_it_can_be(string configured, int kestrelMilliseconds)
    {
        var config = ConfigLoader.Load($"limits: {{ requestHeadersTimeout: {configured} }}");
        var kestrel = new KestrelServerOptions().Limits;

        ConnectionLimits.Apply(kestrel, config.Limits);

        Assert.Equal(TimeSpan.FromMilliseconds(kestrelMilliseconds), kestrel.RequestHeadersTimeout);
    }
}
