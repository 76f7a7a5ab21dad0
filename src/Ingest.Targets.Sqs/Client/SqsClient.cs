using System.Buffers.Text;
using System.Net.Http.Headers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingest.Core.Aws;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;

namespace Ingest.Targets.Sqs;

/// <summary>One entry SQS listed under <c>Failed</c>.</summary>
/// <param name="Index">Position of the entry in the batch.</param>
/// <param name="SenderFault">True when the entry itself is at fault (resending cannot help).</param>
/// <param name="Code">Error code, e.g. <c>InvalidParameterValue</c>.</param>
/// <param name="Message">The service's message.</param>
internal readonly record struct SqsEntryFailure(int Index, bool SenderFault, string? Code, string? Message);

/// <summary>
/// The one SQS call on the delivery path, <c>SendMessageBatch</c>, over the JSON protocol
/// (<c>X-Amz-Target: AmazonSQS.SendMessageBatch</c>, <c>application/x-amz-json-1.0</c>), signed with
/// SigV4 for service <c>sqs</c>. The request is written from the events straight into a pooled
/// buffer and the answer read with <see cref="Utf8JsonReader"/>; the AWS SDK keeps the control
/// plane (queue lookup and creation at start). Refusals of the whole call throw
/// <see cref="SqsServiceException"/>; network failures <see cref="HttpRequestException"/>; the
/// client's timeout <see cref="TaskCanceledException"/>.
/// </summary>
/// <remarks>
/// The answer's <c>MD5OfMessageBody</c> is not checked: TLS already protects the body in transit,
/// and the bytes written are pinned by golden-request and stand-in round-trip tests.
/// </remarks>
internal sealed class SqsClient : IDisposable
{
    /// <summary>Content type of the JSON 1.0 protocol.</summary>
    public const string ContentType = "application/x-amz-json-1.0";

    /// <summary>The <c>X-Amz-Target</c> of SendMessageBatch.</summary>
    public const string SendMessageBatchTarget = "AmazonSQS.SendMessageBatch";

    /// <summary>Largest answer read; a SendMessageBatch answer for 10 entries is a few KB.</summary>
    public const int MaxAnswerBytes = 1024 * 1024;

    private static readonly MediaTypeHeaderValue JsonContentType = new(ContentType);

    // Relaxed escaping: text bodies go as UTF-8, not \uXXXX per non-ASCII character. The request is
    // JSON read by SQS, never embedded in HTML, so the HTML-sensitive characters need no escaping.
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly HttpClient _http;
    private readonly SigV4Signer _signer;
    private readonly Func<CancellationToken, ValueTask<SigV4Credentials>> _credentials;

    /// <param name="http">Client to send with (its <c>Timeout</c> is the call timeout); owned and disposed by this instance.</param>
    /// <param name="endpoint">Service endpoint, e.g. <c>https://sqs.us-east-1.amazonaws.com</c>.</param>
    /// <param name="signer">Signer for the region and service <c>sqs</c>.</param>
    /// <param name="credentials">Credentials, asked on every call (refreshing ones cache themselves).</param>
    public SqsClient(HttpClient http, Uri endpoint, SigV4Signer signer, Func<CancellationToken, ValueTask<SigV4Credentials>> credentials)
    {
        _http = http;
        Endpoint = endpoint;
        _signer = signer;
        _credentials = credentials;
    }

    /// <summary>The endpoint calls go to.</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// Sends the batch to <paramref name="queueUrl"/>. On a 200 answer, <paramref name="outcomes"/>[i]
    /// becomes <see cref="EntryOutcome.Delivered"/> for entries listed under <c>Successful</c>,
    /// <see cref="EntryOutcome.Rejected"/> for entries failed with <c>SenderFault</c>, and
    /// <see cref="EntryOutcome.Retry"/> for every other entry (failed, or not mentioned: it may or may not
    /// be stored). Returns the failed entries (empty when none).
    /// </summary>
    public async Task<IReadOnlyList<SqsEntryFailure>> SendMessageBatchAsync(
        string queueUrl,
        IReadOnlyList<IngestEvent> batch,
        SqsGroupIdSource? fifoGroup,
        EntryOutcome[] outcomes,
        CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(outcomes.Length, batch.Count, nameof(outcomes));
        using var body = new PooledByteBuffer(EstimateRequestBytes(queueUrl, batch));
        WriteSendMessageBatch(body, queueUrl, batch, fifoGroup);

        var credentials = await _credentials(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", SendMessageBatchTarget);
        // Asks for the query-protocol error code too (x-amzn-query-error), as the AWS SDKs do.
        request.Headers.TryAddWithoutValidation("x-amzn-query-mode", "true");
        request.Content = new ReadOnlyMemoryContent(body.WrittenMemory);
        request.Content.Headers.ContentType = JsonContentType;
        _signer.Sign(request, body.WrittenSpan, credentials);

        // ResponseContentRead: the client's timeout then covers the answer's body as well.
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        using var answer = new PooledByteBuffer(4096);
        await ReadAnswerAsync(response, answer, cancellationToken);
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            throw ErrorFrom(status, response, answer.WrittenSpan);
        }
        return ParseSendMessageBatch(answer.WrittenSpan, batch, outcomes);
    }

