using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Ingest.Core.Auth;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Sqs;

/// <summary>
/// The hand-written SendMessageBatch client: the exact request bytes, how answers (good, partial,
/// malformed) map to entry outcomes, and that its signature passes the gateway's own SigV4 verifier.
/// No network: canned HTTP answers.
/// </summary>
public sealed class SqsClientTests
{
    private const string QueueUrl = "https://sqs.us-east-1.amazonaws.com/123456789012/events";
    private static readonly Guid FixedId = Guid.Parse("0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");

    [Fact]
    public void Text_body_request_is_the_golden_json()
    {
        var e = Event(FixedId, Encoding.UTF8.GetBytes("{\"a\":\"ü\",\"t\":\"x\ty\"}"), "application/json", [new("x-device-id", "d1")]);

        Assert.Equal(
            """{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/events","Entries":[{"Id":"0192a1b2c3d47e5f8a9b0c1d2e3f4a5b","MessageBody":"{\"a\":\"ü\",\"t\":\"x\ty\"}","MessageAttributes":{"ingest-event-id":{"DataType":"String","StringValue":"0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},"ingest-route":{"DataType":"String","StringValue":"POST /v1/events"},"ingest-received-at":{"DataType":"String","StringValue":"1764000000000"},"content-type":{"DataType":"String","StringValue":"application/json"},"ingest-h-x-device-id":{"DataType":"String","StringValue":"d1"}}}]}""",
            Request([e], fifoGroup: null));
    }

    [Fact]
    public void Binary_and_empty_body_requests_are_the_golden_json()
    {
        var binary = Event(FixedId, [0x00, 0xFF, 0x10], contentType: null);
        var empty = Event(Guid.Parse("0192a1b2-c3d4-7e5f-8a9b-000000000002"), [], contentType: null);

        Assert.Equal(
            """{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/events","Entries":["""
            + """{"Id":"0192a1b2c3d47e5f8a9b0c1d2e3f4a5b","MessageBody":"AP8Q","MessageAttributes":{"ingest-event-id":{"DataType":"String","StringValue":"0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},"ingest-route":{"DataType":"String","StringValue":"POST /v1/events"},"ingest-received-at":{"DataType":"String","StringValue":"1764000000000"},"ingest-encoding":{"DataType":"String","StringValue":"base64"}}},"""
            + """{"Id":"0192a1b2c3d47e5f8a9b000000000002","MessageBody":"-","MessageAttributes":{"ingest-event-id":{"DataType":"String","StringValue":"0192a1b2-c3d4-7e5f-8a9b-000000000002"},"ingest-route":{"DataType":"String","StringValue":"POST /v1/events"},"ingest-received-at":{"DataType":"String","StringValue":"1764000000000"},"ingest-encoding":{"DataType":"String","StringValue":"empty"}}}]}""",
            Request([binary, empty], fifoGroup: null));
    }

    [Fact]
    public void Fifo_request_is_the_golden_json()
    {
        var e = Event(FixedId, "{\"device\":\"d 9\"}"u8.ToArray(), contentType: null);

        Assert.Equal(
            """{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/events","Entries":[{"Id":"0192a1b2c3d47e5f8a9b0c1d2e3f4a5b","MessageBody":"{\"device\":\"d 9\"}","MessageAttributes":{"ingest-event-id":{"DataType":"String","StringValue":"0192a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"},"ingest-route":{"DataType":"String","StringValue":"POST /v1/events"},"ingest-received-at":{"DataType":"String","StringValue":"1764000000000"}},"MessageGroupId":"d%209","MessageDeduplicationId":"0192a1b2c3d47e5f8a9b0c1d2e3f4a5b"}]}""",
            Request([e], new SqsGroupIdSource("json:device")));
    }

    [Fact]
    public void Successful_failed_and_unmentioned_entries_map_to_outcomes_in_any_order()
    {
        var batch = Batch(5);
        var outcomes = new EntryOutcome[5];
        // Failed listed first: the sender fault of entry 2 must win over its (contradictory) success.
        var answer = $$"""
            {"Failed":[{"Id":"{{batch[1].Id:N}}","SenderFault":false,"Code":"InternalError","Message":"again"},
                       {"Id":"{{batch[2].Id:N}}","SenderFault":true,"Code":"InvalidParameterValue","Message":"no"}],
             "Successful":[{"Id":"{{batch[0].Id:N}}","MessageId":"m0","MD5OfMessageBody":"x"},{"Id":"{{batch[2].Id:N}}"}],
             "Extra":{"ignored":[1,2]} }
            """;

        var failures = SqsClient.ParseSendMessageBatch(Encoding.UTF8.GetBytes(answer), batch, outcomes);

        Assert.Equal([EntryOutcome.Delivered, EntryOutcome.Retry, EntryOutcome.Rejected, EntryOutcome.Retry, EntryOutcome.Retry], outcomes);
        Assert.Equal([new SqsEntryFailure(1, false, "InternalError", "again"), new SqsEntryFailure(2, true, "InvalidParameterValue", "no")], failures);
    }

