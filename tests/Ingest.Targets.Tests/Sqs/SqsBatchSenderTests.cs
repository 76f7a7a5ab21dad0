using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Sqs;

/// <summary>
/// The sender through the real AWS SDK (JSON protocol, error unmarshalling) against canned HTTP
/// answers: how each kind of SQS answer becomes entry outcomes. No stand-in needed.
/// </summary>
public sealed class SqsBatchSenderTests
{
    private const string QueueUrl = "http://127.0.0.1:9/000000000000/events";

    public static TheoryData<string, int, string, string?> TransientErrors => new()
    {
        { "ThrottlingException", 400, """{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}""", null },
        { "RequestThrottled", 400, """{"__type":"com.amazonaws.sqs#RequestThrottled","message":"Rate exceeded"}""", "AWS.SimpleQueueService.RequestThrottled;Sender" },
        { "KmsThrottled", 400, """{"__type":"com.amazonaws.sqs#KmsThrottled","message":"slow down"}""", "KmsThrottled;Sender" },
        { "500", 500, """{"__type":"com.amazonaws.sqs#InternalError","message":"boom"}""", null },
        { "503 html", 503, "<html>unavailable</html>", null },
        { "429", 429, """{"message":"too many"}""", null },
    };

    [Theory]
    [MemberData(nameof(TransientErrors))]
    public async Task Transient_whole_call_errors_throw_so_the_writer_retries_everything(string name, int status, string body, string? queryError)
    {
        var canned = new CannedSqs((_, _) => Json((HttpStatusCode)status, body, queryError));
        using var sender = await CreateAsync(canned);
        var batch = Batch(3);

        var error = await Assert.ThrowsAsync<SqsServiceException>(() => sender.SendAsync(batch, new EntryOutcome[3], CancellationToken.None));

        // One attempt per call: the writer owns retrying.
        Assert.True(canned.BatchCalls == 1, $"{name}: {canned.BatchCalls} calls");
        Assert.True(error.IsTransient, $"{name}: {error.ErrorCode} classified permanent");
        Assert.Equal(status, error.StatusCode);
    }

    [Fact]
    public async Task Network_errors_throw()
    {
        var canned = new CannedSqs((_, _) => throw new HttpRequestException("connection reset"));
        using var sender = await CreateAsync(canned);

        await Assert.ThrowsAsync<HttpRequestException>(() => sender.SendAsync(Batch(2), new EntryOutcome[2], CancellationToken.None));
    }

    public static TheoryData<string, string> PermanentErrors => new()
    {
        { """{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}""", "AWS.SimpleQueueService.NonExistentQueue;Sender" },
        { """{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad"}""", "InvalidParameterValue;Sender" },
        { """{"__type":"com.amazon.coral.service#AccessDeniedException","message":"no"}""", "AccessDenied;Sender" },
        { """{"__type":"com.amazonaws.sqs#BatchRequestTooLong","message":"too long"}""", "AWS.SimpleQueueService.BatchRequestTooLong;Sender" },
    };

    [Theory]
    [MemberData(nameof(PermanentErrors))]
    public async Task Permanent_whole_call_errors_reject_every_entry(string body, string queryError)
    {
        var canned = new CannedSqs((_, _) => Json(HttpStatusCode.BadRequest, body, queryError));
        using var sender = await CreateAsync(canned);
        var outcomes = new EntryOutcome[4];

        await sender.SendAsync(Batch(4), outcomes, CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(EntryOutcome.Rejected, o));
        Assert.Equal(1, canned.BatchCalls);
    }

    [Fact]
    public async Task Partial_results_map_to_delivered_retry_and_rejected_and_resends_are_written_alike()
    {
        var batch = Batch(4);
        var canned = new CannedSqs((_, request) =>
        {
            var entries = request!["Entries"]!.AsArray();
            var ids = entries.Select(e => (string)e!["Id"]!).ToList();
            if (ids.Count < 4)
            {
                // Second call: everything it gets is stored.
                return AllOk(request);
            }
            return Json(HttpStatusCode.OK, new JsonObject
            {
                ["Successful"] = new JsonArray(Ok(entries[0]!)),
                ["Failed"] = new JsonArray(
                    new JsonObject { ["Id"] = ids[1], ["SenderFault"] = false, ["Code"] = "InternalError", ["Message"] = "try again" },
                    new JsonObject { ["Id"] = ids[2], ["SenderFault"] = true, ["Code"] = "InvalidParameterValue", ["Message"] = "no" }),
                // ids[3] is not mentioned at all: it may or may not be stored, so it is resent.
            }.ToJsonString());
        });
        using var sender = await CreateAsync(canned);
        var outcomes = new EntryOutcome[4];

        await sender.SendAsync(batch, outcomes, CancellationToken.None);

        Assert.Equal([EntryOutcome.Delivered, EntryOutcome.Retry, EntryOutcome.Rejected, EntryOutcome.Retry], outcomes);

        var retry = new[] { batch[1], batch[3] };
        var again = new EntryOutcome[2];
        await sender.SendAsync(retry, again, CancellationToken.None);

        Assert.Equal([EntryOutcome.Delivered, EntryOutcome.Delivered], again);
        Assert.Equal(canned.Requests[0]!["Entries"]![1]!.ToJsonString(), canned.Requests[1]!["Entries"]![0]!.ToJsonString());
    }