    /// <summary>Writes the SendMessageBatch request object: <c>QueueUrl</c> and one entry per event.</summary>
    public static void WriteSendMessageBatch(PooledByteBuffer destination, string queueUrl, IReadOnlyList<IngestEvent> batch, SqsGroupIdSource? fifoGroup)
    {
        using var writer = new Utf8JsonWriter(destination, WriterOptions);
        writer.WriteStartObject();
        writer.WriteString("QueueUrl"u8, queueUrl);
        writer.WriteStartArray("Entries"u8);
        for (var i = 0; i < batch.Count; i++)
        {
            SqsMessageFormat.WriteEntry(writer, batch[i], fifoGroup);
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    /// <summary>
    /// Reads a 200 answer into <paramref name="outcomes"/> (see <see cref="SendMessageBatchAsync"/>).
    /// Ids are matched against the events' ids; unknown ids are ignored, so those entries stay
    /// <see cref="EntryOutcome.Retry"/>. An answer that is not a JSON object (or whose lists are not
    /// lists) throws a transient <see cref="SqsServiceException"/>: resending is safer than guessing.
    /// </summary>
    public static IReadOnlyList<SqsEntryFailure> ParseSendMessageBatch(ReadOnlySpan<byte> answer, IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes)
    {
        outcomes.AsSpan(0, batch.Count).Fill(EntryOutcome.Retry);
        List<SqsEntryFailure>? failures = null;
        try
        {
            var reader = new Utf8JsonReader(answer);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Malformed("the answer is not a JSON object");
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var successful = reader.ValueTextEquals("Successful"u8);
                var failed = !successful && reader.ValueTextEquals("Failed"u8);
                reader.Read();
                if (!successful && !failed)
                {
                    reader.Skip();
                    continue;
                }
                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Malformed(successful ? "Successful is not a list" : "Failed is not a list");
                }
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadEntry(ref reader, batch, outcomes, successful, ref failures);
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw Malformed("the answer is not a JSON object");
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            throw Malformed(ex.Message);
        }
        return failures ?? (IReadOnlyList<SqsEntryFailure>)[];
    }

    public void Dispose() => _http.Dispose();

    private static void ReadEntry(ref Utf8JsonReader reader, IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, bool successful, ref List<SqsEntryFailure>? failures)
    {
        var index = -1;
        var senderFault = false;
        string? code = null;
        string? message = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("Id"u8))
            {
                reader.Read();
                index = reader.TokenType == JsonTokenType.String ? IndexOf(batch, reader.ValueSpan, reader.ValueIsEscaped) : -1;
            }
            else if (!successful && reader.ValueTextEquals("SenderFault"u8))
            {
                reader.Read();
                senderFault = reader.TokenType == JsonTokenType.True;
            }
            else if (!successful && reader.ValueTextEquals("Code"u8))
            {
                reader.Read();
                code = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (!successful && reader.ValueTextEquals("Message"u8))
            {
                reader.Read();
                message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        if (index < 0)
        {
            // An id we did not send: nothing to map it to, so the entry it meant stays Retry.
            return;
        }
        if (successful)
        {
            // A sender fault reported for the same id wins, whatever the order of the lists.
            if (outcomes[index] == EntryOutcome.Retry)
            {
                outcomes[index] = EntryOutcome.Delivered;
            }
            return;
        }
        if (senderFault)
        {
            outcomes[index] = EntryOutcome.Rejected;
        }
        (failures ??= []).Add(new SqsEntryFailure(index, senderFault, code, message));
    }

    // Entry ids are event ids in N format: parse once, compare Guids, no strings.
    private static int IndexOf(IReadOnlyList<IngestEvent> batch, ReadOnlySpan<byte> id, bool escaped)
    {
        if (escaped || id.Length != 32 || !Utf8Parser.TryParse(id, out Guid value, out var consumed, 'N') || consumed != 32)
        {
            return -1;
        }
        for (var i = 0; i < batch.Count; i++)
        {
            if (batch[i].Id == value)
            {
                return i;
            }
        }
        return -1;
    }

    private static int EstimateRequestBytes(string queueUrl, IReadOnlyList<IngestEvent> batch)
    {
        // Base64 growth plus room for the attributes; the buffer grows if a body needs escaping.
        long estimate = 64 + queueUrl.Length;
        for (var i = 0; i < batch.Count; i++)
        {
            estimate += ((batch[i].Body.Length + 2L) / 3 * 4) + 1024;
        }
        return (int)Math.Min(estimate, 8 * 1024 * 1024);
    }

    private static async Task ReadAnswerAsync(HttpResponseMessage response, PooledByteBuffer answer, CancellationToken cancellationToken)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var total = 0;
        while (true)
        {
            var read = await stream.ReadAsync(answer.GetMemory(4096), cancellationToken);
            if (read == 0)
            {
                return;
            }
            answer.Advance(read);
            total += read;
            if (total > MaxAnswerBytes)
            {
                throw Malformed($"the answer is larger than {MaxAnswerBytes} bytes");
            }
        }
    }

    private static SqsServiceException ErrorFrom(int status, HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            foreach (var value in values)
            {
                headers.Add(new(name, value));
            }
        }
        var answer = new AwsServiceAnswer(status, headers, body.ToArray());
        var error = AwsServiceError.From(answer);
        // "AWS.SimpleQueueService.NonExistentQueue;Sender": the code the query protocol would have sent.
        var queryError = answer.Header("x-amzn-query-error");
        var queryCode = queryError is null ? null : queryError.Split(';', 2)[0].Trim();
        var type = error.Type == $"Http{status}" ? "" : error.Type;
        return new SqsServiceException(status, type, string.IsNullOrEmpty(queryCode) ? null : queryCode, error.Message);
    }

    // A 200 that cannot be mapped to entries: sending again is safer than losing them (consumers dedupe by event id).
    private static SqsServiceException Malformed(string why) =>
        new(200, "MalformedResponse", null, $"SendMessageBatch answer could not be read: {why}", isTransient: true);
}
