using System.Buffers;
using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Aws;
using Ingest.Targets.Kinesis;

namespace Ingest.Benchmarks.Targets;

/// <summary>
/// Batch assembly for Kinesis: one <c>PutRecords</c> call of 500 records (~900 B envelopes) through
/// <see cref="KinesisClient.PutRecordsAsync"/> against an in-memory handler that answers every
/// record stored: request body (JSON, base64 data, pooled buffer), SigV4 signature (SHA-256 of the
/// ~600 KB body), response parsing. Baseline: the same request body alone, written with
/// <see cref="Utf8JsonWriter"/> into a reused buffer. The handler's canned answer allocates a
/// little per call (response message and content).
/// </summary>
[MemoryDiagnoser]
public class KinesisPutRecordsBenchmarks
{
    private const int BatchSize = 500;
    private const string StreamName = "clicks";

    private KinesisRecord[] _records = null!;
    private string?[] _errorCodes = null!;
    private KinesisClient _client = null!;
    private readonly ArrayBufferWriter<byte> _body = new(1024 * 1024);
    private readonly Utf8JsonWriter _writer = new(Stream.Null);

    [GlobalSetup]
    public void Setup()
    {
        var encoder = new KinesisRecordEncoder("random");
        _records = Enumerable.Range(0, BatchSize).Select(i => encoder.Encode(SampleEvents.Create(i, SampleEvents.JsonBody))).ToArray();
        _errorCodes = new string?[BatchSize];
        var answer = new StringBuilder("{\"FailedRecordCount\":0,\"Records\":[");
        for (var i = 0; i < BatchSize; i++)
        {
            answer.Append(i == 0 ? "" : ",").Append("{\"SequenceNumber\":\"49590338271490256608559692538361571095921575989136588898\",\"ShardId\":\"shardId-000000000000\"}");
        }
        answer.Append("]}");
        _client = new KinesisClient(
            new HttpClient(new CannedAnswerHandler(Encoding.UTF8.GetBytes(answer.ToString()))),
            new Uri("http://127.0.0.1:4567"),
            new SigV4Signer("us-east-1", "kinesis", TimeProvider.System),
            new BasicAWSCredentials("test", "test"));
    }

    [GlobalCleanup]
    public void Cleanup() => _client.Dispose();

    [Benchmark(Baseline = true, Description = "PutRecords body alone, 500 records")]
    public int BodyOnly()
    {
        _body.ResetWrittenCount();
        _writer.Reset(_body);
        _writer.WriteStartObject();
        _writer.WriteString("StreamName"u8, StreamName);
        _writer.WriteStartArray("Records"u8);
        foreach (var record in _records)
        {
            _writer.WriteStartObject();
            _writer.WriteBase64String("Data"u8, record.Data);
            _writer.WriteString("PartitionKey"u8, record.PartitionKey);
            _writer.WriteEndObject();
        }
        _writer.WriteEndArray();
        _writer.WriteEndObject();
        _writer.Flush();
        return _body.WrittenCount;
    }

    [Benchmark(Description = "PutRecordsAsync, 500 records (body + SigV4 + parse)")]
    public async Task<int> PutRecords() =>
        (await _client.PutRecordsAsync(StreamName, _records, _errorCodes, reportFirstWhere: null, CancellationToken.None)).FailedRecordCount;

    /// <summary>Answers every request with the same 200 body, without a network.</summary>
    private sealed class CannedAnswerHandler(byte[] answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(answer) });
    }
}
