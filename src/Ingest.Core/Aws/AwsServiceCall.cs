using System.Buffers;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Ingest.Core.Integration;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Aws;

/// <summary>What an AWS service answered to one call: status, the headers a sync target reads, the body.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Headers">The response headers (names as sent; look up with <see cref="Header"/>).</param>
/// <param name="Body">The body, exact.</param>
public sealed record AwsServiceAnswer(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    /// <summary>First value of a header (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }
        return null;
    }
}

/// <summary>The body of an AWS error answer does not fit in <see cref="AwsServiceCall.MaxResponseBytes"/>.</summary>
public sealed class AwsAnswerTooLargeException(long limit) : Exception($"the answer is larger than {limit} bytes");

/// <summary>
/// One SigV4-signed POST to an AWS service endpoint, as the sync targets (Lambda Invoke, Step
/// Functions) make them: signs <c>host</c>, <c>content-type</c> and every <c>x-amz-*</c> header,
/// reads the whole answer (up to <see cref="MaxResponseBytes"/>). Network failures throw
/// <see cref="HttpRequestException"/>; cancellation throws <see cref="OperationCanceledException"/>;
/// <see cref="Fail"/> turns both into the integration failure to report.
/// </summary>
public sealed class AwsServiceCall(
    HttpClient http,
    SigV4Signer signer,
    Func<CancellationToken, ValueTask<SigV4Credentials>> credentials,
    long maxResponseBytes) : IDisposable
{
    /// <summary>Largest answer read; Lambda's synchronous payload limit is 6 MB, so real answers stay below.</summary>
    public long MaxResponseBytes { get; } = maxResponseBytes;

    /// <summary>Posts <paramref name="body"/> to <paramref name="url"/> with <paramref name="headers"/> (signed) and reads the answer.</summary>
    public async Task<AwsServiceAnswer> PostAsync(
        Uri url,
        ReadOnlyMemory<byte> body,
        string contentType,
        IReadOnlyList<KeyValuePair<string, string>> headers,
        CancellationToken cancellationToken)
    {
        var signing = await credentials(cancellationToken);
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }
        signer.Sign(request, body.Span, signing);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        var answerHeaders = new List<KeyValuePair<string, string>>();
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            foreach (var value in values)
            {
                answerHeaders.Add(new(name, value));
            }
        }
        foreach (var (name, values) in response.Content.Headers.NonValidated)
        {
            foreach (var value in values)
            {
                answerHeaders.Add(new(name, value));
            }
        }
        var declared = response.Content.Headers.ContentLength;
        if (declared > MaxResponseBytes)
        {
            throw new AwsAnswerTooLargeException(MaxResponseBytes);
        }
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        var answer = await ReadAllAsync(stream, (int)(declared ?? 4096), cancellationToken);
        return new AwsServiceAnswer((int)response.StatusCode, answerHeaders, answer);
    }

    /// <summary>
    /// The failure to report for an exception of <see cref="PostAsync"/>: the token fired (route
    /// timeout or the client left) is <see cref="IntegrationFailure.Timeout"/>, a network failure
    /// <see cref="IntegrationFailure.Unreachable"/>, an oversized answer
    /// <see cref="IntegrationFailure.InvalidResponse"/>. Null for any other exception (a bug: rethrow).
    /// </summary>
    public static IntegrationResult? Fail(Exception exception, string service, IntegrationRequest request, CancellationToken cancellationToken)
    {
        switch (exception)
        {
            case OperationCanceledException when cancellationToken.IsCancellationRequested:
                return IntegrationResult.Failed(
                    IntegrationFailure.Timeout,
                    request.Context.Http.RequestAborted.IsCancellationRequested
                        ? $"{service}: the client went away before the answer"
                        : $"{service}: no answer within the route timeout ({request.Context.Route.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s)");
            case HttpRequestException http:
                return IntegrationResult.Failed(IntegrationFailure.Unreachable, $"{service} unreachable: {http.Message}");
            case OperationCanceledException:
                // HttpClient's own timeout or a connection reset mid-answer.
                return IntegrationResult.Failed(IntegrationFailure.Unreachable, $"{service}: the call was cut off ({exception.Message})");
            case AwsAnswerTooLargeException or IOException:
                return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, $"{service}: {exception.Message}");
            default:
                return null;
        }
    }

    public void Dispose() => http.Dispose();

    private async Task<byte[]> ReadAllAsync(Stream stream, int sizeHint, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Clamp(sizeHint, 256, 1024 * 1024) + 1);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var grown = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = grown;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    return buffer.AsSpan(0, length).ToArray();
                }
                length += read;
                if (length > MaxResponseBytes)
                {
                    throw new AwsAnswerTooLargeException(MaxResponseBytes);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// An AWS error answer: its type (from <c>__type</c>, <c>code</c> or the <c>x-amzn-ErrorType</c>
/// header, without namespace), message and whether it is throttling.
/// </summary>
public sealed record AwsServiceError(int Status, string Type, string Message, TimeSpan? RetryAfter)
{
    private static readonly string[] ThrottlingTypes =
    [
        "ThrottlingException", "TooManyRequestsException", "Throttling", "ThrottledException",
        "RequestLimitExceeded", "ProvisionedThroughputExceededException", "RequestThrottledException",
    ];

    /// <summary>The service refused because of its rate or concurrency limits.</summary>
    public bool IsThrottling => Status == 429 || ThrottlingTypes.Contains(Type, StringComparer.Ordinal);

    /// <summary>Reads an error answer; the body need not be JSON.</summary>
    public static AwsServiceError From(AwsServiceAnswer answer)
    {
        string? type = null;
        string? message = null;
        try
        {
            var reader = new Utf8JsonReader(answer.Body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("__type"u8) || reader.ValueTextEquals("code"u8);
                    var isMessage = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("Message"u8);
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String && (isType || isMessage))
                    {
                        if (isType)
                        {
                            type ??= reader.GetString();
                        }
                        else
                        {
                            message ??= reader.GetString();
                        }
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // A proxy's HTML page, or strings that are not valid text: the status decides.
        }
        type ??= answer.Header("x-amzn-ErrorType");
        if (message is null)
        {
            var text = Encoding.UTF8.GetString(answer.Body.AsSpan(0, Math.Min(answer.Body.Length, 200))).Trim();
            message = text.Length > 0 ? text : $"status {answer.Status}";
        }
        TimeSpan? retryAfter = int.TryParse(answer.Header("Retry-After"), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : null;
        return new AwsServiceError(answer.Status, ShortType(type) ?? $"Http{answer.Status}", Truncate(message, 300), retryAfter);
    }

    /// <summary>
    /// What a sync target answers when the service refused the call: throttling is 429
    /// <c>Too Many Requests</c> with <c>Retry-After</c> (rest-v1: 500 <c>Internal server error</c>, as
    /// API Gateway answers a throttled Lambda), a payload over the service limit 413, anything else
    /// <see cref="IntegrationFailure.InvalidResponse"/> (502). The reason names the service, status and type.
    /// </summary>
    public IntegrationResult ToResult(string service, bool restV1)
    {
        var reason = $"{service} answered {Status} {Type}: {Message}";
        if (IsThrottling)
        {
            return restV1
                ? Answer(500, """{"message":"Internal server error"}"""u8, [], reason)
                : Answer(429, """{"message":"Too Many Requests"}"""u8,
                    [new("Retry-After", ((int)Math.Ceiling(Math.Max(1, RetryAfter?.TotalSeconds ?? 1))).ToString(CultureInfo.InvariantCulture))], reason);
        }
        if (Status == 413 || Type is "RequestTooLargeException" or "RequestEntityTooLargeException")
        {
            return Answer(413, """{"message":"Request Entity Too Large"}"""u8, [], reason);
        }
        return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, reason, Status);
    }

    private IntegrationResult Answer(int status, ReadOnlySpan<byte> body, KeyValuePair<string, StringValues>[] headers, string reason) => new()
    {
        IntegrationStatus = Status,
        StatusCode = status,
        ContentType = "application/json",
        Body = body.ToArray(),
        Headers = headers,
        Reason = reason,
    };

    // "com.amazonaws.swf.base.model#InvalidArn" and "ResourceNotFoundException:http://internal..." name the same type as "InvalidArn".
    private static string? ShortType(string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return null;
        }
        var hash = type.LastIndexOf('#');
        if (hash >= 0)
        {
            type = type[(hash + 1)..];
        }
        var colon = type.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? type[..colon] : type;
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "...");
}
