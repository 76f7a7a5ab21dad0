using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Core.Aws;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.StepFunctions;

/// <summary>
/// One <c>type: stepfunctions</c> target: <c>StartExecution</c> (answered 200 with Step
/// Functions' <c>{executionArn, startDate}</c>) or, with <c>sync: true</c>, <c>StartSyncExecution</c>
/// (SUCCEEDED: 200 with the output; FAILED, TIMED_OUT, ABORTED:
/// <see cref="IntegrationFailure.FunctionError"/> with the error and cause as reason). The input is
/// the rendered request template, else the body: JSON as it is, other text as a JSON string, binary
/// bodies as a base64 JSON string (an execution's input must be JSON).
/// </summary>
internal sealed partial class StepFunctionsTarget(
    string name,
    AwsServiceCall call,
    Uri endpoint,
    string stateMachineArn,
    bool sync,
    bool restV1,
    ILogger logger) : ISyncTarget
{
    /// <summary>Content type of the JSON 1.0 protocol.</summary>
    public const string ContentType = "application/x-amz-json-1.0";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _operation = sync ? "StartSyncExecution" : "StartExecution";
    private readonly KeyValuePair<string, string>[] _headers =
        [new("X-Amz-Target", sync ? "AWSStepFunctions.StartSyncExecution" : "AWSStepFunctions.StartExecution")];

    public string Name { get; } = name;

    /// <summary>Where calls go (the sync-states host for sync executions).</summary>
    public Uri Endpoint { get; } = endpoint;

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        using var body = new PooledByteBuffer(request.Body.Length * 2 + 512);
        string? rendered;
        try
        {
            rendered = request.RenderRequestTemplate(cancellationToken);
        }
        catch (TemplateRenderException ex)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"request template: {ex.Message}");
        }
        using (var writer = new Utf8JsonWriter(body, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("stateMachineArn"u8, stateMachineArn);
            writer.WriteString("name"u8, request.Context.RequestId);
            if (rendered is not null)
            {
                writer.WriteString("input"u8, rendered);
            }
            else
            {
                WriteBodyInput(writer, request);
            }
            writer.WriteEndObject();
        }

        var service = $"Step Functions {_operation}";
        AwsServiceAnswer answer;
        try
        {
            answer = await call.PostAsync(Endpoint, body.WrittenMemory, ContentType, _headers, cancellationToken);
        }
        catch (Exception ex) when (AwsServiceCall.Fail(ex, service, request, cancellationToken) is { } failure)
        {
            LogCallFailed(logger, Name, failure.Failure, failure.Reason);
            return failure;
        }
        if (answer.Status != 200)
        {
            var error = AwsServiceError.From(answer);
            if (error.Type is "AccessDeniedException" or "UnrecognizedClientException" or "InvalidSignatureException"
                or "StateMachineDoesNotExist" or "InvalidArn" or "StateMachineTypeNotSupported" or "UnknownOperationException")
            {
                LogRefused(logger, Name, _operation, answer.Status, error.Type, error.Message);
            }
            return error.ToResult(service, restV1);
        }
        return sync ? SyncResult(answer) : new IntegrationResult
        {
            // StartExecution's answer as Step Functions gives it: {"executionArn","startDate"}.
            IntegrationStatus = answer.Status,
            StatusCode = 200,
            ContentType = "application/json",
            Body = answer.Body,
        };
    }

    public ValueTask DisposeAsync()
    {
        call.Dispose();
        return ValueTask.CompletedTask;
    }

    private static void WriteBodyInput(Utf8JsonWriter writer, IntegrationRequest request)
    {
        var data = request.Body.Span;
        if (data.IsEmpty)
        {
            writer.WriteString("input"u8, "{}"u8);
            return;
        }
        var text = !request.IsBinary && Utf8.IsValid(data);
        if (text && IsJson(data))
        {
            writer.WriteString("input"u8, data);
            return;
        }
        // Not JSON: the input is one JSON string holding the text (or the bytes as base64).
        using var inner = new PooledByteBuffer(data.Length * 2 + 16);
        using (var json = new Utf8JsonWriter(inner, WriterOptions))
        {
            if (text)
            {
                json.WriteStringValue(data);
            }
            else
            {
                json.WriteBase64StringValue(data);
            }
        }
        writer.WriteString("input"u8, inner.WrittenSpan);
    }

    private static bool IsJson(ReadOnlySpan<byte> data)
    {
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read())
            {
                return false;
            }
            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>StartSyncExecution's answer: the output of a SUCCEEDED execution, else why it did not succeed.</summary>
    private static IntegrationResult SyncResult(AwsServiceAnswer answer)
    {
        string? status = null, output = null, error = null, cause = null;
        try
        {
            var reader = new Utf8JsonReader(answer.Body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return Malformed("the answer is not a JSON object", answer.Status);
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = reader.ValueTextEquals("status"u8) ? 1
                    : reader.ValueTextEquals("output"u8) ? 2
                    : reader.ValueTextEquals("error"u8) ? 3
                    : reader.ValueTextEquals("cause"u8) ? 4
                    : 0;
                reader.Read();
                if (field == 0 || reader.TokenType != JsonTokenType.String)
                {
                    reader.Skip();
                    continue;
                }
                var value = reader.GetString();
                switch (field)
                {
                    case 1: status = value; break;
                    case 2: output = value; break;
                    case 3: error = value; break;
                    default: cause = value; break;
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return Malformed($"the answer is not JSON text ({ex.Message})", answer.Status);
        }
        switch (status)
        {
            case "SUCCEEDED":
                return new IntegrationResult
                {
                    IntegrationStatus = answer.Status,
                    StatusCode = 200,
                    ContentType = "application/json",
                    Body = output is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(output),
                };
            case "FAILED" or "TIMED_OUT" or "ABORTED":
                return IntegrationResult.Failed(
                    IntegrationFailure.FunctionError,
                    $"execution {status}: {Truncate(error ?? "no error", 200)}{(cause is null ? "" : ": " + Truncate(cause, 300))}",
                    answer.Status);
            default:
                return Malformed(status is null ? "status is missing" : $"unknown status '{Truncate(status, 40)}'", answer.Status);
        }
    }

    private static IntegrationResult Malformed(string reason, int integrationStatus) =>
        IntegrationResult.Failed(IntegrationFailure.InvalidResponse, "malformed StartSyncExecution answer: " + reason, integrationStatus);

    private static string Truncate(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "...");

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: Step Functions refused {Operation} with {Status} {ErrorType}: {ErrorMessage}. Check stateMachineArn (sync: true needs an express workflow), aws.region, the endpoints and the credentials' Step Functions permissions")]
    private static partial void LogRefused(ILogger logger, string target, string operation, int status, string errorType, string errorMessage);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Target {Target}: {Failure}: {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string target, IntegrationFailure failure, string? reason);
}
