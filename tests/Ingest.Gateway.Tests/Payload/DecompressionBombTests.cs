using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Ingest.Gateway.Tests.SlowClients;
using Xunit.Abstractions;

namespace Ingest.Gateway.Tests.Payload;

/// <summary>
/// Bodies that inflate to 1 GiB get 413 after at most cap + 1 inflated bytes, and the gateway's
/// memory barely moves. The gateway runs in this process, so the process RSS is the gateway's.
/// </summary>
[Collection(FrontDoorMeasurements.Name)]
public class DecompressionBombTests(ITestOutputHelper output)
{
    private const long MaxRssGrowthBytes = 10 * 1024 * 1024;

    [Fact]
    public async Task Brotli_bomb_of_809_bytes_is_refused_with_415_before_decoding()
    {
        await using var gateway = await TestGateway.StartAsync("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);
        var content = new ByteArrayContent(Bombs.Brotli1GiB);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("br");

        var response = await gateway.Client.PostAsync("/v1/events", content);

        // br is not decoded at all: its decoder fills up to 16 MiB before the cap can act.
        await StatusCodeTests.AssertError(response, 415, "Unsupported Media Type");
    }

    [Fact]
    public async Task Gzip_bomb_of_one_megabyte_gets_413_without_growing_memory()
    {
        await using var gateway = await TestGateway.StartAsync("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, maxBodyBytes: 2097152, maxInflatedBytes: 262144 }
            """);
        var bomb = Bombs.Gzip1GiB();

        var (growth, status) = await MeasureAsync(gateway, bomb, "gzip", 5);

        output.WriteLine($"gzip bomb: {bomb.Length} bytes on the wire -> 1 GiB; maxInflatedBytes 262144; RSS growth over 5 requests: {growth / 1024.0:F0} KiB");
        Assert.Equal(413, status);
        Assert.True(growth < MaxRssGrowthBytes, $"RSS grew {growth} bytes");
        var log = JsonDocument.Parse((await gateway.AccessLogLinesAsync(6))[^1]).RootElement;
        Assert.Equal(413, log.GetProperty("status").GetInt32());
    }

    /// <summary>Peak RSS (sampled every few ms) during <paramref name="requests"/> bombs, minus RSS before.</summary>
    private static async Task<(long Growth, int Status)> MeasureAsync(TestGateway gateway, byte[] bomb, string encoding, int requests)
    {
        // Warm up: JIT, pools, connection.
        var status = await PostAsync(gateway, bomb, encoding);
        Assert.Equal(413, status);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        var before = Rss();
        var peak = before;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Math.Max(peak, Rss());
                await Task.Delay(2);
            }
        });
        for (var i = 0; i < requests; i++)
        {
            status = await PostAsync(gateway, bomb, encoding);
            if (status != 413)
            {
                break;
            }
        }
        await stop.CancelAsync();
        await sampler;
        peak = Math.Max(peak, Rss());
        return (peak - before, status);
    }

    private static async Task<int> PostAsync(TestGateway gateway, byte[] bomb, string encoding)
    {
        var content = new ByteArrayContent(bomb);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add(encoding);
        using var response = await gateway.Client.PostAsync("/v1/events", content);
        if ((int)response.StatusCode == 413)
        {
            await StatusCodeTests.AssertError(response, 413, "Request Entity Too Large");
        }
        return (int)response.StatusCode;
    }

    private static long Rss()
    {
        using var process = Process.GetCurrentProcess();
        return process.WorkingSet64;
    }
}
