using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using static Ingest.Gateway.Tests.Integration.AwsGateway;

namespace Ingest.Gateway.Tests.Integration.DynamoDb;

/// <summary>
/// dynamodb routes end to end: a real gateway in front of the shared dynalite stand-in
/// (127.0.0.1:4569), a table per test. Put, Get, Query, Update and Delete through request and
/// response templates; a failed condition, a template error, a hang (injected at the HTTP layer)
/// and an unreachable endpoint. Each test takes under 3 s.
/// </summary>
[Trait("Category", "Standins")]
public sealed class DynamoDbGatewayTests : IAsyncLifetime
{
    private const string Dynalite = "http://127.0.0.1:4569";

    private readonly string _table = $"ingest-gw-{Guid.NewGuid():N}";

    public async Task InitializeAsync()
    {
        using var admin = Admin();
        await admin.CreateTableAsync(new CreateTableRequest
        {
            TableName = _table,
            BillingMode = BillingMode.PAY_PER_REQUEST,
            AttributeDefinitions = [new AttributeDefinition("device", ScalarAttributeType.S), new AttributeDefinition("ts", ScalarAttributeType.N)],
            KeySchema = [new KeySchemaElement("device", KeyType.HASH), new KeySchemaElement("ts", KeyType.RANGE)],
        });
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while ((await admin.DescribeTableAsync(_table)).Table.TableStatus != TableStatus.ACTIVE)
        {
            Assert.True(DateTime.UtcNow < deadline, $"table {_table} not active after 20 s");
            await Task.Delay(20);
        }
    }

    public async Task DisposeAsync()
    {
        using var admin = Admin();
        await admin.DeleteTableAsync(_table);
    }

