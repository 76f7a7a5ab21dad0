using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Security;

/// <summary>The limits: section reaches Kestrel: header count and size (431), request line (414).</summary>
public class HeaderLimitsTests
{
    private const string Config = """
        limits: { maxRequestHeaderCount: 10, maxRequestHeadersTotalSize: 2048, maxRequestLineSize: 512 }
        targets: { sink: { type: blackhole } }
        routes:
          - { route: "POST /v1/{proxy+}", target: sink, auth: none, public: true }
        """;

    private static string[] Headers(int count, int valueLength = 4) =>
        Enumerable.Range(0, count).Select(i => $"x-h{i}: {new string('v', valueLength)}").ToArray();

    [Fact]
    public async Task Within_the_limits_the_request_is_served()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        // Host, Content-Type, Content-Length, Connection + 6 = 10 headers.
        var (status, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/" + new string('a', 400), "{}", Headers(6)));

        Assert.Equal(202, status);
    }

    [Fact]
    public async Task Too_many_headers_get_431()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var (status, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/events", "{}", Headers(7)));

        Assert.Equal(431, status);
    }

    [Fact]
    public async Task Headers_over_the_total_size_get_431()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var (status, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/events", "{}", Headers(2, 1200)));

        Assert.Equal(431, status);
    }

    [Fact]
    public async Task A_request_line_over_the_limit_gets_414()
    {
        await using var gateway = await TestGateway.StartAsync(Config);

        var (status, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/" + new string('a', 600), "{}"));

        Assert.Equal(414, status);
    }

    [Fact]
    public async Task Defaults_take_a_hundred_headers_but_not_more()
    {
        await using var gateway = await TestGateway.StartAsync("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);

        var (hundred, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/events", "{}", Headers(96)));
        var (more, _, _) = await RawHttp.SendAsync(gateway, RawHttp.Post("/v1/events", "{}", Headers(97)));

        Assert.Equal(202, hundred);
        Assert.Equal(431, more);
    }
}
