using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingest.Core.Aws;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Ingest.Targets.Lambda.Events;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Lambda;

/// <summary>
/// One <c>type: lambda</c> target: Lambda <c>Invoke</c> per request. Proxy routes send the API
/// Gateway event and map the function's proxy answer; routes with a request template send the
/// rendered text and answer 200 with the function's result. <c>X-Amz-Function-Error</c> is
/// <see cref="IntegrationFailure.FunctionError"/> (reason: the error type); Lambda refusing the call
/// is mapped by <see cref="AwsServiceError.ToResult"/> (throttling 429, rest-v1 500); with
/// <c>invocationType: Event</c> the client gets 202 <c>{"requestId":...,"accepted":1}</c>.
/// </summary>
internal sealed partial class LambdaTarget(
    string name,
    AwsServiceCall call,
    Uri invokeUri,
    LambdaPayloadFormat format,
    bool asyncInvocation,
    bool restV1,
    ILogger logger) : ISyncTarget
{
    private const string Service = "Lambda Invoke";

    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The event is read by a function, not a browser: no HTML escaping, so it stays compact.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly KeyValuePair<string, string>[] _invokeHeaders =
        [new("X-Amz-Invocation-Type", asyncInvocation ? "Event" : "RequestResponse")];

    public string Name { get; } = name;

    /// <summary>Where Invoke is sent.</summary>
    public Uri InvokeUri { get; } = invokeUri;

    /// <summary>The event format of proxy routes.</summary>
    public LambdaPayloadFormat Format { get; } = format;

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        var proxy = request.RequestTemplate is null;
        using var payload = new PooledByteBuffer(request.Body.Length * 4 / 3 + 2048);
        if (proxy)
        {
            using var writer = new Utf8JsonWriter(payload, WriterOptions);
            ProxyEventWriter.Write(writer, request, Format);
        }
        else
        {
            try
            {
                var text = request.RenderRequestTemplate(cancellationToken) ?? "";
                var span = payload.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
                payload.Advance(Encoding.UTF8.GetBytes(text, span));
            }
            catch (TemplateRenderException ex)
            {
                return IntegrationResult.Failed(IntegrationFailure.MappingError, $"request template: {ex.Message}");
            }
        }

        AwsServiceAnswer answer;
        try
        {
            answer = await call.PostAsync(InvokeUri, payload.WrittenMemory, "application/json", _invokeHeaders, cancellationToken);
        }
        catch (Exception ex) when (AwsServiceCall.Fail(ex, Service, request, cancellationToken) is { } failure)
        {
            LogCallFailed(logger, Name, failure.Failure, failure.Reason);
            return failure;
        }

        if (answer.Status is < 200 or > 299)
        {
            var error = AwsServiceError.From(answer);
            if (answer.Status is 401 or 403 or 404)
            {
                // Credentials, permissions or the function name: a configuration problem, not the client's.
                LogRefused(logger, Name, answer.Status, error.Type, error.Message);
            }
            return error.ToResult(Service, restV1);
        }
        if (answer.Header("X-Amz-Function-Error") is { } functionError)
        {
            return IntegrationResult.Failed(
                IntegrationFailure.FunctionError,
                $"function error ({functionError}): {ErrorType(answer.Body)}",
                answer.Status);
        }
        if (asyncInvocation)
        {
            return Accepted(request.Context.RequestId, answer.Status);
        }
        if (!proxy)
        {
            return new IntegrationResult
            {
                IntegrationStatus = answer.Status,
                StatusCode = 200,
                ContentType = ProxyResponseReader.DefaultContentType,
                Body = answer.Body,
            };
        }
        return ProxyResponseReader.Read(answer.Body, Format, answer.Status);
    }

    public ValueTask DisposeAsync()
    {
        call.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>202 <c>{"requestId":"...","accepted":1}</c>, the body of an accepted async request.</summary>
    private static IntegrationResult Accepted(Guid requestId, int integrationStatus)
    {
        ReadOnlySpan<byte> prefix = "{\"requestId\":\""u8;
        ReadOnlySpan<byte> suffix = "\",\"accepted\":1}"u8;
        var body = new byte[96];
        prefix.CopyTo(body);
        var length = prefix.Length;
        requestId.TryFormat(body.AsSpan(length), out var written);
        length += written;
        suffix.CopyTo(body.AsSpan(length));
        length += suffix.Length;
        return new IntegrationResult
        {
            IntegrationStatus = integrationStatus,
            StatusCode = 202,
            ContentType = "application/json",
            Body = body.AsMemory(0, length),
        };
    }

    /// <summary>The <c>errorType</c> of a function error answer (<c>{"errorMessage","errorType","stackTrace"}</c>); the message is the function's and stays out of the log.</summary>
    private static string ErrorType(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isType = reader.ValueTextEquals("errorType"u8);
                    reader.Read();
                    if (isType && reader.TokenType == JsonTokenType.String)
                    {
                        var type = reader.GetString()!;
                        return type.Length <= 200 ? type : type[..200];
                    }
                    reader.Skip();
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // Not the usual shape (or not valid text): the header alone says it failed.
        }
        return "unknown";
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: Lambda refused the call with {Status} {ErrorType}: {ErrorMessage}. Check the function name, aws.region, the credentials and their lambda:InvokeFunction permission")]
    private static partial void LogRefused(ILogger logger, string target, int status, string errorType, string errorMessage);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Target {Target}: {Failure}: {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string target, IntegrationFailure failure, string? reason);
}
