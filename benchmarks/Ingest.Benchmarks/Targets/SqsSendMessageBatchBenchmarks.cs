using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Aws;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;

namespace Ingest.Benchmarks.Targets;

/// <summary>
/// One whole <c>SendMessageBatch</c> call of 10 events of 512 B against an in-memory handler that
/// answers "all stored" at once (with the digests the SDK checks): the AWS SDK's
/// <c>SendMessageBatchAsync</c> (entries, pipeline, endpoint rules, signer, MD5 checks) against
/// <see cref="SqsClient"/> (request written from the events, SigV4, answer read with Utf8JsonReader).
/// </summary>
[MemoryDiagnoser]
public class SqsSendMessageBatchBenchmarks : IDisposable
{
    private const int BatchSize = 10;
    private const string Endpoint = "https://sqs.us-east-1.amazonaws.com";
    private const string QueueUrl = Endpoint + "/123456789012/events";
    private readonly IngestEvent[] _events = Enumerable.Range(0, BatchSize).Select(i => SampleEvents.Create(i, SampleEvents.JsonBody)).ToArray();
    private readonly EntryOutcome[] _outcomes = new EntryOutcome[BatchSize];
    private CannedAnswer _handler = null!;
    private AwsSdkHttpClientFactory _factory = null!;
    private AmazonSQSClient _sdk = null!;
    private SqsClient _client = null!;

    [GlobalSetup]
    public void Setup()
    {
        _handler = new CannedAnswer(Encoding.UTF8.GetBytes(AllStoredAnswer()));
        _factory = new AwsSdkHttpClientFactory(_handler);
        _sdk = new AmazonSQSClient(
            new BasicAWSCredentials("AKIDEXAMPLE", "secret"),
            new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0, HttpClientFactory = _factory });
        var credentials = new SigV4Credentials("AKIDEXAMPLE", "secret");
        _client = new SqsClient(
            new HttpClient(_handler, disposeHandler: false),
            new Uri(Endpoint),
            new SigV4Signer("us-east-1", "sqs", TimeProvider.System),
            _ => ValueTask.FromResult(credentials));
    }

    [Benchmark(Baseline = true, Description = "AWS SDK SendMessageBatchAsync, 10 x 512 B")]
    public async Task<int> Sdk()
    {
        var entries = new List<SendMessageBatchRequestEntry>(BatchSize);
        foreach (var e in _events)
        {
            entries.Add(new SendMessageBatchRequestEntry
            {
                Id = e.Id.ToString("N"),
                MessageBody = Encoding.UTF8.GetString(e.Body.Span),
                MessageAttributes = Attributes(e).ToDictionary(a => a.Key, a => new MessageAttributeValue { DataType = "String", StringValue = a.Value }, StringComparer.Ordinal),
            });
        }
        var response = await _sdk.SendMessageBatchAsync(new SendMessageBatchRequest { QueueUrl = QueueUrl, Entries = entries });
        return response.Successful.Count;
    }

    [Benchmark(Description = "SqsClient.SendMessageBatchAsync, 10 x 512 B")]
    public async Task<int> HandWritten()
    {
        var failures = await _client.SendMessageBatchAsync(QueueUrl, _events, null, _outcomes, CancellationToken.None);
        return failures.Count;
    }

    public void Dispose()
    {
        _client?.Dispose();
        _sdk?.Dispose();
        _factory?.Dispose();
        GC.SuppressFinalize(this);
    }

    // The attributes SqsMessageFormat writes for these events, in its order.
    private static List<KeyValuePair<string, string>> Attributes(IngestEvent e) =>
    [
        new(SqsMessageFormat.EventIdAttribute, e.Id.ToString("D")),
        new(SqsMessageFormat.RouteAttribute, e.RouteKey),
        new(SqsMessageFormat.ReceivedAtAttribute, e.ReceivedAtMs.ToString(CultureInfo.InvariantCulture)),
        new(SqsMessageFormat.ContentTypeAttribute, e.ContentType!),
        new(SqsMessageFormat.SourceIpAttribute, e.SourceIp!),
        new(SqsMessageFormat.TraceParentAttribute, e.TraceParent!),
    ];

    private string AllStoredAnswer()
    {
        var successful = new JsonArray();
        foreach (var e in _events)
        {
            successful.Add(new JsonObject
            {
                ["Id"] = e.Id.ToString("N"),
                ["MessageId"] = Guid.NewGuid().ToString(),
                ["MD5OfMessageBody"] = Md5Hex(e.Body.ToArray()),
                ["MD5OfMessageAttributes"] = AttributesMd5(Attributes(e)),
            });
        }
        return new JsonObject { ["Successful"] = successful, ["Failed"] = new JsonArray() }.ToJsonString();
    }

    // SQS attribute digest: sorted by name; length-prefixed name, data type, transport type 1, length-prefixed value.
    private static string AttributesMd5(List<KeyValuePair<string, string>> attributes)
    {
        using var buffer = new MemoryStream();
        void Write(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            buffer.Write(length);
            buffer.Write(bytes);
        }
        foreach (var (name, value) in attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            Write(name);
            Write("String");
            buffer.WriteByte(1);
            Write(value);
        }
        return Md5Hex(buffer.ToArray());
    }

#pragma warning disable CA5351 // SQS's own digest, not a security use.
    private static string Md5Hex(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));
#pragma warning restore CA5351

    /// <summary>Reads the request body (as the network would) and answers with the same bytes every time.</summary>
    private sealed class CannedAnswer(byte[] answer) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await request.Content!.CopyToAsync(Stream.Null, cancellationToken);
            var content = new ByteArrayContent(answer);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-amz-json-1.0");
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = content, RequestMessage = request };
        }
    }
}
