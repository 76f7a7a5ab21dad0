using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Kinesis;

public sealed class KinesisBatchSenderTests
{
    private readonly ListLogger _log = new();
    private readonly List<(HttpRequestMessage Request, byte[] Body)> _requests = [];
    private Func<HttpRequestMessage, byte[], HttpResponseMessage> _answer = (_, _) => Json(200, "{}");

    [Fact]
    public async Task Sends_a_signed_PutRecords_call_with_base64_data_and_partition_keys()
    {
        _answer = (_, body) => Success(RecordCount(body));
        var sender = CreateSender("header:x-device");
        var batch = new[]
        {
            KinesisTestEvents.Json("""{"a":1}""", "application/json", new KeyValuePair<string, string>("x-device", "dev-1")),
            KinesisTestEvents.Create([0, 1, 2, 255], "application/octet-stream"),
        };
        var outcomes = await SendAsync(sender, batch);

        Assert.Equal([EntryOutcome.Delivered, EntryOutcome.Delivered], outcomes);
        var (request, sent) = Assert.Single(_requests);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("Kinesis_20131202.PutRecords", request.Headers.GetValues("X-Amz-Target").Single());
        Assert.Equal("application/x-amz-json-1.1", request.Content!.Headers.ContentType!.ToString());
        var authorization = request.Headers.GetValues("Authorization").Single();
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260102/us-east-1/kinesis/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=", authorization);

        using var doc = JsonDocument.Parse(sent);
        Assert.Equal("clicks", doc.RootElement.GetProperty("StreamName").GetString());
        var records = doc.RootElement.GetProperty("Records").EnumerateArray().ToArray();
        Assert.Equal("dev-1", records[0].GetProperty("PartitionKey").GetString());
        Assert.Equal(batch[1].Id.ToString(), records[1].GetProperty("PartitionKey").GetString());
        Assert.Equal("""{"a":1}"""u8.ToArray(), Envelope.Body(records[0].GetProperty("Data").GetBytesFromBase64()));
        Assert.Equal([0, 1, 2, 255], Envelope.Body(records[1].GetProperty("Data").GetBytesFromBase64()));
    }