    [Fact]
    public async Task Put_get_query_update_and_delete_through_templates()
    {
        await using var gateway = await StartAsync();
        var requests = 0;

        foreach (var ts in new[] { 1, 2, 3 })
        {
            using var put = await gateway.Client.PostAsync($"/v1/devices/d-1/readings/{ts}", Json($$"""{"temp":{{20 + ts}},"note":"say \"hi\" }"}"""));
            requests++;
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.Equal("{}", await put.Content.ReadAsStringAsync());
        }

        using (var again = await gateway.Client.PostAsync("/v1/devices/d-1/readings/1", Json("""{"temp":99,"note":"x"}""")))
        {
            requests++;
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
            Assert.Contains("ConditionalCheckFailedException", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var conflict = await LogLineAsync(gateway, requests);
            Assert.Equal(409, conflict.GetProperty("status").GetInt32());
            Assert.Equal(400, conflict.GetProperty("integrationStatus").GetInt32());
            Assert.StartsWith("DynamoDB PutItem answered 400 ConditionalCheckFailedException", conflict.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
        }

        using (var get = await gateway.Client.GetAsync("/v1/devices/d-1/readings/2"))
        {
            requests++;
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal("application/json", get.Content.Headers.ContentType!.MediaType);
            using var reading = JsonDocument.Parse(await get.Content.ReadAsStringAsync());
            Assert.Equal("d-1", reading.RootElement.GetProperty("device").GetString());
            Assert.Equal(22, reading.RootElement.GetProperty("temp").GetInt32());
            Assert.Equal("say \"hi\" }", reading.RootElement.GetProperty("note").GetString());
            var log = await LogLineAsync(gateway, requests);
            Assert.Equal(200, log.GetProperty("integrationStatus").GetInt32());
            Assert.Equal(JsonValueKind.Null, log.GetProperty("integrationError").ValueKind);
        }

        using (var query = await gateway.Client.GetAsync("/v1/devices/d-1/readings?from=2"))
        {
            requests++;
            Assert.Equal(HttpStatusCode.OK, query.StatusCode);
            using var page = JsonDocument.Parse(await query.Content.ReadAsStringAsync());
            Assert.Equal([3, 2], page.RootElement.GetProperty("readings").EnumerateArray().Select(r => r.GetProperty("ts").GetInt32()).ToArray());
        }

        using (var bump = await gateway.Client.PostAsync("/v1/devices/d-1/readings/1/bump", Json("""{"by":5}""")))
        {
            requests++;
            Assert.Equal(HttpStatusCode.OK, bump.StatusCode);
            using var updated = JsonDocument.Parse(await bump.Content.ReadAsStringAsync());
            Assert.Equal("26", updated.RootElement.GetProperty("Attributes").GetProperty("temp").GetProperty("N").GetString());
        }

        using (var delete = await gateway.Client.DeleteAsync("/v1/devices/d-1/readings/3"))
        {
            requests++;
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }
        using (var gone = await gateway.Client.GetAsync("/v1/devices/d-1/readings/3"))
        {
            Assert.Equal(HttpStatusCode.OK, gone.StatusCode);
            Assert.Equal("""{"message":"not found"}""", (await gone.Content.ReadAsStringAsync()).Trim());
        }

        using var admin = Admin();
        var items = (await admin.ScanAsync(new ScanRequest { TableName = _table })).Items;
        Assert.Equal(["1", "2"], items.Select(i => i["ts"].N).Order(StringComparer.Ordinal).ToArray());
        Assert.Equal("26", items.Single(i => i["ts"].N == "1")["temp"].N);
    }

    [Fact]
    public async Task A_template_that_fails_is_500_with_the_reason_in_the_access_log_and_nothing_written()
    {
        await using var gateway = await StartAsync();

        // The put template reads temp with plus: 0, but note through base64_decode on this route.
        using var response = await gateway.Client.PostAsync("/v1/devices/d-1/encoded/1", Json("""{"note":"%%% not base64"}"""));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("Internal Server Error", await MessageAsync(response));
        var log = await LogLineAsync(gateway, 1);
        Assert.Equal(500, log.GetProperty("status").GetInt32());
        var reason = log.GetProperty("integrationError").GetString();
        Assert.StartsWith("mapping template: routes[5] (POST /v1/devices/{id}/encoded/{ts}).requestTemplate: ", reason, StringComparison.Ordinal);
        Assert.Contains("base64_decode", reason, StringComparison.Ordinal);
        using var admin = Admin();
        Assert.Equal(0, (await admin.ScanAsync(new ScanRequest { TableName = _table })).Count);
    }

    [Theory]
    [InlineData("rest-v1", 504, "Endpoint request timed out")]
    [InlineData("http-v2", 503, "Service Unavailable")]
    public async Task A_hanging_dynamodb_gets_the_compat_timeout_answer(string compat, int status, string message)
    {
        var options = new GatewayOptions
        {
            WrapHttpHandler = (target, inner) => target == "readings-get" ? new Hang { InnerHandler = inner } : inner,
        };
        await using var gateway = await StartAsync(compat: compat, timeout: "300ms", options: options);
        var started = DateTime.UtcNow;

        using var response = await gateway.Client.GetAsync("/v1/devices/d-1/readings/1");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(message, await MessageAsync(response));
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        var log = await LogLineAsync(gateway, 1);
        Assert.Contains("route timeout", log.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_dynamodb_is_502()
    {
        await using var gateway = await StartAsync(endpoint: $"http://127.0.0.1:{ClosedPort()}");

        using var response = await gateway.Client.GetAsync("/v1/devices/d-1/readings/1");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("Internal Server Error", await MessageAsync(response));
        var log = await LogLineAsync(gateway, 1);
        Assert.Equal(502, log.GetProperty("status").GetInt32());
        Assert.StartsWith("DynamoDB GetItem: ", log.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    private Task<TestGateway> StartAsync(string compat = "http-v2", string timeout = "5s", string endpoint = Dynalite, GatewayOptions? options = null) =>
        AwsGateway.StartAsync(compat, "us-east-1", "AKID", "secret", [("dynamodb", endpoint)], $$$$"""
            defaults: { timeout: {{{{timeout}}}} }
            targets:
              readings-put: { type: dynamodb, table: {{{{_table}}}}, action: PutItem }
              readings-get: { type: dynamodb, table: {{{{_table}}}}, action: GetItem }
              readings-query: { type: dynamodb, table: {{{{_table}}}}, action: Query }
              readings-bump: { type: dynamodb, table: {{{{_table}}}}, action: UpdateItem }
              readings-del: { type: dynamodb, table: {{{{_table}}}}, action: DeleteItem }
            routes:
              - route: POST /v1/devices/{id}/readings/{ts}
                target: readings-put
                auth: none
                public: true
                requestTemplate: |
                  {"Item": {"device": {"S": "{{ input.path.id | json_escape }}"}, "ts": {"N": "{{ input.path.ts | plus: 0 }}"},
                            "temp": {"N": "{{ input.json.temp | plus: 0 }}"}, "note": {"S": "{{ input.json.note | json_escape }}"}},
                   "ConditionExpression": "attribute_not_exists(ts)"}
              - route: GET /v1/devices/{id}/readings/{ts}
                target: readings-get
                auth: none
                public: true
                requestTemplate: '{"Key": {"device": {"S": "{{ input.path.id | json_escape }}"}, "ts": {"N": "{{ input.path.ts | plus: 0 }}"}}}'
                responseTemplate: |
                  {% assign item = integration.json.Item %}{% if item %}{"device": {{ item.device.S | json }}, "temp": {{ item.temp.N }}, "note": {{ item.note.S | json }}}{% else %}{"message":"not found"}{% endif %}
              - route: GET /v1/devices/{id}/readings
                target: readings-query
                auth: none
                public: true
                requestTemplate: |
                  {"KeyConditionExpression": "device = :d AND ts >= :from", "ScanIndexForward": false,
                   "ExpressionAttributeValues": {":d": {"S": "{{ input.path.id | json_escape }}"}, ":from": {"N": "{{ input.query.from | default: 0 | plus: 0 }}"}}}
                responseTemplate: |
                  {"readings": [{% for r in integration.json.Items %}{"ts": {{ r.ts.N }}, "temp": {{ r.temp.N }}}{% unless forloop.last %},{% endunless %}{% endfor %}]}
              - route: POST /v1/devices/{id}/readings/{ts}/bump
                target: readings-bump
                auth: none
                public: true
                requestTemplate: |
                  {"Key": {"device": {"S": "{{ input.path.id | json_escape }}"}, "ts": {"N": "{{ input.path.ts | plus: 0 }}"}},
                   "UpdateExpression": "SET #t = #t + :inc", "ExpressionAttributeNames": {"#t": "temp"},
                   "ExpressionAttributeValues": {":inc": {"N": "{{ input.json.by | default: 1 | plus: 0 }}"}}, "ReturnValues": "ALL_NEW"}
              - route: DELETE /v1/devices/{id}/readings/{ts}
                target: readings-del
                auth: none
                public: true
                requestTemplate: '{"Key": {"device": {"S": "{{ input.path.id | json_escape }}"}, "ts": {"N": "{{ input.path.ts | plus: 0 }}"}}}'
              - route: POST /v1/devices/{id}/encoded/{ts}
                target: readings-put
                auth: none
                public: true
                requestTemplate: '{"Item": {"device": {"S": "{{ input.path.id }}"}, "ts": {"N": "{{ input.path.ts | plus: 0 }}"}, "note": {"S": "{{ input.json.note | base64_decode | json_escape }}"}}}'
            """, options);

    private static AmazonDynamoDBClient Admin() =>
        new(new BasicAWSCredentials("AKID", "secret"), new AmazonDynamoDBConfig { ServiceURL = Dynalite, AuthenticationRegion = "us-east-1" });

    /// <summary>The access-log line of the <paramref name="nth"/> request (1-based), waiting for it.</summary>
    private static async Task<JsonElement> LogLineAsync(TestGateway gateway, int nth)
    {
        var lines = await gateway.AccessLogLinesAsync(nth);
        Assert.True(lines.Length >= nth, $"{lines.Length} access-log lines, expected {nth}");
        using var document = JsonDocument.Parse(lines[nth - 1]);
        return document.RootElement.Clone();
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>DynamoDB that never answers: the call ends only at the route timeout.</summary>
    private sealed class Hang : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
