using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Sqs;

/// <summary>The SQS stand-in (fauxqs, <c>scripts/standins.sh start sqs</c>) and helpers around it.</summary>
internal static class SqsStandIn
{
    public static string Endpoint { get; } =
        $"http://127.0.0.1:{Environment.GetEnvironmentVariable("INGEST_SQS_PORT") ?? "4566"}";

    public static AwsOptions Aws() => new()
    {
        Region = "us-east-1",
        AccessKeyId = "test",
        SecretAccessKey = "test",
        Endpoints = new() { ["sqs"] = Endpoint },
    };

    public static AmazonSQSClient Client() => new(
        new BasicAWSCredentials("test", "test"),
        new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });

    public static string UniqueQueueName(bool fifo = false) => $"ingest-test-{Guid.NewGuid():N}" + (fifo ? ".fifo" : "");

    /// <summary>Fails with the fix when the stand-in is not running, instead of a socket error deep in a test.</summary>
    public static async Task EnsureRunningAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri(Endpoint + "/health"));
            response.EnsureSuccessStatusCode();
        }
        catch (HttpRequestException ex)
        {
            Assert.Fail($"SQS stand-in not reachable at {Endpoint} ({ex.Message}). Start it with: scripts/standins.sh start sqs");
        }
    }

    /// <summary>
    /// Receives (and deletes) until <paramref name="expected"/> messages arrived and one more receive
    /// came back empty, or the deadline passed. Long polling does the waiting, never a sleep.
    /// </summary>
    public static async Task<List<Message>> ReceiveAllAsync(IAmazonSQS client, string queueUrl, int expected, TimeSpan timeout)
    {
        var received = new List<Message>(expected);
        using var deadline = new CancellationTokenSource(timeout);
        while (!deadline.IsCancellationRequested)
        {
            var behind = received.Count < expected;
            var response = await client.ReceiveMessageAsync(new ReceiveMessageRequest
            {
                QueueUrl = queueUrl,
                MaxNumberOfMessages = 10,
                MessageAttributeNames = ["All"],
                MessageSystemAttributeNames = ["All"],
                WaitTimeSeconds = behind ? 1 : 0,
                VisibilityTimeout = 600,
            });
            var messages = response.Messages ?? [];
            if (messages.Count == 0)
            {
                if (!behind)
                {
                    break;
                }
                continue;
            }
            received.AddRange(messages);
            await client.DeleteMessageBatchAsync(new DeleteMessageBatchRequest
            {
                QueueUrl = queueUrl,
                Entries = messages.Select((m, i) => new DeleteMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = m.ReceiptHandle }).ToList(),
            });
        }
        return received;
    }

    /// <summary>The body bytes a consumer gets back, honouring <c>ingest-encoding</c>.</summary>
    public static byte[] DecodeBody(Message m)
    {
        var encoding = m.MessageAttributes is { } a && a.TryGetValue("ingest-encoding", out var v) ? v.StringValue : null;
        return encoding switch
        {
            "base64" => Convert.FromBase64String(m.Body),
            "empty" => [],
            null => Encoding.UTF8.GetBytes(m.Body),
            _ => throw new InvalidOperationException($"unknown ingest-encoding '{encoding}'"),
        };
    }

    public static Guid EventIdOf(Message m) => Guid.Parse(m.MessageAttributes["ingest-event-id"].StringValue);
}

/// <summary>A real <see cref="BatchingWriter"/> with its own meter, for one test.</summary>
internal sealed class WriterHarness : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly MeterListener _listener = new();
    private long _retried;

    public WriterHarness(string name, IBatchSender sender, int maxInFlight, int maxAttempts = 100)
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meterFactory = _services.GetRequiredService<IMeterFactory>();
        Metrics = new IngestMetrics(meterFactory);
        // Only this test's meter: other tests in the run create their own "Ingest" meters.
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, meterFactory)
                && instrument.Meter.Name == IngestMetrics.MeterName
                && instrument.Name == "ingest_events_retried")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _retried, value));
        _listener.Start();
        var settings = new BatchingSettings(
            MaxRecords: sender.Limits.MaxRecords,
            MaxBytes: sender.Limits.MaxBatchBytes,
            Linger: TimeSpan.FromMilliseconds(5),
            MaxInFlight: maxInFlight,
            ChannelCapacity: 100_000,
            MaxAttempts: maxAttempts,
            BaseDelay: TimeSpan.FromMilliseconds(1),
            MaxDelay: TimeSpan.FromMilliseconds(20));
        Writer = new BatchingWriter(name, sender, settings, new BufferBudget(1L << 30), DeadLetters, Metrics, TimeProvider.System, NullLogger.Instance);
        Writer.Start();
    }

    public BatchingWriter Writer { get; }

    public IngestMetrics Metrics { get; }

    public RecordingDeadLetterSink DeadLetters { get; } = new();

    public long Retried => Interlocked.Read(ref _retried);

    public async ValueTask DisposeAsync()
    {
        await Writer.DisposeAsync();
        _listener.Dispose();
        Metrics.Dispose();
        await _services.DisposeAsync();
    }
}