    [Fact]
    public async Task Requests_carry_event_ids_bodies_and_string_attributes()
    {
        var canned = new CannedSqs((_, request) => AllOk(request!));
        using var sender = await CreateAsync(canned);
        var text = SqsTestEvents.Create("{\"a\":1}"u8.ToArray(), [new("x-device-id", "d1")]);
        var binary = SqsTestEvents.Create([0x00, 0xFF], contentType: null);

        await sender.SendAsync([text, binary], new EntryOutcome[2], CancellationToken.None);

        var entries = canned.Requests.Single()!["Entries"]!.AsArray();
        Assert.Equal(QueueUrl, (string)canned.Requests.Single()!["QueueUrl"]!);
        Assert.Equal(text.Id.ToString("N"), (string)entries[0]!["Id"]!);
        Assert.Equal("{\"a\":1}", (string)entries[0]!["MessageBody"]!);
        Assert.Equal("d1", (string)entries[0]!["MessageAttributes"]!["ingest-h-x-device-id"]!["StringValue"]!);
        Assert.Equal("String", (string)entries[0]!["MessageAttributes"]!["ingest-route"]!["DataType"]!);
        Assert.Equal("AP8=", (string)entries[1]!["MessageBody"]!);
        Assert.Equal("base64", (string)entries[1]!["MessageAttributes"]!["ingest-encoding"]!["StringValue"]!);
        Assert.Null(entries[1]!["MessageAttributes"]!["content-type"]);
        Assert.Null(entries[0]!["MessageGroupId"]);
    }

    [Fact]
    public async Task Fifo_requests_carry_group_and_deduplication_ids()
    {
        var canned = new CannedSqs((_, request) => AllOk(request!), queueUrl: "http://127.0.0.1:9/000000000000/orders.fifo");
        using var sender = await CreateAsync(canned, new TargetOptions { Type = "sqs", Queue = "orders.fifo", MessageGroupId = "header:x-device-id" });
        var e = SqsTestEvents.Create("{}"u8.ToArray(), [new("x-device-id", "d7")]);

        await sender.SendAsync([e], new EntryOutcome[1], CancellationToken.None);

        var entry = canned.Requests.Single()!["Entries"]![0]!;
        Assert.Equal("d7", (string)entry["MessageGroupId"]!);
        Assert.Equal(e.Id.ToString("N"), (string)entry["MessageDeduplicationId"]!);
    }

    [Fact]
    public async Task The_wrapper_gets_the_target_name_and_the_sdk_speaks_json()
    {
        var canned = new CannedSqs((_, request) => AllOk(request!));
        using var sender = await CreateAsync(canned);

        await sender.SendAsync(Batch(1), new EntryOutcome[1], CancellationToken.None);

        Assert.Equal("orders-target", canned.WrappedFor);
        Assert.Equal(["AmazonSQS.GetQueueUrl", "AmazonSQS.SendMessageBatch"], canned.Actions);
        Assert.Equal("application/x-amz-json-1.0", canned.LastContentType);
    }

    [Fact]
    public void Constructor_refuses_settings_the_validator_would_refuse()
    {
        using var client = new SqsClient(
            new HttpClient(),
            new Uri("http://127.0.0.1:9"),
            new Ingest.Core.Aws.SigV4Signer("us-east-1", "sqs", TimeProvider.System),
            _ => ValueTask.FromResult(new Ingest.Core.Aws.SigV4Credentials("a", "b")));

        Assert.Throws<ArgumentOutOfRangeException>(() => new SqsBatchSender(client, new SqsSenderOptions { QueueUrl = QueueUrl, MaxRecordBytes = 100 }, NullLogger.Instance));
        Assert.Throws<ArgumentException>(() => new SqsBatchSender(client, new SqsSenderOptions { QueueUrl = QueueUrl, MessageGroupId = "json:a" }, NullLogger.Instance));
        var fifo = new SqsBatchSender(client, new SqsSenderOptions { QueueUrl = QueueUrl + ".fifo", MessageGroupId = "json:a", MaxRecordBytes = 2048 }, NullLogger.Instance);
        Assert.True(fifo.IsFifo);
        Assert.Equal(new BatchLimits(10, 1_048_576, 2048), fifo.Limits);
    }

    [Fact]
    public async Task Base64_growth_counts_against_the_message_limit()
    {
        using var sender = await CreateAsync(new CannedSqs((_, request) => AllOk(request!)), new TargetOptions { Type = "sqs", Queue = "events", MaxRecordBytes = 2048 });
        var text = new byte[1500];
        text.AsSpan().Fill((byte)'a');
        var binary = new byte[1500];
        binary.AsSpan().Fill(0xFF);

        Assert.InRange(sender.MeasureWireBytes(SqsTestEvents.Create(text)), 1500, sender.Limits.MaxRecordBytes);
        Assert.True(sender.MeasureWireBytes(SqsTestEvents.Create(binary)) > sender.Limits.MaxRecordBytes);
    }

