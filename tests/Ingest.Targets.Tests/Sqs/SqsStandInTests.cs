using System.Text;
using Amazon.SQS.Model;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Ingest.Targets.Tests.Sqs;

/// <summary>
/// The SQS sender behind a real <see cref="BatchingWriter"/>, against the fauxqs stand-in, with
/// faults injected at the HTTP layer. Start the stand-in with <c>scripts/standins.sh start sqs</c>.
/// </summary>
[Trait("Category", "Standins")]
public sealed class SqsStandInTests(ITestOutputHelper output)
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Throttling_and_partial_failures_deliver_every_event_exactly_once()
    {
        await SqsStandIn.EnsureRunningAsync();
        const int eventCount = 5_000;
        var queue = SqsStandIn.UniqueQueueName();
        var injector = new SqsFaultInjector(seed: 20261125)
        {
            ThrottleEvery = 20,                                   // 5% of calls
            PartialSlots = new HashSet<int> { 1, 4, 7, 10, 13, 16, 19 }, // 35% of calls
        };
        using var sender = await CreateSenderAsync(queue, injector);
        var random = new Random(7);
        var events = new List<IngestEvent>(eventCount);
        await using (var harness = new WriterHarness(queue, sender, maxInFlight: 8))
        {
            for (var i = 0; i < eventCount; i++)
            {
                KeyValuePair<string, string>[] headers = i % 3 == 0 ? [new("x-device-id", $"d{i % 17}"), new("x-firmware", "1.2.3")] : [];
                var e = SqsTestEvents.Create(SqsTestEvents.MixedBody(i, random), headers, contentType: i % 10 == 0 ? "application/octet-stream" : "application/json");
                events.Add(e);
                Assert.Equal(EnqueueResult.Accepted, harness.Writer.TryEnqueue(e));
            }
            var results = await Task.WhenAll(events.Select(e => e.Delivered!.Task)).WaitAsync(DeliveryTimeout);

            Assert.All(results, Assert.True);
            Assert.Empty(harness.DeadLetters.Events);
            // Every injected failure is retried once per failure, nothing else is.
            Assert.True(harness.Retried > 0);
            Assert.Equal(injector.InjectedEntryFailures, harness.Retried);
            output.WriteLine($"calls={injector.Calls} throttled={injector.Throttled} partial={injector.Partial} retried={harness.Retried}");
        }

        Assert.Equal([queue], injector.WrappedTargets.Distinct());
        Assert.True(injector.Throttled >= injector.Calls / 25, $"throttled {injector.Throttled} of {injector.Calls} calls");
        Assert.True(injector.Partial >= injector.Calls * 0.30, $"partial failures on {injector.Partial} of {injector.Calls} calls");
        Assert.Equal(0, injector.ResentAfterSuccess);

        using var client = SqsStandIn.Client();
        var queueUrl = (await client.GetQueueUrlAsync(queue)).QueueUrl;
        var messages = await SqsStandIn.ReceiveAllAsync(client, queueUrl, eventCount, TimeSpan.FromSeconds(60));
        var byId = events.ToDictionary(e => e.Id);
        var seen = new Dictionary<Guid, int>();
        var base64 = 0;
        foreach (var m in messages)
        {
            var id = SqsStandIn.EventIdOf(m);
            seen[id] = seen.GetValueOrDefault(id) + 1;
            var sent = byId[id];
            Assert.Equal(sent.Body.ToArray(), SqsStandIn.DecodeBody(m));
            Assert.Equal(SqsTestEvents.RouteKey, m.MessageAttributes["ingest-route"].StringValue);
            Assert.Equal("1764000000000", m.MessageAttributes["ingest-received-at"].StringValue);
            Assert.Equal(sent.ContentType, m.MessageAttributes["content-type"].StringValue);
            if (sent.Headers.Length > 0)
            {
                Assert.Equal(sent.Header("x-device-id"), m.MessageAttributes["ingest-h-x-device-id"].StringValue);
            }
            Assert.True(m.MessageAttributes.Count <= 10);
            base64 += m.MessageAttributes.ContainsKey("ingest-encoding") ? 1 : 0;
        }
        var duplicates = seen.Values.Count(n => n > 1);
        output.WriteLine($"received={messages.Count} distinct={seen.Count} duplicates={duplicates} base64OrEmpty={base64}");
        Assert.Equal(0, duplicates);
        Assert.Equal(eventCount, seen.Count);
        Assert.Equal(eventCount, messages.Count);
        Assert.True(base64 > eventCount / 4, "the load must include non-text bodies");
    }

    [Fact]
    public async Task Large_and_limit_sized_messages_are_batched_within_what_sqs_accepts()
    {
        await SqsStandIn.EnsureRunningAsync();
        var queue = SqsStandIn.UniqueQueueName();
        using var sender = await CreateSenderAsync(queue, new SqsFaultInjector(seed: 9));
        var random = new Random(11);
        var events = new List<IngestEvent>();
        for (var i = 0; i < 30; i++)
        {
            var body = new byte[150_000 + random.Next(110_000)];
            random.NextBytes(body);
            events.Add(SqsTestEvents.Create(body));
        }
        // One text and one binary message exactly at (or within 3 bytes of) the 1 MiB message limit.
        var overhead = sender.MeasureWireBytes(SqsTestEvents.Create("x"u8.ToArray())) - 1;
        var atLimit = new byte[SqsBatchSender.DefaultMaxRecordBytes - overhead];
        atLimit.AsSpan().Fill((byte)'a');
        events.Add(SqsTestEvents.Create(atLimit));
        var binaryLength = (SqsBatchSender.DefaultMaxRecordBytes - overhead - 27) / 4 * 3;
        var binary = new byte[binaryLength];
        random.NextBytes(binary);
        binary[0] = 0xFF;
        events.Add(SqsTestEvents.Create(binary));
        Assert.Equal(SqsBatchSender.DefaultMaxRecordBytes, sender.MeasureWireBytes(events[^2]));
        Assert.InRange(sender.MeasureWireBytes(events[^1]), SqsBatchSender.DefaultMaxRecordBytes - 3, SqsBatchSender.DefaultMaxRecordBytes);

        await using (var harness = new WriterHarness(queue, sender, maxInFlight: 4))
        {
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, harness.Writer.TryEnqueue(e));
            }
            var results = await Task.WhenAll(events.Select(e => e.Delivered!.Task)).WaitAsync(DeliveryTimeout);

            // A wrong size count would show up as BatchRequestTooLong or a too-long message: dead letters.
            Assert.Empty(harness.DeadLetters.Events);
            Assert.All(results, Assert.True);
        }
        using var client = SqsStandIn.Client();
        var messages = await SqsStandIn.ReceiveAllAsync(client, sender.QueueUrl, events.Count, TimeSpan.FromSeconds(60));
        var byId = events.ToDictionary(e => e.Id);
        Assert.Equal(events.Count, messages.Count);
        Assert.All(messages, m => Assert.Equal(byId[SqsStandIn.EventIdOf(m)].Body.ToArray(), SqsStandIn.DecodeBody(m)));
    }

    [Fact]
    public async Task Sender_fault_entries_are_dead_lettered_once_and_not_retried()
    {
        await SqsStandIn.EnsureRunningAsync();
        var queue = SqsStandIn.UniqueQueueName();
        var events = Enumerable.Range(0, 200)
            .Select(i => SqsTestEvents.Create(Encoding.UTF8.GetBytes($"{{\"n\":{i}}}")))
            .ToList();
        var poison = events.Where((_, i) => i % 40 == 3).Select(e => e.Id).ToHashSet();
        var injector = new SqsFaultInjector(seed: 1)
        {
            PoisonIds = poison.Select(id => id.ToString("N")).ToHashSet(),
            PartialSlots = new HashSet<int> { 2, 5 },
        };
        using var sender = await CreateSenderAsync(queue, injector);
        await using (var harness = new WriterHarness(queue, sender, maxInFlight: 4))
        {
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, harness.Writer.TryEnqueue(e));
            }
            var results = await Task.WhenAll(events.Select(e => e.Delivered!.Task)).WaitAsync(DeliveryTimeout);

            Assert.Equal(events.Select(e => !poison.Contains(e.Id)), results);
            var dead = harness.DeadLetters.Events.ToList();
            Assert.Equal(poison.Order(), dead.Select(d => d.Id).Order());
            Assert.All(dead, d => Assert.Contains("sender fault", d.Reason, StringComparison.Ordinal));
        }
        Assert.All(poison, id => Assert.Equal(1, injector.SendCounts[id.ToString("N")]));
        Assert.Equal(0, injector.ResentAfterSuccess);

        using var client = SqsStandIn.Client();
        var queueUrl = (await client.GetQueueUrlAsync(queue)).QueueUrl;
        var messages = await SqsStandIn.ReceiveAllAsync(client, queueUrl, events.Count - poison.Count, TimeSpan.FromSeconds(30));
        var ids = messages.Select(SqsStandIn.EventIdOf).ToList();
        Assert.Equal(events.Select(e => e.Id).Where(id => !poison.Contains(id)).Order(), ids.Order());
    }

    [Fact]
    public async Task Fifo_queue_is_created_with_group_ids_from_json_and_event_id_deduplication()
    {
        await SqsStandIn.EnsureRunningAsync();
        var queue = SqsStandIn.UniqueQueueName(fifo: true);
        var options = new TargetOptions { Type = "sqs", Queue = queue, MessageGroupId = "json:device" };
        var kind = new SqsTargetKind();
        Assert.Equal(1, kind.DefaultMaxInFlight(options));
        // Whole-call throttling only: resending a whole batch with one batch in flight keeps order.
        var injector = new SqsFaultInjector(seed: 3) { ThrottleEvery = 3 };
        var context = new TargetContext(SqsStandIn.Aws(), CreateMissing: true, NullLoggerFactory.Instance, TimeProvider.System, injector.Wrap);
        using var sender = (SqsBatchSender)await kind.CreateSenderAsync(queue, options, context, CancellationToken.None);
        Assert.True(sender.IsFifo);

        string[] devices = ["d1", "d2", "42", ""];
        var events = Enumerable.Range(0, 60).Select(i =>
        {
            var device = devices[i % devices.Length];
            var json = device switch
            {
                "" => $"{{\"n\":{i}}}",
                "42" => $"{{\"device\":42,\"n\":{i}}}",
                _ => $"{{\"device\":\"{device}\",\"n\":{i}}}",
            };
            return SqsTestEvents.Create(Encoding.UTF8.GetBytes(json));
        }).ToList();
        await using (var harness = new WriterHarness(queue, sender, maxInFlight: kind.DefaultMaxInFlight(options)))
        {
            foreach (var e in events)
            {
                Assert.Equal(EnqueueResult.Accepted, harness.Writer.TryEnqueue(e));
            }
            Assert.All(await Task.WhenAll(events.Select(e => e.Delivered!.Task)).WaitAsync(DeliveryTimeout), Assert.True);
            Assert.True(harness.Retried > 0);

            // The same event again is dropped by SQS: its deduplication id is the event id.
            // (Sent while the writer, which owns the sender, is still alive.)
            injector.ThrottleEvery = 0;
            var again = new EntryOutcome[1];
            await sender.SendAsync([events[0]], again, CancellationToken.None);
            Assert.Equal(EntryOutcome.Delivered, again[0]);
        }

        using var client = SqsStandIn.Client();
        var attributes = await client.GetQueueAttributesAsync(sender.QueueUrl, ["FifoQueue", "ContentBasedDeduplication"]);
        Assert.Equal("true", attributes.Attributes["FifoQueue"]);
        Assert.Equal("false", attributes.Attributes["ContentBasedDeduplication"]);

        var messages = await SqsStandIn.ReceiveAllAsync(client, sender.QueueUrl, events.Count, TimeSpan.FromSeconds(30));
        Assert.Equal(events.Count, messages.Count);
        var byId = events.Select((e, i) => (e, i)).ToDictionary(x => x.e.Id);
        var expectedGroups = new Dictionary<string, string>
        {
            ["d1"] = "d1",
            ["d2"] = "d2",
            ["42"] = "42",
            [""] = "POST%20/v1/devices/{id}/events",
        };
        foreach (var m in messages)
        {
            var (e, i) = byId[SqsStandIn.EventIdOf(m)];
            Assert.Equal(expectedGroups[devices[i % devices.Length]], m.Attributes["MessageGroupId"]);
            Assert.Equal(e.Id.ToString("N"), m.Attributes["MessageDeduplicationId"]);
        }
        // Order holds within each group.
        foreach (var group in messages.GroupBy(m => m.Attributes["MessageGroupId"]))
        {
            var order = group.OrderBy(m => decimal.Parse(m.Attributes["SequenceNumber"], System.Globalization.CultureInfo.InvariantCulture))
                .Select(m => byId[SqsStandIn.EventIdOf(m)].i)
                .ToList();
            Assert.Equal(order.Order(), order);
        }
    }

    [Fact]
    public async Task A_missing_queue_rejects_the_whole_batch_without_retrying()
    {
        await SqsStandIn.EnsureRunningAsync();
        var queue = SqsStandIn.UniqueQueueName();
        var injector = new SqsFaultInjector(seed: 5);
        using var sender = await CreateSenderAsync(queue, injector);
        using (var client = SqsStandIn.Client())
        {
            await client.DeleteQueueAsync(sender.QueueUrl);
        }
        var batch = Enumerable.Range(0, 3).Select(i => SqsTestEvents.Create([(byte)'a', (byte)i])).ToList();
        var outcomes = new EntryOutcome[batch.Count];

        await sender.SendAsync(batch, outcomes, CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(EntryOutcome.Rejected, o));
        Assert.Equal(1, injector.Calls);
    }

    [Fact]
    public async Task A_missing_queue_without_createMissing_fails_at_start_naming_the_fix()
    {
        await SqsStandIn.EnsureRunningAsync();
        var queue = SqsStandIn.UniqueQueueName();
        var context = new TargetContext(SqsStandIn.Aws(), CreateMissing: false, NullLoggerFactory.Instance, TimeProvider.System);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            new SqsTargetKind().CreateSenderAsync("events", new TargetOptions { Type = "sqs", Queue = queue }, context, CancellationToken.None));

        Assert.Contains("targets.events.queue", ex.Message, StringComparison.Ordinal);
        Assert.Contains("aws.createMissing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_queue_url_is_checked_and_used_as_is()
    {
        await SqsStandIn.EnsureRunningAsync();
        using var client = SqsStandIn.Client();
        var url = (await client.CreateQueueAsync(SqsStandIn.UniqueQueueName())).QueueUrl;
        var context = new TargetContext(SqsStandIn.Aws(), CreateMissing: false, NullLoggerFactory.Instance, TimeProvider.System);

        using var sender = (SqsBatchSender)await new SqsTargetKind().CreateSenderAsync("events", new TargetOptions { Type = "sqs", Queue = url }, context, CancellationToken.None);
        var e = SqsTestEvents.Create("hello"u8.ToArray());
        var outcomes = new EntryOutcome[1];
        await sender.SendAsync([e], outcomes, CancellationToken.None);

        Assert.Equal(url, sender.QueueUrl);
        Assert.Equal(EntryOutcome.Delivered, outcomes[0]);
        var messages = await SqsStandIn.ReceiveAllAsync(client, url, 1, TimeSpan.FromSeconds(10));
        Assert.Equal("hello", Assert.Single(messages).Body);
    }

    private static async Task<SqsBatchSender> CreateSenderAsync(string queue, SqsFaultInjector injector)
    {
        var context = new TargetContext(SqsStandIn.Aws(), CreateMissing: true, NullLoggerFactory.Instance, TimeProvider.System, injector.Wrap);
        var options = new TargetOptions { Type = "sqs", Queue = queue };
        return (SqsBatchSender)await new SqsTargetKind().CreateSenderAsync(queue, options, context, CancellationToken.None);
    }
}
