using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Ingest.Core.Aws;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Kinesis;

/// <summary>Outcome of one PutRecords call that the service answered with 200.</summary>
/// <param name="FailedRecordCount">Records that carry an error code.</param>
/// <param name="FirstErrorCode">Code of the first failed record chosen by the caller's filter, for logging; null when none.</param>
/// <param name="FirstErrorMessage">Its message.</param>
/// <param name="UnexpectedShards">Stored records whose <c>ShardId</c> differs from the one the caller expected (the stream was resharded).</param>
public readonly record struct PutRecordsResult(int FailedRecordCount, string? FirstErrorCode, string? FirstErrorMessage, int UnexpectedShards = 0);

/// <summary>What DescribeStreamSummary says about a stream.</summary>
/// <param name="StreamName">Name.</param>
/// <param name="Status"><c>CREATING</c>, <c>ACTIVE</c>, <c>UPDATING</c> or <c>DELETING</c>.</param>
/// <param name="OpenShardCount">Open shards.</param>
/// <param name="StreamArn">ARN, when the service reports one.</param>
public sealed record KinesisStreamSummary(string StreamName, string Status, int OpenShardCount, string? StreamArn);

/// <summary>
/// A small Kinesis Data Streams client over <see cref="HttpClient"/>: the JSON 1.1 protocol
/// (<c>X-Amz-Target: Kinesis_20131202.Operation</c>), signed with SigV4 for service <c>kinesis</c>.
/// Errors come back as <see cref="KinesisException"/>; network failures as
/// <see cref="HttpRequestException"/> and timeouts as <see cref="TaskCanceledException"/>.
/// </summary>
public sealed partial class KinesisClient : IDisposable
{
    /// <summary>Content type of the JSON 1.1 protocol.</summary>
    public const string ContentType = "application/x-amz-json-1.1";

    /// <summary>Prefix of every <c>X-Amz-Target</c> value.</summary>
    public const string TargetPrefix = "Kinesis_20131202.";

    private const string PutRecordsTarget = TargetPrefix + "PutRecords";

    private readonly HttpClient _http;
    private readonly SigV4Signer _signer;
    private readonly AWSCredentials _credentials;
    private readonly ILogger _logger;

