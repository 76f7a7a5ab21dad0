using System.Net;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Transform;

namespace Ingest.Targets.DynamoDb.Client;

/// <summary>
/// The DynamoDB client of the SDK, sending a request body we already have (the rendered mapping
/// template, DynamoDB JSON) and handing back the response body as DynamoDB sent it. The SDK does
/// the rest: endpoint, credentials (static keys or its chain), SigV4, the CRC32 check, and the
/// parsing of error answers into exceptions with their code.
/// </summary>
internal sealed class DynamoDbJsonClient : AmazonDynamoDBClient
{
    private static readonly InvokeOptions Options = new()
    {
        RequestMarshaller = JsonBodyMarshaller.Instance,
        ResponseUnmarshaller = JsonBodyUnmarshaller.Instance,
    };

    public DynamoDbJsonClient(AWSCredentials? credentials, AmazonDynamoDBConfig config)
        : base(credentials, config)
    {
    }

    /// <summary>
    /// Sends <paramref name="body"/> as <c>DynamoDB_20120810.<paramref name="action"/></c>. Returns the
    /// response body of a 2xx answer; throws <see cref="DynamoDbErrorException"/> for an error answer.
    /// </summary>
    public async Task<byte[]> SendAsync(string action, string table, byte[] body, CancellationToken cancellationToken)
    {
        var request = new JsonBodyRequest { Action = action, TableName = table, Body = body };
        var response = await InvokeAsync<JsonBodyResponse>(request, Options, cancellationToken);
        return response.Body;
    }
}

/// <summary>One call: the operation and its JSON body.</summary>
internal sealed class JsonBodyRequest : AmazonDynamoDBRequest
{
    public required string Action { get; init; }

    /// <summary>The table (the SDK's endpoint rules may read it).</summary>
    public required string TableName { get; init; }

    public required byte[] Body { get; init; }
}

/// <summary>The body of a 2xx answer, exact.</summary>
internal sealed class JsonBodyResponse : AmazonWebServiceResponse
{
    public byte[] Body { get; set; } = [];
}

/// <summary>An error answer: DynamoDB's code (<c>ConditionalCheckFailedException</c>, ...), status and body, exact.</summary>
internal sealed class DynamoDbErrorException(string message, Exception? inner, ErrorType type, string? code, HttpStatusCode status, byte[] body)
    : AmazonDynamoDBException(message, inner, type, code, null, status)
{
    public byte[] Body { get; } = body;
}

internal sealed class JsonBodyMarshaller : IMarshaller<IRequest, AmazonWebServiceRequest>
{
    public static readonly JsonBodyMarshaller Instance = new();

    public IRequest Marshall(AmazonWebServiceRequest input)
    {
        var call = (JsonBodyRequest)input;
        IRequest request = new DefaultRequest(call, "Amazon.DynamoDBv2");
        request.Headers["X-Amz-Target"] = "DynamoDB_20120810." + call.Action;
        request.Headers["Content-Type"] = "application/x-amz-json-1.0";
        request.Headers["x-amz-api-version"] = "2012-08-10";
        request.HttpMethod = "POST";
        request.ResourcePath = "/";
        request.Content = call.Body;
        return request;
    }
}

internal sealed class JsonBodyUnmarshaller : JsonResponseUnmarshaller
{
    public static readonly JsonBodyUnmarshaller Instance = new();

    public override AmazonWebServiceResponse Unmarshall(JsonUnmarshallerContext input) =>
        new JsonBodyResponse { Body = ReadAll(input.Stream) };

    public override AmazonServiceException UnmarshallException(JsonUnmarshallerContext input, Exception innerException, HttpStatusCode statusCode)
    {
        var body = ReadAll(input.Stream);
        var (code, message) = ErrorOf(body, input.ResponseData?.GetHeaderValue("x-amzn-ErrorType"));
        var type = (int)statusCode >= 500 ? ErrorType.Receiver : ErrorType.Sender;
        return new DynamoDbErrorException(message ?? $"DynamoDB answered {(int)statusCode}", innerException, type, code, statusCode, body);
    }

    /// <summary>The code (after the <c>#</c> of <c>__type</c>, or from <c>x-amzn-ErrorType</c>) and message of an error body.</summary>
    internal static (string? Code, string? Message) ErrorOf(byte[] body, string? errorTypeHeader)
    {
        string? type = null;
        string? message = null;
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        continue;
                    }
                    if (property.NameEquals("__type") || property.NameEquals("code"))
                    {
                        type ??= property.Value.GetString();
                    }
                    else if (property.Name.Equals("message", StringComparison.OrdinalIgnoreCase))
                    {
                        message ??= property.Value.GetString();
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page): only the header can say.
        }
        type ??= errorTypeHeader?.Split(':')[0];
        var hash = type?.LastIndexOf('#') ?? -1;
        return (hash >= 0 ? type![(hash + 1)..] : type, message);
    }

    private static byte[] ReadAll(Stream stream)
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}