    [Fact]
    public async Task Maps_per_record_error_codes_to_outcomes()
    {
        _answer = (_, _) => Json(200, """
            {"FailedRecordCount":4,"Records":[
              {"SequenceNumber":"1","ShardId":"shardId-000000000000"},
              {"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"Rate exceeded for shard"},
              {"ErrorCode":"InternalFailure","ErrorMessage":"Internal service failure."},
              {"ErrorCode":"ValidationException","ErrorMessage":"1 validation error detected"},
              {"ErrorCode":"SomethingNewException","ErrorMessage":"?"},
              {"SequenceNumber":"2","ShardId":"shardId-000000000000"}
            ],"EncryptionType":"NONE"}
            """);
        var sender = CreateSender();

        var outcomes = await SendAsync(sender, Events(6));

        Assert.Equal(
            [EntryOutcome.Delivered, EntryOutcome.Retry, EntryOutcome.Retry, EntryOutcome.Rejected, EntryOutcome.Retry, EntryOutcome.Delivered],
            outcomes);
        Assert.Contains(_log.Entries, l => l.Level == LogLevel.Error && l.Message.Contains("ValidationException", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_retried_entry_is_sent_with_the_same_data_and_key()
    {
        var calls = 0;
        _answer = (_, _) => ++calls == 1
            ? Json(200, """{"FailedRecordCount":1,"Records":[{"ErrorCode":"ProvisionedThroughputExceededException","ErrorMessage":"x"}]}""")
            : Json(200, """{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"}]}""");
        var sender = CreateSender();
        var e = KinesisTestEvents.Json("""{"n":1}""");
        sender.MeasureWireBytes(e);

        Assert.Equal([EntryOutcome.Retry], await SendAsync(sender, [e], measure: false));
        Assert.Equal([EntryOutcome.Delivered], await SendAsync(sender, [e], measure: false));

        Assert.Equal(RecordOf(_requests[0].Body), RecordOf(_requests[1].Body));
        Assert.Equal(e.Id.ToString(), RecordOf(_requests[1].Body).Key);
    }

    [Theory]
    [InlineData(400, """{"__type":"ProvisionedThroughputExceededException","message":"Rate exceeded"}""")]
    [InlineData(400, """{"__type":"com.amazonaws.kinesis.v20131202#ThrottlingException","message":"slow down"}""")]
    [InlineData(400, """{"__type":"LimitExceededException","message":"too many"}""")]
    [InlineData(400, """{"__type":"KMSThrottlingException","message":"kms"}""")]
    [InlineData(500, """{"__type":"InternalFailure","message":"oops"}""")]
    [InlineData(503, "<html>Service Unavailable</html>")]
    [InlineData(502, "")]
    public async Task Transient_failures_of_the_whole_call_throw_so_the_writer_retries(int status, string body)
    {
        _answer = (_, _) => Json(status, body);
        var sender = CreateSender();

        var ex = await Assert.ThrowsAsync<KinesisException>(() => SendAsync(sender, Events(3)));

        Assert.True(ex.IsTransient);
        Assert.Equal(status, ex.StatusCode);
    }

    [Theory]
    [InlineData(400, """{"__type":"ValidationException","message":"1 validation error detected: Value at 'records.1.member.data' failed"}""", "ValidationException")]
    [InlineData(400, """{"__type":"ResourceNotFoundException","message":"Stream clicks under account 1 not found."}""", "ResourceNotFoundException")]
    [InlineData(400, """{"__type":"AccessDeniedException","Message":"not authorized to perform kinesis:PutRecords"}""", "AccessDeniedException")]
    [InlineData(403, """{"__type":"InvalidSignatureException","message":"The request signature we calculated does not match"}""", "InvalidSignatureException")]
    [InlineData(400, """{"__type":"KMSAccessDeniedException","message":"kms"}""", "KMSAccessDeniedException")]
    [InlineData(413, "", "HTTP 413")]
    public async Task Sender_faults_of_the_whole_call_reject_every_entry_and_are_logged(int status, string body, string logged)
    {
        _answer = (_, _) => Json(status, body);
        var sender = CreateSender();

        var outcomes = await SendAsync(sender, Events(3));

        Assert.All(outcomes, o => Assert.Equal(EntryOutcome.Rejected, o));
        var entry = Assert.Single(_log.Entries, l => l.Level == LogLevel.Error);
        Assert.Contains(logged, entry.Message, StringComparison.Ordinal);
        Assert.Contains("clicks", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Network_failures_propagate_as_transient()
    {
        _answer = (_, _) => throw new HttpRequestException("connection refused");
        var sender = CreateSender();

        await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync(sender, Events(2)));
    }

    [Fact]
    public async Task A_call_that_outlives_the_timeout_throws_so_the_writer_retries()
    {
        using var http = new HttpClient(new StallingHandler()) { Timeout = TimeSpan.FromMilliseconds(200) };
        using var client = new KinesisClient(http, new Uri("https://kinesis.us-east-1.amazonaws.com"),
            new SigV4Signer("us-east-1", "kinesis", TimeProvider.System), new BasicAWSCredentials("AKIDTEST", "secret"));
        var sender = new KinesisBatchSender("clicks", "clicks", client, new KinesisRecordEncoder(null),
            KinesisBatchSender.LimitsFor(new TargetOptions()), _log);

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => SendAsync(sender, Events(1)));

        Assert.IsType<TimeoutException>(ex.InnerException);
    }

    [Theory]
    [InlineData("""{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"s"}]}""")]
    [InlineData("""{"FailedRecordCount":0}""")]
    [InlineData("not json")]
    public async Task An_answer_that_does_not_match_the_batch_throws_as_transient(string body)
    {
        _answer = (_, _) => Json(200, body);
        var sender = CreateSender();

        var ex = await Assert.ThrowsAsync<KinesisException>(() => SendAsync(sender, Events(2)));

        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task A_wrong_FailedRecordCount_is_logged_and_the_per_record_codes_win()
    {
        _answer = (_, _) => Json(200, """{"FailedRecordCount":2,"Records":[{"SequenceNumber":"1","ShardId":"s"},{"ErrorCode":"InternalFailure","ErrorMessage":"x"}]}""");
        var logger = new ListLogger();
        var sender = CreateSender(clientLogger: logger);

        var outcomes = await SendAsync(sender, Events(2));

        Assert.Equal([EntryOutcome.Delivered, EntryOutcome.Retry], outcomes);
        Assert.Contains(logger.Entries, l => l.Level == LogLevel.Warning && l.Message.Contains("FailedRecordCount 2", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, 1048576, 5242880)]
    [InlineData(2048L, 2048, 5242880)]
    [InlineData(10485760L, 10485760, 10485760)]
    public void Limits_follow_maxRecordBytes(long? maxRecordBytes, long record, long call)
    {
        var limits = KinesisBatchSender.LimitsFor(new TargetOptions { Type = "kinesis", Stream = "s", MaxRecordBytes = maxRecordBytes });

        Assert.Equal(new BatchLimits(500, call, record), limits);
    }

    [Fact]
    public void Measured_size_counts_envelope_and_key()
    {
        var sender = CreateSender("header:x-device");
        var e = KinesisTestEvents.Json("""{"a":1}""", "application/json", new KeyValuePair<string, string>("x-device", "dev-1"));

        var size = sender.MeasureWireBytes(e);

        Assert.Equal(new KinesisRecordEncoder("header:x-device").Encode(e).WireBytes, size);
    }

    private KinesisBatchSender CreateSender(string? partitionKey = null, ILogger? clientLogger = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero));
        var http = new HttpClient(new StubHandler(this));
        var client = new KinesisClient(http, new Uri("https://kinesis.us-east-1.amazonaws.com"), new SigV4Signer("us-east-1", "kinesis", time),
            new BasicAWSCredentials("AKIDTEST", "secret"), clientLogger);
        var options = new TargetOptions { Type = "kinesis", Stream = "clicks", PartitionKey = partitionKey };
        return new KinesisBatchSender("clicks", "clicks", client, new KinesisRecordEncoder(partitionKey), KinesisBatchSender.LimitsFor(options), _log);
    }

    private static async Task<EntryOutcome[]> SendAsync(KinesisBatchSender sender, IReadOnlyList<IngestEvent> batch, bool measure = true)
    {
        if (measure)
        {
            foreach (var e in batch)
            {
                sender.MeasureWireBytes(e);
            }
        }
        var outcomes = new EntryOutcome[batch.Count];
        await sender.SendAsync(batch, outcomes, CancellationToken.None);
        return outcomes;
    }

    private static IngestEvent[] Events(int count) =>
        Enumerable.Range(0, count).Select(i => KinesisTestEvents.Json($$"""{"i":{{i}}}""")).ToArray();

    private static int RecordCount(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("Records").GetArrayLength();
    }

    private static (string Data, string Key) RecordOf(byte[] body)
    {
        using var doc = JsonDocument.Parse(body);
        var record = doc.RootElement.GetProperty("Records")[0];
        return (record.GetProperty("Data").GetString()!, record.GetProperty("PartitionKey").GetString()!);
    }

    private static HttpResponseMessage Success(int count) =>
        Json(200, $$"""{"FailedRecordCount":0,"Records":[{{string.Join(',', Enumerable.Range(0, count).Select(i => $$"""{"SequenceNumber":"{{i}}","ShardId":"shardId-000000000000"}"""))}}]}""");

    private static HttpResponseMessage Json(int status, string body) =>
        new((HttpStatusCode)status) { Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1") };

    private sealed class StallingHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    private sealed class StubHandler(KinesisBatchSenderTests owner) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
            owner._requests.Add((request, body));
            return owner._answer(request, body);
        }
    }
}