    [Fact]
    public async Task Measuring_allocates_nothing()
    {
        using var sender = await CreateAsync(new CannedSqs((_, request) => AllOk(request!)));
        var text = SqsTestEvents.Create(Encoding.UTF8.GetBytes("{\"device\":\"d1\",\"text\":\"héllo\"}"), [new("x-device-id", "d1"), new("x-other", "v")]);
        var binary = SqsTestEvents.Create([0xFF, 0x00, 0x01], [new("x-device-id", "d1")]);
        var total = sender.MeasureWireBytes(text) + sender.MeasureWireBytes(binary);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            total += sender.MeasureWireBytes(text) + sender.MeasureWireBytes(binary);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.True(total > 0);
    }

    private static async Task<SqsBatchSender> CreateAsync(CannedSqs canned, TargetOptions? options = null)
    {
        var aws = new AwsOptions { AccessKeyId = "a", SecretAccessKey = "b", Endpoints = new() { ["sqs"] = "http://127.0.0.1:9" } };
        var context = new TargetContext(aws, CreateMissing: false, NullLoggerFactory.Instance, TimeProvider.System, canned.Wrap);
        return (SqsBatchSender)await new SqsTargetKind().CreateSenderAsync(
            "orders-target", options ?? new TargetOptions { Type = "sqs", Queue = "events" }, context, CancellationToken.None);
    }

    private static List<IngestEvent> Batch(int count) =>
        Enumerable.Range(0, count).Select(i => SqsTestEvents.Create(Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"))).ToList();

    private static HttpResponseMessage AllOk(JsonNode request) =>
        Json(HttpStatusCode.OK, new JsonObject
        {
            ["Successful"] = new JsonArray(request["Entries"]!.AsArray().Select(e => (JsonNode)Ok(e!)).ToArray()),
        }.ToJsonString());

    /// <summary>A success entry with the digests SQS returns (the sender does not check them: TLS protects the body).</summary>
    private static JsonObject Ok(JsonNode entry) => new()
    {
        ["Id"] = (string)entry["Id"]!,
        ["MessageId"] = Guid.NewGuid().ToString(),
        ["MD5OfMessageBody"] = Md5Hex(Encoding.UTF8.GetBytes((string)entry["MessageBody"]!)),
        ["MD5OfMessageAttributes"] = AttributesMd5(entry["MessageAttributes"]!.AsObject()),
    };

    // SQS attribute digest: per attribute, sorted by name: length-prefixed name, data type, transport
    // type 1 (string), length-prefixed value; all big-endian 32-bit lengths.
    private static string AttributesMd5(JsonObject attributes)
    {
        using var buffer = new MemoryStream();
        void Write(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s);
            Span<byte> length = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, bytes.Length);
            buffer.Write(length);
            buffer.Write(bytes);
        }
        foreach (var (name, value) in attributes.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            Write(name);
            Write((string)value!["DataType"]!);
            buffer.WriteByte(1);
            Write((string)value["StringValue"]!);
        }
        return Md5Hex(buffer.ToArray());
    }

#pragma warning disable CA5351 // SQS's own digest, not a security use.
    private static string Md5Hex(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes));
#pragma warning restore CA5351

    private static HttpResponseMessage Json(HttpStatusCode status, string body, string? queryError = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-amz-json-1.0");
        if (queryError is not null)
        {
            response.Headers.TryAddWithoutValidation("x-amzn-query-error", queryError);
        }
        return response;
    }

    /// <summary>Answers GetQueueUrl itself and SendMessageBatch with the given function; never touches the network.</summary>
    private sealed class CannedSqs(Func<string, JsonNode?, HttpResponseMessage> sendMessageBatch, string queueUrl = QueueUrl) : DelegatingHandler
    {
        public string? WrappedFor { get; private set; }
        public List<string> Actions { get; } = [];
        public List<JsonNode?> Requests { get; } = [];
        public string? LastContentType { get; private set; }
        public int BatchCalls { get; private set; }

        public HttpMessageHandler Wrap(string target, HttpMessageHandler inner)
        {
            WrappedFor = target;
            InnerHandler = inner;
            return this;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var action = request.Headers.GetValues("X-Amz-Target").Single();
            Actions.Add(action);
            LastContentType = request.Content?.Headers.ContentType?.MediaType;
            var body = JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken));
            if (action == "AmazonSQS.GetQueueUrl")
            {
                return Json(HttpStatusCode.OK, new JsonObject { ["QueueUrl"] = queueUrl }.ToJsonString());
            }
            BatchCalls++;
            Requests.Add(body);
            return sendMessageBatch(action, body);
        }
    }
}
