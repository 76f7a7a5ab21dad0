using System.Net.Sockets;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;

namespace Ingest.Targets.Tests.Kinesis.Shards;

/// <summary>
/// The shard map against kinesalite on 127.0.0.1:4567: its own hash routing and ListShards decide
/// where records go, so this checks the MD5 mapping and the reshard detection against a second
/// implementation.
/// </summary>
[Trait("Category", "Standins")]
public sealed class KinesaliteShardTests
{
    // INGEST_TEST_KINESIS points the test at another kinesalite (a private one, say).
    private static readonly Uri Endpoint = new(Environment.GetEnvironmentVariable("INGEST_TEST_KINESIS") ?? "http://127.0.0.1:4567");

    [Fact]
    public async Task Map_predicts_the_shard_of_every_key_and_notices_a_split()
    {
        await RequireKinesaliteAsync();
        var stream = $"ingest-shards-{Guid.NewGuid():N}";
        var context = KinesisTestSetup.Context(Endpoint);
        var options = new TargetOptions { Type = "kinesis", Stream = stream, PartitionKey = "header:x-device" };
        using var control = KinesisTargetKind.CreateClient("standin", options, context);
        await control.CreateStreamAsync(stream, 4, CancellationToken.None);
        try
        {
            await WaitActiveAsync(control, stream);
            using var sender = (KinesisBatchSender)await new KinesisTargetKind().CreateSenderAsync("standin", options, context, CancellationToken.None);
            var pacer = sender.Pacer!;
            Assert.Equal(4, pacer.Map.Count);

            // Every key's predicted shard is the one kinesalite answers with.
            var records = Enumerable.Range(0, 400).Select(i => new KinesisRecord("{}"u8.ToArray(), $"device-{i}")).ToList();
            var expected = records.Select(r => pacer.Map.Shards[pacer.Map.IndexOf(r.HashKey)].ShardId).ToArray();
            var result = await control.PutRecordsAsync(stream, records, new string?[records.Count], null, CancellationToken.None, expected);
            Assert.Equal(0, result.FailedRecordCount);
            Assert.Equal(0, result.UnexpectedShards);
            Assert.Equal(4, expected.Distinct().Count());
            // A wrong expectation is noticed: the check can fail.
            var shifted = expected.Skip(1).Append(expected[0]).ToArray();
            var wrong = await control.PutRecordsAsync(stream, records, new string?[records.Count], null, CancellationToken.None, shifted);
            Assert.True(wrong.UnexpectedShards > 0);

            // Split the first shard at its middle; the next send answers from a child the map does not know.
            var first = pacer.Map.Shards[0];
            var middle = first.StartingHashKey + ((first.EndingHashKey - first.StartingHashKey) / 2);
            using (await control.InvokeAsync(
                "SplitShard",
                w =>
                {
                    w.WriteString("StreamName", stream);
                    w.WriteString("ShardToSplit", first.ShardId);
                    w.WriteString("NewStartingHashKey", middle.ToString());
                },
                CancellationToken.None))
            {
            }
            await WaitActiveAsync(control, stream);
            var batch = Enumerable.Range(0, 200).Select(i => KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>("x-device", $"device-{i}"))).ToList();
            foreach (var e in batch)
            {
                sender.MeasureWireBytes(e);
            }
            var outcomes = new EntryOutcome[batch.Count];
            await sender.SendAsync(batch, outcomes, CancellationToken.None);
            Assert.All(outcomes, o => Assert.Equal(EntryOutcome.Delivered, o));

            // The refresh asked for by the unknown shard runs on a send at least a second later.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (pacer.Map.Count != 5)
            {
                Assert.True(DateTime.UtcNow < deadline, $"the map still has {pacer.Map.Count} shards");
                await Task.Delay(100);
                await pacer.RefreshIfDueAsync(CancellationToken.None);
            }
            Assert.DoesNotContain(pacer.Map.Shards, s => s.ShardId == first.ShardId);
        }
        finally
        {
            await control.DeleteStreamAsync(stream, CancellationToken.None);
        }
    }

    private static async Task WaitActiveAsync(KinesisClient client, string stream)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await client.DescribeStreamSummaryAsync(stream, CancellationToken.None))?.Status != "ACTIVE")
        {
            Assert.True(DateTime.UtcNow < deadline, $"{stream} did not become ACTIVE");
            await Task.Delay(50);
        }
    }

    private static async Task RequireKinesaliteAsync()
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync(Endpoint.Host, Endpoint.Port).WaitAsync(TimeSpan.FromSeconds(3));
        }
        catch (Exception ex) when (ex is SocketException or TimeoutException)
        {
            Assert.Fail($"kinesalite is not answering on {Endpoint.Authority} ({ex.Message}). Start it with: scripts/standins.sh start kinesis");
        }
    }
}
