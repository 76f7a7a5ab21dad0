using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Integration;
using static Ingest.Targets.Tests.DynamoDb.DynamoDbTestKit;

namespace Ingest.Targets.Tests.DynamoDb;

/// <summary>Each action against dynalite through its request template, and the answers for DynamoDB's errors.</summary>
[Trait("Category", "Standins")]
public sealed class DynamoDbTargetTests : IAsyncLifetime
{
    private const string PutTemplate = """
        {
          "Item": {
            "device": {"S": "{{ input.path.id | json_escape }}"},
            "ts": {"N": "{{ input.json.ts }}"},
            "temp": {"N": "{{ input.json.temp }}"},
            "note": {"S": "{{ input.json.note | json_escape }}"}
          },
          "ConditionExpression": "attribute_not_exists(device)"
        }
        """;

    private const string KeyTemplate = """{"Key":{"device":{"S":"{{ input.path.id | json_escape }}"},"ts":{"N":"{{ input.query.ts }}"}}}""";

    private readonly string _table = UniqueTable();

    public Task InitializeAsync() => CreateTableAsync(_table);

    public Task DisposeAsync() => DeleteTableAsync(_table);

    [Fact]
    public async Task Put_get_query_update_delete_round_trip()
    {
        await using var put = Create(_table, "PutItem");
        await using var get = Create(_table, "GetItem");
        await using var query = Create(_table, "Query");
        await using var update = Create(_table, "UpdateItem");
        await using var delete = Create(_table, "DeleteItem");

        var hostile = "quote \" brace } backslash \\ \u00e9";
        foreach (var ts in new[] { 1, 2, 3 })
        {
            var body = JsonSerializer.Serialize(new { ts, temp = 20 + ts, note = hostile });
            var stored = await put.InvokeAsync(Request(PutTemplate, body), CancellationToken.None);
            Assert.True(stored.Failure == IntegrationFailure.None, stored.Reason);
            Assert.Equal(200, stored.StatusCode);
            Assert.Equal("application/json", stored.ContentType);
            Assert.Equal("{}", Encoding.UTF8.GetString(stored.Body.Span));
        }

        var got = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=2"), CancellationToken.None);
        Assert.True(got.StatusCode == 200, Encoding.UTF8.GetString(got.Body.Span) + got.Reason);
        using (var item = JsonDocument.Parse(got.Body))
        {
            var attributes = item.RootElement.GetProperty("Item");
            Assert.Equal("dev-7", attributes.GetProperty("device").GetProperty("S").GetString());
            Assert.Equal("22", attributes.GetProperty("temp").GetProperty("N").GetString());
            Assert.Equal(hostile, attributes.GetProperty("note").GetProperty("S").GetString());
        }

        var queried = await query.InvokeAsync(
            Request("""{"KeyConditionExpression":"device = :d AND ts >= :from","ExpressionAttributeValues":{":d":{"S":"{{ input.path.id }}"},":from":{"N":"{{ input.query.from }}"}},"ScanIndexForward":false}""", query: "?from=2"),
            CancellationToken.None);
        Assert.True(queried.StatusCode == 200, Encoding.UTF8.GetString(queried.Body.Span) + queried.Reason);
        using (var page = JsonDocument.Parse(queried.Body))
        {
            Assert.Equal(2, page.RootElement.GetProperty("Count").GetInt32());
            Assert.Equal(["3", "2"], page.RootElement.GetProperty("Items").EnumerateArray().Select(i => i.GetProperty("ts").GetProperty("N").GetString()!).ToArray());
        }

        var updated = await update.InvokeAsync(
            Request("""{"Key":{"device":{"S":"{{ input.path.id }}"},"ts":{"N":"1"}},"UpdateExpression":"SET #t = #t + :inc","ExpressionAttributeNames":{"#t":"temp"},"ExpressionAttributeValues":{":inc":{"N":"{{ input.json.inc }}"}},"ReturnValues":"ALL_NEW"}""", """{"inc":5}"""),
            CancellationToken.None);
        Assert.True(updated.StatusCode == 200, Encoding.UTF8.GetString(updated.Body.Span) + updated.Reason);
        using (var after = JsonDocument.Parse(updated.Body))
        {
            Assert.Equal("26", after.RootElement.GetProperty("Attributes").GetProperty("temp").GetProperty("N").GetString());
        }

        var deleted = await delete.InvokeAsync(Request(KeyTemplate.Replace("}}}", "}},\"ReturnValues\":\"ALL_OLD\"}", StringComparison.Ordinal), query: "?ts=3"), CancellationToken.None);
        Assert.True(deleted.StatusCode == 200, Encoding.UTF8.GetString(deleted.Body.Span) + deleted.Reason);
        using (var old = JsonDocument.Parse(deleted.Body))
        {
            Assert.Equal("3", old.RootElement.GetProperty("Attributes").GetProperty("ts").GetProperty("N").GetString());
        }
        var gone = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=3"), CancellationToken.None);
        Assert.Equal("{}", Encoding.UTF8.GetString(gone.Body.Span));

        using var admin = AdminClient();
        Assert.Equal(2, (await admin.ScanAsync(new Amazon.DynamoDBv2.Model.ScanRequest { TableName = _table })).Count);
    }

