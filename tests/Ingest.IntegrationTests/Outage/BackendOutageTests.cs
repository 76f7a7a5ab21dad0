using System.Text;
using System.Text.Json;
using Ingest.IntegrationTests.Delivery;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Outage;

/// <summary>
/// The gateway (child process, 64 MiB buffer) under 16 concurrent clients while its backend is
/// down or hangs: memory stays bounded, clients get 503 with Retry-After once the buffer is full,
/// delivery resumes by itself and every acknowledged event arrives (read back from the backend).
/// Outages: SQS down 60 s, Kinesis down 20 s, SQS hanging 20 s. Whole tests measured on a busy
/// 2-core machine: about 2 min, 2 min and 2-4 min (catch-up and read-back included).
/// </summary>
[Collection(OutageCollection.Name)]
[Trait("Category", "Standins")]
public sealed class BackendOutageTests(ITestOutputHelper output)
{
    // Small timeouts so a hanging backend is noticed quickly; a short break so recovery is quick.
    // Attempts are not spent while the circuit is open, but failures before it opens and timeouts
    // while the restarted stand-in catches up on a loaded CI machine are: 20 attempts leave room.
    private const string Resilience = "timeout: 2s, batch: { linger: 5ms }, retry: { maxAttempts: 20, baseDelay: 100ms, maxDelay: 2s }, circuitBreaker: { samplingDuration: 5s, breakDuration: 2s }";

    [Fact]
    public async Task Sqs_down_for_60_s_under_load_loses_nothing_and_memory_stays_bounded()
    {
        await using var sqs = await PrivateStandin.StartSqsAsync();
        await using var scenario = new OutageScenario(output);
        var queue = $"outage-{Guid.NewGuid():N}";
        await scenario.StartGatewayAsync($"sqs: \"{sqs.Endpoint}\"", $"{{ type: sqs, queue: {queue}, {Resilience} }}");

        await scenario.RunAsync(sqs.StopAsync, TimeSpan.FromSeconds(60), sqs.StartAsync);

        var received = await SqsQueueReader.ReadAsync(sqs.Endpoint, queue, [.. scenario.Load.Acknowledged.Keys], TimeSpan.FromSeconds(120));
        await scenario.VerifyAsync(received);
    }

    [Fact]
    public async Task Kinesis_down_for_20_s_under_load_loses_nothing_and_memory_stays_bounded()
    {
        await using var kinesis = await PrivateStandin.StartKinesisAsync();
        await using var scenario = new OutageScenario(output);
        var stream = $"outage-{Guid.NewGuid():N}";
        await scenario.StartGatewayAsync($"kinesis: \"{kinesis.Endpoint}\"", $"{{ type: kinesis, stream: {stream}, partitionKey: \"json:device\", {Resilience} }}");

        await scenario.RunAsync(kinesis.StopAsync, TimeSpan.FromSeconds(20), kinesis.StartAsync);

        using var reader = new KinesaliteReader(kinesis.Endpoint);
        var expected = scenario.Load.Acknowledged.Count;
        var records = await reader.ReadAllAsync(stream, expected, TimeSpan.FromSeconds(90));
        var ids = records.Select(r => r.GetProperty("eventId").GetGuid()).ToHashSet();
        var missing = scenario.Load.Acknowledged.Keys.Count(id => !ids.Contains(id));
        if (missing > 0)
        {
            // Duplicates can end the first read early: read once more, far enough.
            records = await reader.ReadAllAsync(stream, records.Count + missing, TimeSpan.FromSeconds(30));
        }
        await scenario.VerifyAsync([.. records.Select(r => (r.GetProperty("eventId").GetGuid(), Encoding.UTF8.GetBytes(r.GetProperty("body").GetRawText())))]);
    }

    [Fact]
    public async Task Sqs_that_hangs_for_20_s_under_load_loses_nothing_and_memory_stays_bounded()
    {
        await using var sqs = await PrivateStandin.StartSqsAsync();
        await using var scenario = new OutageScenario(output);
        var queue = $"hang-{Guid.NewGuid():N}";
        await scenario.StartGatewayAsync($"sqs: \"{sqs.Endpoint}\"", $"{{ type: sqs, queue: {queue}, {Resilience} }}");
        HangingServer? hang = null;

        await scenario.RunAsync(
            async () =>
            {
                await sqs.StopAsync();
                hang = new HangingServer(sqs.Port);
            },
            TimeSpan.FromSeconds(20),
            async () =>
            {
                output.WriteLine($"the hanging backend held {hang!.Accepted} connections");
                Assert.True(hang.Accepted > 0, "the gateway never reached the hanging backend");
                await hang.DisposeAsync();
                await sqs.StartAsync();
            });

        var received = await SqsQueueReader.ReadAsync(sqs.Endpoint, queue, [.. scenario.Load.Acknowledged.Keys], TimeSpan.FromSeconds(120));
        await scenario.VerifyAsync(received);
    }
}
