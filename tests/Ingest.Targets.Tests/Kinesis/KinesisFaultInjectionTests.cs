using Amazon.Runtime;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Kinesis;

/// <summary>
/// The real BatchingWriter and KinesisBatchSender against a fake Kinesis on Kestrel that checks
/// every signature and fails entries and whole calls.
/// </summary>
public sealed class KinesisFaultInjectionTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Every_event_is_delivered_exactly_once_through_partial_and_whole_call_failures()
    {
        await using var server = await FakeKinesisServer.StartAsync(FakeKinesisFaults.Heavy);
        server.CreateStream("clicks");
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = "header:x-device" };
        var sender = await new KinesisTargetKind().CreateSenderAsync("clicks", options, KinesisTestSetup.Context(server.Endpoint), CancellationToken.None);
        using var metrics = new MetricsHost();
        using var retried = new CounterProbe(metrics.Factory, "ingest_events_retried", "clicks");
        var deadLetters = new CollectingDeadLetters();
        var events = KinesisTestEvents.Mixed(5000, seed: 42);

        await using (var writer = new BatchingWriter(
            "clicks", sender, KinesisTestSetup.FastSettings(sender.Limits, maxRecords: 100, maxAttempts: 30),
            new BufferBudget(1L << 30), deadLetters, metrics.Metrics, TimeProvider.System, NullLogger.Instance))
        {
            writer.Start();
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, writer.TryEnqueue(e));
            }
            var results = await KinesisTestSetup.WhenAllCompleted(events, Deadline);
            Assert.All(results, Assert.True);
        }

        Assert.Empty(deadLetters.Items);
        // Faults really happened: whole calls and a good share of batches with failed entries.
        Assert.True(server.WholeCallFailures > 0, "no whole-call failure was injected");
        var answered = server.PutRecordsCalls - server.WholeCallFailures;
        Assert.True(server.PartialBatches >= 0.3 * answered, $"{server.PartialBatches} partial batches of {answered} calls");
        Assert.True(server.FailedEntries > 0);
        Assert.True(retried.Total > 0, "ingest_events_retried stayed 0");
        Assert.True(retried.Total >= server.FailedEntries, $"retried {retried.Total} < failed entries {server.FailedEntries}");
        // Exactly once: each event stored once, nothing that succeeded was sent again.
        Assert.Equal(0, server.ResentAfterSuccess);
        Assert.Equal(0, server.SignatureFailures);
        Assert.Equal(0, server.LimitViolations);
        Assert.Equal(events.Count, server.StoreCounts.Count);
        Assert.All(server.StoreCounts, kv => Assert.Equal(1, kv.Value));
        Assert.Contains(server.SendCounts, kv => kv.Value > 1);
        foreach (var e in events)
        {
            var stored = server.Stored[e.Id.ToString()];
            Assert.Equal(e.Body.ToArray(), Envelope.Body(stored.Data));
            Assert.Equal(e.Header("x-device") ?? e.Id.ToString(), stored.PartitionKey);
        }
    }

    [Fact]
    public async Task A_bad_signature_dead_letters_the_entries_instead_of_retrying_them()
    {
        await using var server = await FakeKinesisServer.StartAsync();
        server.CreateStream("clicks");
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks" };
        var client = new KinesisClient(
            new HttpClient(),
            server.Endpoint,
            new SigV4Signer(FakeKinesisServer.Region, "kinesis", TimeProvider.System),
            new BasicAWSCredentials(FakeKinesisServer.AccessKey, "not-the-secret"));
        var sender = new KinesisBatchSender("clicks", "clicks", client, new KinesisRecordEncoder(null), KinesisBatchSender.LimitsFor(options), NullLogger.Instance);
        using var metrics = new MetricsHost();
        using var retried = new CounterProbe(metrics.Factory, "ingest_events_retried", "clicks");
        using var deadLettered = new CounterProbe(metrics.Factory, "ingest_events_dead_lettered", "clicks");
        var deadLetters = new CollectingDeadLetters();
        var events = KinesisTestEvents.Mixed(120, seed: 7);

        await using (var writer = new BatchingWriter(
            "clicks", sender, KinesisTestSetup.FastSettings(sender.Limits, maxRecords: 50, maxAttempts: 8),
            new BufferBudget(1L << 30), deadLetters, metrics.Metrics, TimeProvider.System, NullLogger.Instance))
        {
            writer.Start();
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, writer.TryEnqueue(e));
            }
            var results = await KinesisTestSetup.WhenAllCompleted(events, Deadline);
            Assert.All(results, Assert.False);
        }

        Assert.True(server.SignatureFailures > 0);
        Assert.Empty(server.Stored);
        Assert.Equal(events.Count, deadLetters.Items.Count);
        Assert.All(deadLetters.Items, d => Assert.Contains("rejected", d.Reason, StringComparison.Ordinal));
        Assert.All(events, e => Assert.Equal(1, e.Attempts));
        Assert.Equal(0, retried.Total);
        Assert.Equal(events.Count, deadLettered.Total);
        sender.Dispose();
    }
}
