using System.Net;
using System.Net.Sockets;
using System.Text;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Ingest.Targets.DynamoDb;
using Ingest.Targets.Tests.Lambda;

namespace Ingest.Targets.Tests.DynamoDb;

/// <summary>
/// The shared dynalite stand-in (127.0.0.1:4569): a table per test (partition key <c>device</c>,
/// sort key <c>ts</c>), targets built by <see cref="DynamoDbTargetKind"/>, and requests with a
/// request template as the gateway hands them over.
/// </summary>
internal static class DynamoDbTestKit
{
    public const string Endpoint = "http://127.0.0.1:4569";

    public static string UniqueTable(string prefix = "ingest-test") => $"{prefix}-{Guid.NewGuid():N}";

    public static AmazonDynamoDBClient AdminClient(string endpoint = Endpoint) =>
        new(new BasicAWSCredentials("AKID", "secret"), new AmazonDynamoDBConfig { ServiceURL = endpoint, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 });

    /// <summary>Creates <paramref name="table"/> and waits (bounded) until it is active.</summary>
    public static async Task CreateTableAsync(string table)
    {
        using var admin = AdminClient();
        await admin.CreateTableAsync(new CreateTableRequest
        {
            TableName = table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions =
            [
                new AttributeDefinition("device", ScalarAttributeType.S),
                new AttributeDefinition("ts", ScalarAttributeType.N),
            ],
            KeySchema = [new KeySchemaElement("device", KeyType.HASH), new KeySchemaElement("ts", KeyType.RANGE)],
        });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await admin.DescribeTableAsync(table)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, $"table {table} not active after 20 s");
            await Task.Delay(50);
        }
    }

    public static async Task DeleteTableAsync(string table)
    {
        using var admin = AdminClient();
        try
        {
            await admin.DeleteTableAsync(table);
        }
        catch (ResourceNotFoundException)
        {
        }
    }

    public static IngestConfig Config(string endpoint = Endpoint) =>
        SyncRequests.Config(endpoints: [(DynamoDbTargetKind.EndpointKey, endpoint)]);

    public static ISyncTarget Create(string table, string action, string endpoint = Endpoint, Func<string, HttpMessageHandler, HttpMessageHandler>? wrap = null) =>
        new DynamoDbTargetKind().Create("items", new TargetOptions { Type = "dynamodb", Table = table, Action = action }, SyncRequests.Context(Config(endpoint), wrap));

    /// <summary>A request of route <c>POST /v1/devices/{id}/readings</c> with <paramref name="template"/> as its request template.</summary>
    public static IntegrationRequest Request(string template, string body = "", string id = "dev-7", string query = "")
    {
        var errors = new List<string>();
        var compiled = MappingTemplate.Compile(template, "routes[0] (POST /v1/devices/{id}/readings).requestTemplate", errors);
        Assert.Empty(errors);
        var route = SyncRequests.Route("POST /v1/devices/{id}/readings");
        var plain = SyncRequests.Request(
            route,
            path: $"/v1/devices/{id}/readings",
            query: query,
            body: Encoding.UTF8.GetBytes(body),
            pathParameters: new Dictionary<string, string> { ["id"] = id });
        return new IntegrationRequest
        {
            Context = plain.Context,
            PathParameters = plain.PathParameters,
            Body = plain.Body,
            RequestTime = plain.RequestTime,
            TraceParent = plain.TraceParent,
            RequestTemplate = compiled,
        };
    }

    /// <summary>A local port nothing listens on.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}

/// <summary>Answers every call itself (a DynamoDB error, or never), instead of the stand-in.</summary>
internal sealed class DynamoDbFault(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : DelegatingHandler
{
    public int Calls;

    public static DynamoDbFault Error(HttpStatusCode status, string code, string message) => new((_, _) =>
        Task.FromResult(new HttpResponseMessage(status)
        {
            Content = new StringContent($"{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{code}\",\"message\":\"{message}\"}}", Encoding.UTF8, "application/x-amz-json-1.0"),
        }));

    /// <summary>Never answers: the call ends only when its token is cancelled.</summary>
    public static DynamoDbFault Hang() => new(async (_, cancellationToken) =>
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        throw new InvalidOperationException("unreachable");
    });

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Calls);
        return answer(request, cancellationToken);
    }
}