internal sealed class RecordingDeadLetterSink : IDeadLetterSink
{
    public ConcurrentQueue<(Guid Id, string Reason)> Events { get; } = new();

    public void DeadLetter(IReadOnlyList<IngestEvent> events, string reason)
    {
        foreach (var e in events)
        {
            Events.Enqueue((e.Id, reason));
        }
    }
}

/// <summary>Events with every kind of body the SQS sender must carry byte for byte.</summary>
internal static class SqsTestEvents
{
    public const string RouteKey = "POST /v1/devices/{id}/events";

    public static IngestEvent Create(byte[] body, KeyValuePair<string, string>[]? headers = null, string? contentType = "application/json") => new()
    {
        Id = Guid.CreateVersion7(),
        ReceivedAtMs = 1_764_000_000_000,
        RouteKey = RouteKey,
        SourceIp = "192.0.2.10",
        ContentType = contentType,
        TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        Headers = headers ?? [],
        Body = body,
        Delivered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously),
    };

    /// <summary>
    /// Body number <paramref name="i"/> of a mixed load: JSON, non-ASCII text, binary, text that is
    /// UTF-8 but not XML-legal (controls, U+FFFE), CESU surrogates, empty. No characters above U+FFFF:
    /// SQS accepts them, but fauxqs 2.4.1 refuses them (its check counts UTF-16 surrogate halves).
    /// </summary>
    public static byte[] MixedBody(int i, Random random) => (i % 10) switch
    {
        0 => RandomBytes(random, 1 + random.Next(3000)),
        1 => Encoding.UTF8.GetBytes($"{{\"n\":{i},\"note\":\"bell\u0007 and escape\u001b\"}}"),
        2 => Encoding.UTF8.GetBytes($"noncharacter \uFFFE in event {i}"),
        3 => Encoding.UTF8.GetBytes($"{{\"n\":{i},\"text\":\"héllo wörld 中文 ελληνικά \uFFFD \u0085\"}}"),
        4 => [0xED, 0xA0, 0x80, (byte)(i & 0x7F)],
        5 when i % 1000 == 5 => [],
        6 => Encoding.UTF8.GetBytes($"line one\r\nline two\ttabbed {i}\n"),
        _ => Encoding.UTF8.GetBytes($"{{\"device\":\"d{i % 17}\",\"n\":{i},\"pad\":\"{new string('x', random.Next(400))}\"}}"),
    };

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}

/// <summary>One SendMessageBatch entry as written on the wire, read back for assertions.</summary>
internal sealed record SqsWireEntry(
    string Id,
    string MessageBody,
    Dictionary<string, SqsWireAttribute> MessageAttributes,
    string? MessageGroupId,
    string? MessageDeduplicationId)
{
    /// <summary>Writes the entry of <paramref name="e"/> with <see cref="SqsMessageFormat.WriteEntry"/> and parses it back.</summary>
    public static SqsWireEntry Of(IngestEvent e, SqsGroupIdSource? fifoGroup)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            SqsMessageFormat.WriteEntry(writer, e, fifoGroup);
        }
        return Parse(System.Text.Json.Nodes.JsonNode.Parse(buffer.WrittenSpan)!);
    }

    public static SqsWireEntry Parse(System.Text.Json.Nodes.JsonNode entry) => new(
        (string)entry[nameof(Id)]!,
        (string)entry[nameof(MessageBody)]!,
        entry[nameof(MessageAttributes)]!.AsObject().ToDictionary(
            a => a.Key,
            a => new SqsWireAttribute((string)a.Value!["DataType"]!, (string)a.Value["StringValue"]!),
            StringComparer.Ordinal),
        (string?)entry[nameof(MessageGroupId)],
        (string?)entry[nameof(MessageDeduplicationId)]);
}

internal sealed record SqsWireAttribute(string DataType, string StringValue);
