using System.Net.Sockets;
using System.Text;
using Amazon.Runtime;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Ingest.Targets.DynamoDb.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Ingest.Targets.DynamoDb;

/// <summary>
/// One dynamodb target: renders the route's request template, sends it as the configured action
/// and answers with DynamoDB's JSON output (200, application/json). Errors: see <see cref="ForError"/>.
/// </summary>
internal sealed partial class DynamoDbTarget(string name, string table, string action, DynamoDbJsonClient client, IDisposable http, ILogger logger) : ISyncTarget
{
    private const string Json = "application/json";
    private static readonly byte[] TooManyRequests = Encoding.UTF8.GetBytes("{\"message\":\"Too Many Requests\"}");
    private static readonly IReadOnlyList<KeyValuePair<string, StringValues>> RetryAfter = [new("Retry-After", "1")];

    public string Name { get; } = name;

    public string Table { get; } = table;

    public string Action { get; } = action;

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        string? rendered;
        try
        {
            rendered = request.RenderRequestTemplate(cancellationToken);
        }
        catch (TemplateRenderException ex)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"mapping template: {ex.Message}");
        }
        if (rendered is null)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"route has no requestTemplate for {Action}");
        }
        var body = DynamoDbRequestBody.Prepare(rendered, Table, out var invalid);
        if (body is null)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"mapping template: {invalid}");
        }

        try
        {
            var answer = await client.SendAsync(Action, Table, body, cancellationToken);
            return new IntegrationResult { IntegrationStatus = 200, StatusCode = 200, ContentType = Json, Body = answer };
        }
        catch (DynamoDbErrorException ex)
        {
            return ForError(ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return IntegrationResult.Failed(IntegrationFailure.Timeout, $"DynamoDB {Action} did not answer within the route timeout");
        }
        catch (AmazonUnmarshallingException ex)
        {
            return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, $"DynamoDB {Action}: unreadable answer ({ex.Message})", (int)ex.StatusCode);
        }
        catch (Exception ex) when (IsNetwork(ex))
        {
            LogUnreachable(logger, Name, Action, ex.Message);
            return IntegrationResult.Failed(IntegrationFailure.Unreachable, $"DynamoDB {Action}: {Innermost(ex).Message}");
        }
        catch (AmazonClientException ex)
        {
            // E.g. no credentials anywhere in the chain: a setup problem the client cannot fix.
            LogUnreachable(logger, Name, Action, ex.Message);
            return IntegrationResult.Failed(IntegrationFailure.Unreachable, $"DynamoDB {Action}: {ex.Message}");
        }
    }

    /// <summary>
    /// DynamoDB's error answers for the client: a failed condition (or a transaction conflict) is
    /// 409 with DynamoDB's body; throttling is 429 with <c>Retry-After: 1</c>; a request DynamoDB
    /// finds invalid (what the template made of the client's input) is 400 with DynamoDB's body;
    /// anything the client cannot fix (table missing, access denied, DynamoDB failing) is a 502 from
    /// the gateway with the code and message in the access log.
    /// </summary>
    internal IntegrationResult ForError(DynamoDbErrorException error)
    {
        var status = (int)error.StatusCode;
        var reason = $"DynamoDB {Action} answered {status} {error.ErrorCode}: {error.Message}";
        switch (error.ErrorCode)
        {
            case "ConditionalCheckFailedException" or "TransactionConflictException":
                return Passed(status, 409, error.Body, reason);
            case "ProvisionedThroughputExceededException" or "ThrottlingException" or "RequestLimitExceeded":
                return new IntegrationResult { IntegrationStatus = status, StatusCode = 429, Headers = RetryAfter, ContentType = Json, Body = TooManyRequests, Reason = reason };
            case "ValidationException" or "SerializationException" or "ItemCollectionSizeLimitExceededException":
                return Passed(status, 400, error.Body, reason);
            default:
                LogRefused(logger, Name, Action, status, error.ErrorCode, error.Message);
                return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, reason, status);
        }
    }

    // Reason: the access log's integrationError says why the client got this answer.
    private static IntegrationResult Passed(int integrationStatus, int status, byte[] body, string reason) =>
        new() { IntegrationStatus = integrationStatus, StatusCode = status, ContentType = Json, Body = body, Reason = reason };

    private static bool IsNetwork(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or SocketException or IOException)
            {
                return true;
            }
        }
        return false;
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is { } inner)
        {
            ex = inner;
        }
        return ex;
    }

    public ValueTask DisposeAsync()
    {
        client.Dispose();
        http.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: DynamoDB {Action} unreachable: {Reason}")]
    private static partial void LogUnreachable(ILogger logger, string target, string action, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: DynamoDB {Action} refused the call: {Status} {Code}: {Message}")]
    private static partial void LogRefused(ILogger logger, string target, string action, int status, string? code, string message);
}