    /// <param name="http">Client to send with; owned and disposed by this instance.</param>
    /// <param name="endpoint">Service endpoint, e.g. <c>https://kinesis.us-east-1.amazonaws.com</c>.</param>
    /// <param name="signer">Signer for the endpoint's region and service <c>kinesis</c>.</param>
    /// <param name="credentials">Credentials; refreshing ones are asked on every call.</param>
    /// <param name="logger">Logging; default none.</param>
    public KinesisClient(HttpClient http, Uri endpoint, SigV4Signer signer, AWSCredentials credentials, ILogger? logger = null)
    {
        _http = http;
        Endpoint = endpoint;
        _signer = signer;
        _credentials = credentials;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The endpoint calls go to.</summary>
    public Uri Endpoint { get; }

    /// <summary>The public AWS endpoint of a region.</summary>
    public static Uri DefaultEndpoint(string region) =>
        new(region.StartsWith("cn-", StringComparison.Ordinal)
            ? $"https://kinesis.{region}.amazonaws.com.cn"
            : $"https://kinesis.{region}.amazonaws.com");

    /// <summary>
    /// Sends one PutRecords call. On a 200 answer, <paramref name="errorCodes"/>[i] is the
    /// <c>ErrorCode</c> of record i, or null when it was stored. Any other answer throws.
    /// </summary>
    /// <param name="streamName">Stream.</param>
    /// <param name="records">Up to 500 records.</param>
    /// <param name="errorCodes">Filled with one code (or null) per record.</param>
    /// <param name="reportFirstWhere">
    /// Which failed record the result's first code and message describe: the first whose code
    /// matches. Default: the first failed record.
    /// </param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <param name="expectedShardIds">
    /// The shard each record should land in, or null; stored records answered with another shard
    /// are counted in <see cref="PutRecordsResult.UnexpectedShards"/>.
    /// </param>
    public async Task<PutRecordsResult> PutRecordsAsync(
        string streamName,
        IReadOnlyList<KinesisRecord> records,
        string?[] errorCodes,
        Func<string, bool>? reportFirstWhere,
        CancellationToken cancellationToken,
        IReadOnlyList<string?>? expectedShardIds = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(errorCodes.Length, records.Count, nameof(errorCodes));
        var estimate = 64 + (streamName.Length * 3);
        for (var i = 0; i < records.Count; i++)
        {
            estimate += ((records[i].Data.Length + 2) / 3 * 4) + (records[i].PartitionKey.Length * 6) + 36;
        }
        using var request = new PooledByteBuffer(estimate);
        using (var writer = new Utf8JsonWriter(request))
        {
            writer.WriteStartObject();
            writer.WriteString("StreamName"u8, streamName);
            writer.WriteStartArray("Records"u8);
            for (var i = 0; i < records.Count; i++)
            {
                writer.WriteStartObject();
                writer.WriteBase64String("Data"u8, records[i].Data);
                writer.WriteString("PartitionKey"u8, records[i].PartitionKey);
                if (records[i].ExplicitHashKey is { } hashKey)
                {
                    writer.WriteString("ExplicitHashKey"u8, hashKey);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        using var response = new PooledByteBuffer(Math.Max(1024, records.Count * 96));
        await SendAsync(PutRecordsTarget, request, response, cancellationToken);
        return ParsePutRecords(response.WrittenSpan, records.Count, errorCodes, reportFirstWhere, expectedShardIds);
    }

    /// <summary>The stream's status, or null when it does not exist.</summary>
    public async Task<KinesisStreamSummary?> DescribeStreamSummaryAsync(string streamName, CancellationToken cancellationToken)
    {
        try
        {
            using var answer = await InvokeAsync("DescribeStreamSummary", w => w.WriteString("StreamName", streamName), cancellationToken);
            var summary = answer.RootElement.GetProperty("StreamDescriptionSummary");
            return new KinesisStreamSummary(
                summary.GetProperty("StreamName").GetString() ?? streamName,
                summary.GetProperty("StreamStatus").GetString() ?? "",
                summary.TryGetProperty("OpenShardCount", out var shards) && shards.ValueKind == JsonValueKind.Number ? shards.GetInt32() : 0,
                summary.TryGetProperty("StreamARN", out var arn) ? arn.GetString() : null);
        }
        catch (KinesisException ex) when (ex.ErrorType == "ResourceNotFoundException")
        {
            return null;
        }
    }

    /// <summary>Creates a provisioned stream. Returns false when it already existed.</summary>
    public async Task<bool> CreateStreamAsync(string streamName, int shardCount, CancellationToken cancellationToken)
    {
        try
        {
            using var _ = await InvokeAsync(
                "CreateStream",
                w =>
                {
                    w.WriteString("StreamName", streamName);
                    w.WriteNumber("ShardCount", shardCount);
                },
                cancellationToken);
            return true;
        }
        catch (KinesisException ex) when (ex.ErrorType == "ResourceInUseException")
        {
            // Another instance created it first.
            return false;
        }
    }

    /// <summary>Deletes a stream (tests and tooling).</summary>
    public async Task DeleteStreamAsync(string streamName, CancellationToken cancellationToken)
    {
        using var _ = await InvokeAsync(
            "DeleteStream",
            w =>
            {
                w.WriteString("StreamName", streamName);
                w.WriteBoolean("EnforceConsumerDeletion", true);
            },
            cancellationToken);
    }

    /// <summary>Ids of all shards of the stream, following <c>NextToken</c>.</summary>
    public async Task<IReadOnlyList<string>> ListShardsAsync(string streamName, CancellationToken cancellationToken)
    {
        var shards = new List<string>();
        await ForEachShardAsync(streamName, shard => shards.Add(shard.GetProperty("ShardId").GetString()!), cancellationToken);
        return shards;
    }

    /// <summary>
    /// The open shards of the stream with their hash key ranges, following <c>NextToken</c>. Closed
    /// shards (parents of a split or merge, which carry an <c>EndingSequenceNumber</c>) are left out.
    /// </summary>
    public async Task<IReadOnlyList<ShardRange>> ListOpenShardsAsync(string streamName, CancellationToken cancellationToken)
    {
        var shards = new List<ShardRange>();
        await ForEachShardAsync(
            streamName,
            shard =>
            {
                if (shard.TryGetProperty("SequenceNumberRange", out var sequence)
                    && sequence.TryGetProperty("EndingSequenceNumber", out var ending)
                    && ending.ValueKind == JsonValueKind.String)
                {
                    return;
                }
                var range = shard.GetProperty("HashKeyRange");
                if (!PartitionKeyHash.TryParse(range.GetProperty("StartingHashKey").GetString(), out var start)
                    || !PartitionKeyHash.TryParse(range.GetProperty("EndingHashKey").GetString(), out var end)
                    || end < start)
                {
                    throw new KinesisException(200, "MalformedResponse", "ListShards answered a hash key range that is not two ascending decimals");
                }
                shards.Add(new ShardRange(shard.GetProperty("ShardId").GetString()!, start, end));
            },
            cancellationToken);
        return shards;
    }

    /// <summary>Calls ListShards page by page, following <c>NextToken</c>, and hands every shard object of every page to <paramref name="visit"/>.</summary>
    private async Task ForEachShardAsync(string streamName, Action<JsonElement> visit, CancellationToken cancellationToken)
    {
        string? next = null;
        do
        {
            var token = next;
            using var answer = await InvokeAsync(
                "ListShards",
                w =>
                {
                    // The API refuses StreamName together with NextToken.
                    if (token is null)
                    {
                        w.WriteString("StreamName", streamName);
                    }
                    else
                    {
                        w.WriteString("NextToken", token);
                    }
                },
                cancellationToken);
            foreach (var shard in answer.RootElement.GetProperty("Shards").EnumerateArray())
            {
                visit(shard);
            }
            next = answer.RootElement.TryGetProperty("NextToken", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;
        }
        while (next is not null);
    }

    /// <summary>
    /// Any operation, for control-plane calls and tools: <paramref name="writeRequest"/> writes the
    /// members of the request object; the answer is returned parsed (an empty answer as <c>{}</c>).
    /// </summary>
    public async Task<JsonDocument> InvokeAsync(string operation, Action<Utf8JsonWriter> writeRequest, CancellationToken cancellationToken)
    {
        using var request = new PooledByteBuffer(512);
        using (var writer = new Utf8JsonWriter(request))
        {
            writer.WriteStartObject();
            writeRequest(writer);
            writer.WriteEndObject();
        }
        using var response = new PooledByteBuffer(4096);
        await SendAsync(TargetPrefix + operation, request, response, cancellationToken);
        if (response.WrittenSpan.Trim(" \t\r\n"u8).IsEmpty)
        {
            return JsonDocument.Parse("{}");
        }
        // ParseValue copies: the pooled buffer goes back to the pool below.
        var reader = new Utf8JsonReader(response.WrittenSpan);
        return JsonDocument.ParseValue(ref reader);
    }

    public void Dispose() => _http.Dispose();

    private async Task SendAsync(string target, PooledByteBuffer requestBody, PooledByteBuffer responseBody, CancellationToken cancellationToken)
    {
        var credentials = await _credentials.GetCredentialsAsync().WaitAsync(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, Endpoint);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Content = new ReadOnlyMemoryContent(requestBody.WrittenMemory);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        _signer.Sign(request, requestBody.WrittenSpan, credentials.ToSigV4());

        // ResponseContentRead: HttpClient.Timeout then covers the body too (answers are small),
        // so a stalled answer cannot hold an in-flight slot forever.
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        await using (var stream = await response.Content.ReadAsStreamAsync(cancellationToken))
        {
            await responseBody.ReadFromAsync(stream, cancellationToken);
        }
        var status = (int)response.StatusCode;
        if (status is < 200 or > 299)
        {
            throw ErrorFrom(status, response, responseBody.WrittenSpan);
        }
    }

    private static KinesisException ErrorFrom(int status, HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        string? type = null;
        string? message = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("__type"u8);
                    var isMessage = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("Message"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        if (isType)
                        {
                            type = reader.GetString();
                        }
                        else if (isMessage)
                        {
                            message = reader.GetString();
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, say): the status decides.
        }
        if (type is null && response.Headers.TryGetValues("x-amzn-ErrorType", out var values))
        {
            type = values.FirstOrDefault();
        }
        if (message is null)
        {
            var text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 200)]).Trim();
            message = text.Length > 0 ? text : response.ReasonPhrase ?? "no message";
        }
        return new KinesisException(status, KinesisException.ShortErrorType(type), message);
    }

    private PutRecordsResult ParsePutRecords(ReadOnlySpan<byte> body, int count, string?[] errorCodes, Func<string, bool>? reportFirstWhere, IReadOnlyList<string?>? expectedShardIds)
    {
        var unexpectedShards = 0;
        var reader = new Utf8JsonReader(body);
        var reportedFailures = -1;
        var index = 0;
        var failures = 0;
        var sawRecords = false;
        string? firstCode = null;
        string? firstMessage = null;
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Malformed("the answer is not a JSON object");
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("FailedRecordCount"u8))
                {
                    reader.Read();
                    reportedFailures = reader.TokenType == JsonTokenType.Number ? reader.GetInt32() : -1;
                }
                else if (reader.ValueTextEquals("Records"u8))
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.StartArray)
                    {
                        throw Malformed("Records is not an array");
                    }
                    sawRecords = true;
                    while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                    {
                        if (index >= count)
                        {
                            throw Malformed($"more than the {count} records sent came back");
                        }
                        string? code = null;
                        string? message = null;
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            if (reader.ValueTextEquals("ErrorCode"u8))
                            {
                                reader.Read();
                                code = reader.TokenType == JsonTokenType.String ? ErrorCodeOf(ref reader) : null;
                            }
                            else if (expectedShardIds is not null && reader.ValueTextEquals("ShardId"u8))
                            {
                                reader.Read();
                                if (reader.TokenType == JsonTokenType.String && expectedShardIds[index] is { } expected && !reader.ValueTextEquals(expected))
                                {
                                    unexpectedShards++;
                                }
                            }
                            else if (firstCode is null && reader.ValueTextEquals("ErrorMessage"u8))
                            {
                                // Messages are only read until the reported record is found.
                                reader.Read();
                                message = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                            }
                            else
                            {
                                reader.Read();
                                reader.Skip();
                            }
                        }
                        errorCodes[index++] = code;
                        if (code is not null)
                        {
                            failures++;
                            if (firstCode is null && (reportFirstWhere is null || reportFirstWhere(code)))
                            {
                                firstCode = code;
                                firstMessage = message;
                            }
                        }
                    }
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }
        }
        catch (JsonException ex)
        {
            throw Malformed(ex.Message);
        }
        if (!sawRecords || index != count)
        {
            throw Malformed($"{index} records came back for {count} sent");
        }
        if (reportedFailures >= 0 && reportedFailures != failures)
        {
            // The per-record codes decide; the count is only a cross-check.
            LogFailedCountMismatch(_logger, reportedFailures, failures);
        }
        return new PutRecordsResult(failures, firstCode, firstMessage, unexpectedShards);
    }

    // Known codes as constants: no string per failed record on a throttled stream.
    private static string ErrorCodeOf(ref Utf8JsonReader reader) =>
        reader.ValueTextEquals("ProvisionedThroughputExceededException"u8) ? "ProvisionedThroughputExceededException"
        : reader.ValueTextEquals("InternalFailure"u8) ? "InternalFailure"
        : reader.GetString() ?? "";

    // A 200 we cannot map to records: sending again is safer than losing them (consumers dedupe by eventId).
    private static KinesisException Malformed(string why) =>
        new(200, "MalformedResponse", $"PutRecords answer could not be read: {why}", isTransient: true);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Kinesis PutRecords reported FailedRecordCount {Reported} but {Counted} records carry an error code; using the per-record codes")]
    private static partial void LogFailedCountMismatch(ILogger logger, int reported, int counted);
}