    [Fact]
    public async Task A_failed_condition_is_409_with_dynamodbs_body()
    {
        await using var put = Create(_table, "PutItem");
        var body = """{"ts":1,"temp":20,"note":"first"}""";
        Assert.Equal(200, (await put.InvokeAsync(Request(PutTemplate, body), CancellationToken.None)).StatusCode);

        var again = await put.InvokeAsync(Request(PutTemplate, body.Replace("first", "second", StringComparison.Ordinal)), CancellationToken.None);

        Assert.Equal(IntegrationFailure.None, again.Failure);
        Assert.Equal(409, again.StatusCode);
        Assert.Equal(400, again.IntegrationStatus);
        Assert.Equal("application/json", again.ContentType);
        Assert.Contains("ConditionalCheckFailedException", Encoding.UTF8.GetString(again.Body.Span), StringComparison.Ordinal);
        using var admin = AdminClient();
        var kept = await admin.GetItemAsync(_table, new() { ["device"] = new("dev-7"), ["ts"] = new() { N = "1" } });
        Assert.Equal("first", kept.Item["note"].S);
    }

    [Fact]
    public async Task A_request_dynamodb_finds_invalid_is_400_with_its_message()
    {
        await using var put = Create(_table, "PutItem");

        // An empty key value comes from the client's input: DynamoDB says what is wrong.
        var result = await put.InvokeAsync(Request(PutTemplate, """{"ts":1,"temp":1,"note":"n"}""", id: ""), CancellationToken.None);

        Assert.Equal(400, result.StatusCode);
        var text = Encoding.UTF8.GetString(result.Body.Span);
        Assert.Contains("ValidationException", text, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(text);
        Assert.False(string.IsNullOrEmpty(document.RootElement.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task A_missing_table_is_a_502_with_the_reason_for_the_log()
    {
        await using var get = Create(UniqueTable("missing"), "GetItem");

        var result = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), CancellationToken.None);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(400, result.IntegrationStatus);
        Assert.Contains("ResourceNotFoundException", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"Key\": {{ input.json.key }}", "is not JSON")]
    [InlineData("[1,2]", "not an object")]
    [InlineData("{\"TableName\":\"other-table\",\"Key\":{}}", "this target only uses table")]
    [InlineData("{{ input.body | base64_decode }}", "base64_decode")]
    public async Task A_request_the_template_cannot_make_is_a_mapping_error_without_a_call(string template, string reason)
    {
        var fault = DynamoDbFault.Error(HttpStatusCode.OK, "none", "not called");
        await using var get = Create(_table, "GetItem", wrap: (_, inner) => { fault.InnerHandler = inner; return fault; });

        var result = await get.InvokeAsync(Request(template, "{}}not base64"), CancellationToken.None);

        Assert.Equal(IntegrationFailure.MappingError, result.Failure);
        Assert.Contains(reason, result.Reason, StringComparison.Ordinal);
        Assert.Equal(0, fault.Calls);
    }

    [Fact]
    public async Task Table_name_is_filled_in_and_may_be_named_when_it_is_the_targets()
    {
        await using var put = Create(_table, "PutItem");
        var named = "{\"TableName\":\"" + _table + "\",\"Item\":{\"device\":{\"S\":\"{{ input.path.id }}\"},\"ts\":{\"N\":\"9\"}}}";

        var result = await put.InvokeAsync(Request(named), CancellationToken.None);

        Assert.True(result.Failure == IntegrationFailure.None, result.Reason);
        Assert.Equal(200, result.StatusCode);
    }

    [Theory]
    [InlineData("ProvisionedThroughputExceededException")]
    [InlineData("ThrottlingException")]
    [InlineData("RequestLimitExceeded")]
    public async Task Throttling_is_429_with_retry_after(string code)
    {
        var fault = DynamoDbFault.Error(HttpStatusCode.BadRequest, code, "slow down");
        await using var get = Create(_table, "GetItem", wrap: (_, inner) => { fault.InnerHandler = inner; return fault; });

        var result = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), CancellationToken.None);

        Assert.Equal(429, result.StatusCode);
        Assert.Equal("1", Assert.Single(result.Headers, h => h.Key == "Retry-After").Value.ToString());
        Assert.Equal("{\"message\":\"Too Many Requests\"}", Encoding.UTF8.GetString(result.Body.Span));
        Assert.Equal(1, fault.Calls);
    }

