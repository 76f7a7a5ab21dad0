using System.Text;
using Amazon.SQS.Model;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Events;
using Ingest.Targets.Sqs;

namespace Ingest.Benchmarks.Targets;

/// <summary>
/// Batch assembly for SQS: the 10 <c>SendMessageBatch</c> entries <see cref="SqsBatchSender"/>
/// builds per call (<see cref="SqsMessageFormat.BuildEntry"/>: XML-legality check of the body, body
/// string, entry id, 6 message attributes), and <see cref="SqsMessageFormat.MeasureWireBytes"/>, which
/// runs once per event on the request path (enqueue) and must not allocate. The SDK's object model
/// needs strings and dictionaries, so an entry cannot be free: the baseline is the least an entry
/// can be (id and body strings, no attributes).
/// </summary>
[MemoryDiagnoser]
public class SqsBatchEntryBenchmarks
{
    private const int BatchSize = 10;
    private readonly IngestEvent[] _events = Enumerable.Range(0, BatchSize).Select(i => SampleEvents.Create(i, SampleEvents.JsonBody)).ToArray();
    private readonly SqsGroupIdSource _fifoGroup = new("json:device");

    [Benchmark(Baseline = true, Description = "10 entries, id + body only")]
    public List<SendMessageBatchRequestEntry> BodyOnly()
    {
        var entries = new List<SendMessageBatchRequestEntry>(BatchSize);
        foreach (var e in _events)
        {
            entries.Add(new SendMessageBatchRequestEntry { Id = e.Id.ToString("N"), MessageBody = Encoding.UTF8.GetString(e.Body.Span) });
        }
        return entries;
    }

    [Benchmark(Description = "10 entries, BuildEntry (standard queue)")]
    public List<SendMessageBatchRequestEntry> BuildEntries() => Build(fifoGroup: null);

    [Benchmark(Description = "10 entries, BuildEntry (FIFO, group json:device)")]
    public List<SendMessageBatchRequestEntry> BuildFifoEntries() => Build(_fifoGroup);

    [Benchmark(Description = "MeasureWireBytes, 1 event (request path)")]
    public int MeasureWireBytes() => SqsMessageFormat.MeasureWireBytes(_events[0]);

    private List<SendMessageBatchRequestEntry> Build(SqsGroupIdSource? fifoGroup)
    {
        var entries = new List<SendMessageBatchRequestEntry>(BatchSize);
        foreach (var e in _events)
        {
            entries.Add(SqsMessageFormat.BuildEntry(e, fifoGroup));
        }
        return entries;
    }
}
