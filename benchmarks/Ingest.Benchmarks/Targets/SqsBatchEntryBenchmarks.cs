using System.Globalization;
using Amazon.Runtime.Internal;
using Amazon.SQS.Model;
using Amazon.SQS.Model.Internal.MarshallTransformations;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Aws;
using Ingest.Core.Events;
using Ingest.Targets.Sqs;

namespace Ingest.Benchmarks.Targets;

/// <summary>
/// The body of one <c>SendMessageBatch</c> call, 10 events of 512 B JSON: the AWS SDK way (10
/// request entries with attribute dictionaries, marshalled by the SDK's own marshaller) against
/// <see cref="SqsClient.WriteSendMessageBatch"/> (written from the events into a pooled buffer),
/// and <see cref="SqsMessageFormat.MeasureWireBytes"/>, which runs once per event on the request
/// path (enqueue) and must not allocate.
/// </summary>
[MemoryDiagnoser]
public class SqsBatchEntryBenchmarks
{
    private const int BatchSize = 10;
    private const string QueueUrl = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
    private readonly IngestEvent[] _events = Enumerable.Range(0, BatchSize).Select(i => SampleEvents.Create(i, SampleEvents.JsonBody)).ToArray();
    private readonly SqsGroupIdSource _fifoGroup = new("json:device");

    [Benchmark(Baseline = true, Description = "SDK: 10 entries + marshal (standard queue)")]
    public IRequest SdkMarshal()
    {
        var entries = new List<SendMessageBatchRequestEntry>(BatchSize);
        foreach (var e in _events)
        {
            entries.Add(SdkEntry(e));
        }
        return SendMessageBatchRequestMarshaller.Instance.Marshall(new SendMessageBatchRequest { QueueUrl = QueueUrl, Entries = entries });
    }

    [Benchmark(Description = "WriteSendMessageBatch (standard queue)")]
    public int Write() => WriteBody(fifoGroup: null);

    [Benchmark(Description = "WriteSendMessageBatch (FIFO, group json:device)")]
    public int WriteFifo() => WriteBody(_fifoGroup);

    [Benchmark(Description = "MeasureWireBytes, 1 event (request path)")]
    public int MeasureWireBytes() => SqsMessageFormat.MeasureWireBytes(_events[0]);

    private int WriteBody(SqsGroupIdSource? fifoGroup)
    {
        using var buffer = new PooledByteBuffer(8192);
        SqsClient.WriteSendMessageBatch(buffer, QueueUrl, _events, fifoGroup);
        return buffer.WrittenSpan.Length;
    }

    // The entry as the SDK-based sender built it: strings for body and id, one dictionary of
    // attribute objects per entry (same attributes as SqsMessageFormat writes for this event).
    private static SendMessageBatchRequestEntry SdkEntry(IngestEvent e) => new()
    {
        Id = e.Id.ToString("N"),
        MessageBody = System.Text.Encoding.UTF8.GetString(e.Body.Span),
        MessageAttributes = new Dictionary<string, MessageAttributeValue>(SqsMessageFormat.MaxAttributes, StringComparer.Ordinal)
        {
            [SqsMessageFormat.EventIdAttribute] = Value(e.Id.ToString("D")),
            [SqsMessageFormat.RouteAttribute] = Value(e.RouteKey),
            [SqsMessageFormat.ReceivedAtAttribute] = Value(e.ReceivedAtMs.ToString(CultureInfo.InvariantCulture)),
            [SqsMessageFormat.ContentTypeAttribute] = Value(e.ContentType!),
            [SqsMessageFormat.SourceIpAttribute] = Value(e.SourceIp!),
            [SqsMessageFormat.TraceParentAttribute] = Value(e.TraceParent!),
        },
    };

    private static MessageAttributeValue Value(string value) => new() { DataType = "String", StringValue = value };
}