    [Fact]
    public async Task A_dynamodb_failure_is_a_502_and_is_not_retried()
    {
        var fault = DynamoDbFault.Error(HttpStatusCode.InternalServerError, "InternalServerError", "boom");
        await using var update = Create(_table, "UpdateItem", wrap: (_, inner) => { fault.InnerHandler = inner; return fault; });

        var result = await update.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), CancellationToken.None);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(500, result.IntegrationStatus);
        Assert.Contains("InternalServerError: boom", result.Reason, StringComparison.Ordinal);
        Assert.Equal(1, fault.Calls);
    }

    [Fact]
    public async Task A_hanging_dynamodb_is_a_timeout_at_the_route_deadline()
    {
        var fault = DynamoDbFault.Hang();
        await using var get = Create(_table, "GetItem", wrap: (_, inner) => { fault.InnerHandler = inner; return fault; });
        using var deadline = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var result = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), deadline.Token);

        Assert.Equal(IntegrationFailure.Timeout, result.Failure);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_unreachable()
    {
        await using var get = Create(_table, "GetItem", endpoint: $"http://127.0.0.1:{ClosedPort()}");

        var result = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), CancellationToken.None);

        Assert.Equal(IntegrationFailure.Unreachable, result.Failure);
        Assert.Equal(0, result.IntegrationStatus);
        Assert.False(string.IsNullOrEmpty(result.Reason));
    }

    [Fact]
    public async Task Calls_are_signed_for_dynamodb_with_the_configured_keys()
    {
        HttpRequestMessage? seen = null;
        string? sentBody = null;
        var fault = new DynamoDbFault(async (request, cancellationToken) =>
        {
            seen = request;
            sentBody = await request.Content!.ReadAsStringAsync(cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"Item\":{}}", Encoding.UTF8, "application/x-amz-json-1.0") };
        });
        await using var get = Create(_table, "GetItem", wrap: (_, inner) => { fault.InnerHandler = inner; return fault; });

        var result = await get.InvokeAsync(Request(KeyTemplate, query: "?ts=1"), CancellationToken.None);

        Assert.Equal(200, result.StatusCode);
        Assert.NotNull(seen);
        Assert.Equal("DynamoDB_20120810.GetItem", seen.Headers.GetValues("X-Amz-Target").Single());
        var authorization = string.Join(",", seen.Headers.GetValues("Authorization"));
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKID/", authorization, StringComparison.Ordinal);
        Assert.Contains("/us-east-1/dynamodb/aws4_request", authorization, StringComparison.Ordinal);
        using var sent = JsonDocument.Parse(sentBody!);
        Assert.Equal(_table, sent.RootElement.GetProperty("TableName").GetString());
    }
}