    public static TheoryData<string, string> UnmappableAnswers => new()
    {
        { "empty object", "{}" },
        { "null lists", """{"Successful":null,"Failed":null}""" },
        { "unknown ids", """{"Successful":[{"Id":"ffffffffffffffffffffffffffffffff"},{"Id":"0"},{"Id":"not-a-guid-at-all-not-a-guid-at-"}]}""" },
        { "ids of the wrong type", """{"Successful":[{"Id":1},{"Id":null},{}]}""" },
        { "escaped id", """{"Successful":[{"Id":"\u0030192"}]}""" },
    };

    [Theory]
    [MemberData(nameof(UnmappableAnswers))]
    public void Entries_an_answer_does_not_name_are_retried_never_delivered(string name, string answer)
    {
        var batch = Batch(3);
        var outcomes = new EntryOutcome[3];

        var failures = SqsClient.ParseSendMessageBatch(Encoding.UTF8.GetBytes(answer), batch, outcomes);

        Assert.True(outcomes.All(o => o == EntryOutcome.Retry), name);
        Assert.Empty(failures);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>ok</html>")]
    [InlineData("[]")]
    [InlineData("\"Successful\"")]
    [InlineData("""{"Successful":{"Id":"x"}}""")]
    [InlineData("""{"Failed":"none"}""")]
    [InlineData("""{"Successful":[{"Id":"x"}""")]
    public void Malformed_answers_throw_a_transient_error(string answer)
    {
        var outcomes = new EntryOutcome[2];

        var error = Assert.Throws<SqsServiceException>(() => SqsClient.ParseSendMessageBatch(Encoding.UTF8.GetBytes(answer), Batch(2), outcomes));

        Assert.True(error.IsTransient);
        Assert.Equal("MalformedResponse", error.ErrorType);
        Assert.DoesNotContain(EntryOutcome.Delivered, outcomes);
    }

    [Fact]
    public async Task Error_answers_carry_status_type_and_query_code()
    {
        var handler = new AnswerWith(_ => Answer(HttpStatusCode.BadRequest,
            """{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}""",
            "AWS.SimpleQueueService.NonExistentQueue;Sender"));
        using var client = Client(handler, TimeProvider.System, out _);

        var error = await Assert.ThrowsAsync<SqsServiceException>(() =>
            client.SendMessageBatchAsync(QueueUrl, Batch(1), null, new EntryOutcome[1], CancellationToken.None));

        Assert.Equal(400, error.StatusCode);
        Assert.Equal("QueueDoesNotExist", error.ErrorType);
        Assert.Equal("AWS.SimpleQueueService.NonExistentQueue", error.ErrorCode);
        Assert.Equal("The specified queue does not exist.", error.Message);
        Assert.False(error.IsTransient);
    }

    [Fact]
    public async Task Requests_are_signed_so_the_gateways_own_verifier_accepts_them()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 6, 0, 0, TimeSpan.Zero));
        HttpRequestMessage? sent = null;
        byte[]? sentBody = null;
        var handler = new AnswerWith(request =>
        {
            sent = request;
            sentBody = request.Content!.ReadAsByteArrayAsync().GetAwaiter().GetResult();
            return Answer(HttpStatusCode.OK, "{}");
        });
        using var client = Client(handler, time, out var credentials);
        var batch = Batch(2);

        await client.SendMessageBatchAsync(QueueUrl, batch, null, new EntryOutcome[2], CancellationToken.None);

        Assert.NotNull(sent);
        Assert.Equal("AmazonSQS.SendMessageBatch", sent.Headers.GetValues("X-Amz-Target").Single());
        Assert.Equal("application/x-amz-json-1.0", sent.Content!.Headers.ContentType!.MediaType);
        var verifier = new SigV4Verifier([new(credentials.AccessKey, credentials.SecretKey)], TimeSpan.FromMinutes(5), time);
        Assert.Null(verifier.Verify(AsServerRequest(sent, sentBody!), sentBody, out var accessKey));
        Assert.Equal(credentials.AccessKey, accessKey);
        Assert.Contains("/us-east-1/sqs/aws4_request", sent.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);

        // One changed byte of the body and the signature no longer holds.
        var tampered = sentBody!.ToArray();
        tampered[^3] ^= 1;
        Assert.NotNull(verifier.Verify(AsServerRequest(sent, tampered), tampered, out _));
    }

    [Fact]
    public async Task A_call_with_no_answer_times_out_and_is_retried_by_the_writer()
    {
        var handler = new AnswerWith(_ => Answer(HttpStatusCode.OK, """{"QueueUrl":"http://127.0.0.1:9/000000000000/events"}"""), hangOnBatch: true);
        var aws = new AwsOptions { AccessKeyId = "a", SecretAccessKey = "b", Endpoints = new() { ["sqs"] = "http://127.0.0.1:9" } };
        var context = new TargetContext(aws, CreateMissing: false, NullLoggerFactory.Instance, TimeProvider.System, handler.Wrap);
        using var sender = (SqsBatchSender)await new SqsTargetKind().CreateSenderAsync(
            "t", new TargetOptions { Type = "sqs", Queue = "events", Timeout = TimeSpan.FromMilliseconds(300) }, context, CancellationToken.None);
        var outcomes = new EntryOutcome[2];

        // The writer treats any exception as "retry the whole batch"; a timeout must not look like a refusal.
        await Assert.ThrowsAsync<TaskCanceledException>(() => sender.SendAsync(Batch(2), outcomes, CancellationToken.None));
        Assert.DoesNotContain(EntryOutcome.Rejected, outcomes);
    }

    private static string Request(IReadOnlyList<IngestEvent> batch, SqsGroupIdSource? fifoGroup)
    {
        using var buffer = new PooledByteBuffer(256);
        SqsClient.WriteSendMessageBatch(buffer, QueueUrl, batch, fifoGroup);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static SqsClient Client(AnswerWith handler, TimeProvider time, out SigV4Credentials credentials)
    {
        var fixedCredentials = new SigV4Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        credentials = fixedCredentials;
        return new SqsClient(
            new HttpClient(handler),
            new Uri("https://sqs.us-east-1.amazonaws.com"),
            new SigV4Signer("us-east-1", "sqs", time),
            _ => ValueTask.FromResult(fixedCredentials));
    }

    /// <summary>The request as Kestrel would hand it to the verifier.</summary>
    private static HttpRequest AsServerRequest(HttpRequestMessage sent, byte[] body)
    {
        var context = new DefaultHttpContext();
        var request = context.Request;
        request.Method = sent.Method.Method;
        request.Scheme = sent.RequestUri!.Scheme;
        request.Path = sent.RequestUri.AbsolutePath;
        foreach (var (name, values) in sent.Headers)
        {
            request.Headers.Append(name, values.ToArray());
        }
        foreach (var (name, values) in sent.Content!.Headers)
        {
            request.Headers.Append(name, values.ToArray());
        }
        request.Host = new HostString(sent.Headers.Host!);
        request.Body = new MemoryStream(body);
        return request;
    }

    private static List<IngestEvent> Batch(int count) =>
        Enumerable.Range(0, count).Select(i => Event(Guid.CreateVersion7(), Encoding.UTF8.GetBytes($"{{\"n\":{i}}}"), "application/json")).ToList();

    private static IngestEvent Event(Guid id, byte[] body, string? contentType, KeyValuePair<string, string>[]? headers = null) => new()
    {
        Id = id,
        ReceivedAtMs = 1_764_000_000_000,
        RouteKey = "POST /v1/events",
        ContentType = contentType,
        Headers = headers ?? [],
        Body = body,
    };

    private static HttpResponseMessage Answer(HttpStatusCode status, string body, string? queryError = null)
    {
        var response = new HttpResponseMessage(status) { Content = new StringContent(body) };
        response.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-amz-json-1.0");
        if (queryError is not null)
        {
            response.Headers.TryAddWithoutValidation("x-amzn-query-error", queryError);
        }
        return response;
    }

    /// <summary>Answers every call with the function; with <c>hangOnBatch</c>, SendMessageBatch calls never get an answer.</summary>
    private sealed class AnswerWith(Func<HttpRequestMessage, HttpResponseMessage> answer, bool hangOnBatch = false) : DelegatingHandler
    {
        public HttpMessageHandler Wrap(string target, HttpMessageHandler inner)
        {
            InnerHandler = inner;
            return this;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (hangOnBatch && request.Headers.TryGetValues("X-Amz-Target", out var target) && target.Single() == SqsClient.SendMessageBatchTarget)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return answer(request);
        }
    }
}
