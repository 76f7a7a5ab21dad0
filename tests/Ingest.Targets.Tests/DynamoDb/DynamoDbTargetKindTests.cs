using System.Text;
using Ingest.Core.Configuration;
using Ingest.Targets.DynamoDb;

namespace Ingest.Targets.Tests.DynamoDb;

/// <summary>Settings checks of <c>type: dynamodb</c> and the request body sent (no stand-in needed).</summary>
public sealed class DynamoDbTargetKindTests
{
    private static List<string> Validate(TargetOptions options, IngestConfig? config = null)
    {
        var errors = new List<string>();
        new DynamoDbTargetKind().Validate("items", options, config ?? new IngestConfig(), errors);
        return errors;
    }

    [Fact]
    public void A_complete_target_has_no_errors()
    {
        Assert.Empty(Validate(new TargetOptions { Type = "dynamodb", Table = "devices", Action = "GetItem" }));
        Assert.Empty(Validate(new TargetOptions { Type = "dynamodb", Table = "arn:aws:dynamodb:us-east-1:123456789012:table/devices", Action = "Query" }));
        Assert.Empty(Validate(new TargetOptions { Type = "dynamodb", Table = "${stageVariables.table}", Action = "PutItem" }));
    }

    [Fact]
    public void Every_problem_is_reported_with_its_fix()
    {
        var config = new IngestConfig();
        config.Aws.Endpoints["dynamodb"] = "localhost:4569";
        config.Aws.AccessKeyId = "AKID";
        var errors = Validate(new TargetOptions { Type = "dynamodb", Action = "Scan", Queue = "q" }, config);

        Assert.Contains(errors, e => e.StartsWith("targets.items.table: missing.", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.items.action: 'Scan' must be one of PutItem, GetItem, Query, UpdateItem, DeleteItem", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("aws.endpoints.dynamodb: 'localhost:4569' is not an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("aws.secretAccessKey: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.items.queue: does not apply to dynamodb targets", StringComparison.Ordinal));
        Assert.Equal(5, errors.Count);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("has space")]
    [InlineData("slash/name")]
    public void A_table_name_dynamodb_refuses_is_an_error(string table)
    {
        Assert.Contains("is not a DynamoDB table name", Assert.Single(Validate(new TargetOptions { Type = "dynamodb", Table = table, Action = "GetItem" })), StringComparison.Ordinal);
    }

    [Fact]
    public void A_route_without_a_request_template_is_an_error()
    {
        var errors = new List<string>();
        var kind = new DynamoDbTargetKind();
        var target = new TargetOptions { Type = "dynamodb", Table = "devices", Action = "GetItem" };
        kind.ValidateRoute("routes[0] (GET /items/{id})", new RouteOptions { Route = "GET /items/{id}", Target = "items" }, target, errors);
        Assert.StartsWith("routes[0] (GET /items/{id}).requestTemplate: missing. A route to a dynamodb target renders the GetItem's request", Assert.Single(errors), StringComparison.Ordinal);

        errors.Clear();
        kind.ValidateRoute("routes[0] (GET /items/{id})", new RouteOptions { Route = "GET /items/{id}", Target = "items", RequestTemplate = "{}" }, target, errors);
        Assert.Empty(errors);
    }

    [Fact]
    public void The_table_name_is_put_first_and_the_rest_kept()
    {
        var body = DynamoDbRequestBody.Prepare("""{ "Key": {"id": {"S": "a"}}, "ConsistentRead": true }""", "devices", out var error);
        Assert.Null(error);
        Assert.Equal("""{"TableName":"devices","Key":{"id":{"S":"a"}},"ConsistentRead":true}""", Encoding.UTF8.GetString(body!));
    }

    [Theory]
    [InlineData("""{"TableName":"other"}""", "names TableName \"other\"")]
    [InlineData("""{"TableName":7}""", "names TableName 7")]
    [InlineData("null", "not an object")]
    [InlineData("{\"a\":", "is not JSON")]
    [InlineData("", "is not JSON")]
    public void A_body_that_is_not_a_request_for_this_table_is_refused(string rendered, string reason)
    {
        Assert.Null(DynamoDbRequestBody.Prepare(rendered, "devices", out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_body_naming_the_targets_table_is_sent_as_rendered()
    {
        var rendered = """{"TableName":"devices","Key":{}}""";
        Assert.Equal(rendered, Encoding.UTF8.GetString(DynamoDbRequestBody.Prepare(rendered, "devices", out var error)!));
        Assert.Null(error);
    }
}
