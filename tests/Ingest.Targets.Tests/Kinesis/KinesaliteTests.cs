using System.Net.Sockets;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Kinesis;

/// <summary>
/// Against kinesalite on 127.0.0.1:4567 (<c>scripts/standins.sh start kinesis</c>). It does not
/// check signatures or throttle; it does enforce the record, key and batch limits and stores
/// what it accepts, so this proves the wire format end to end.
/// </summary>
[Trait("Category", "Standins")]
public sealed class KinesaliteTests
{
    // INGEST_TEST_KINESIS points the test at another kinesalite (a private one, say).
    private static readonly Uri Endpoint = new(Environment.GetEnvironmentVariable("INGEST_TEST_KINESIS") ?? "http://127.0.0.1:4567");
    private static readonly string Host = Endpoint.Host;
    private static readonly int Port = Endpoint.Port;

    [Fact]
    public async Task CreateMissing_stream_receives_exactly_the_events_sent_byte_for_byte()
    {
        await RequireKinesaliteAsync();
        var stream = $"ingest-test-{Guid.NewGuid():N}";
        var context = KinesisTestSetup.Context(new Uri($"http://{Host}:{Port}"), createMissing: true);
        var options = new TargetOptions { Type = "kinesis", Stream = stream, PartitionKey = "json:device" };
        var kind = new KinesisTargetKind();
        using var control = KinesisTargetKind.CreateClient("standin", options, context);
        var sender = await kind.CreateSenderAsync("standin", options, context, CancellationToken.None);
        try
        {
            Assert.NotNull(await control.DescribeStreamSummaryAsync(stream, CancellationToken.None));
            using var metrics = new MetricsHost();
            var deadLetters = new CollectingDeadLetters();
            // Some large binary bodies too, so batches split on bytes as well as on count.
            var events = KinesisTestEvents.Mixed(1000, seed: 11, maxBinaryBytes: 60_000);

            await using (var writer = new BatchingWriter(
                "standin", sender, KinesisTestSetup.FastSettings(sender.Limits, maxRecords: 500, maxAttempts: 5),
                new BufferBudget(1L << 30), deadLetters, metrics.Metrics, TimeProvider.System, NullLogger.Instance))
            {
                writer.Start();
                foreach (var e in events)
                {
                    Assert.Equal(EnqueueResult.Accepted, writer.TryEnqueue(e));
                }
                var results = await KinesisTestSetup.WhenAllCompleted(events, TimeSpan.FromSeconds(120));
                Assert.Empty(deadLetters.Items);
                Assert.All(results, Assert.True);
            }

            var read = await new KinesisStreamReader(control).ReadAllAsync(stream, CancellationToken.None);

            Assert.Equal(events.Count, read.Count);
            var byId = read.ToDictionary(r => r.EventId);
            Assert.Equal(events.Select(e => e.Id.ToString()).Order(), byId.Keys.Order());
            var encoder = new KinesisRecordEncoder("json:device");
            foreach (var e in events)
            {
                var record = byId[e.Id.ToString()];
                Assert.Equal(e.Body.ToArray(), Envelope.Body(record.Data));
                Assert.Equal(encoder.Encode(e).PartitionKey, record.PartitionKey);
            }
        }
        finally
        {
            ((IDisposable)sender).Dispose();
            await control.DeleteStreamAsync(stream, CancellationToken.None);
        }
    }

    private static async Task RequireKinesaliteAsync()
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(Host, Port).WaitAsync(TimeSpan.FromSeconds(3));
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            Assert.Fail($"kinesalite is not answering on {Host}:{Port} ({ex.Message}). Start it with: scripts/standins.sh start kinesis");
        }
    }
}
