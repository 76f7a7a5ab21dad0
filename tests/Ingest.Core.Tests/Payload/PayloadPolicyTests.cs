using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Payload;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Tests.Payload;

public class PayloadPolicyTests
{
    private const string Schema = """'{"type":"object","required":["temp"],"properties":{"temp":{"type":"number"}}}'""";

    private static PayloadPolicy Policy(string routeKeys)
    {
        var config = ConfigLoader.Load($$"""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /x, target: sink, auth: none, public: true, {{routeKeys}} }
            """);
        Assert.DoesNotContain(ConfigValidator.Validate(config, new Dictionary<string, Ingest.Core.Pipeline.ITargetKind>()), e => e.Contains("routes[0]", StringComparison.Ordinal));
        return PayloadPolicy.Compile(config, config.Routes[0]);
    }

    private static DecodedPayload Decode(PayloadPolicy policy, string body, string? encoding = null) =>
        policy.Decode(Encoding.UTF8.GetBytes(body), encoding is null ? StringValues.Empty : new StringValues(encoding));

    private static string[] Texts(DecodedPayload payload) => payload.Items!.Select(i => Encoding.UTF8.GetString(i.Span)).ToArray();

    [Fact]
    public void Without_checks_the_body_is_one_event_as_sent()
    {
        var payload = Decode(Policy("maxBodyBytes: 100"), "not json at all");

        Assert.Null(payload.Rejection);
        Assert.Null(payload.Items);
        Assert.Equal("not json at all", Encoding.UTF8.GetString(payload.Single.Span));
    }

    [Fact]
    public void Validate_json_and_schema_refuse_with_the_path()
    {
        var json = Decode(Policy("validate: json"), """{"temp": nope}""");
        Assert.Equal(400, json.Rejection!.Status);
        Assert.Equal("Invalid request body: $.temp", json.Rejection.Message);
        Assert.StartsWith("not valid JSON", json.Rejection.LogReason, StringComparison.Ordinal);

        var schema = Decode(Policy($"schema: {Schema}"), """{"temp": "hot"}""");
        Assert.Equal("Invalid request body: $.temp", schema.Rejection!.Message);
        Assert.Equal("Invalid request body: $.temp", Decode(Policy($"schema: {Schema}"), "{}").Rejection!.Message);
        Assert.Null(Decode(Policy($"schema: {Schema}"), """{"temp": 21}""").Rejection);
    }

    [Fact]
    public void Gzip_body_is_inflated_then_checked()
    {
        var policy = Policy("validate: json, maxInflatedBytes: 64");
        var gzip = Bombs.Gzip(Encoding.UTF8.GetBytes("""{"temp":21}"""));

        var ok = policy.Decode(gzip, "gzip");
        Assert.Equal("""{"temp":21}""", Encoding.UTF8.GetString(ok.Single.Span));

        var tooBig = policy.Decode(Bombs.Gzip(new byte[65]), "gzip");
        Assert.Equal("Request Entity Too Large", tooBig.Rejection!.Message);
        Assert.Equal(413, tooBig.Rejection.Status);

        var truncated = policy.Decode(gzip.AsMemory(0, gzip.Length - 3), "gzip");
        Assert.Equal("Invalid request body: gzip", truncated.Rejection!.Message);
        Assert.Equal("Invalid request body: deflate", policy.Decode(gzip, "deflate").Rejection!.Message);
    }

    [Fact]
    public void Ndjson_items_are_checked_one_by_one_and_blank_lines_skipped()
    {
        var policy = Policy($"split: ndjson, schema: {Schema}");

        var payload = Decode(policy, "{\"temp\":1}\r\n\n   \n{\"temp\":\"x\"}\n{broken\n{\"temp\":2}\n\n");

        Assert.Null(payload.Rejection);
        Assert.Equal(["{\"temp\":1}", "{\"temp\":2}"], Texts(payload));
        Assert.Equal([new ItemRejection(1, "Invalid request body: $.temp"), new ItemRejection(2, "Invalid request body: $")], payload.Rejected);
    }

    [Fact]
    public void Ndjson_without_a_schema_still_needs_json_items()
    {
        var payload = Decode(Policy("split: ndjson"), "{\"a\":1}\nnope\n[1]");

        Assert.Equal(["{\"a\":1}", "[1]"], Texts(payload));
        Assert.Equal(new ItemRejection(1, "Invalid request body: $"), Assert.Single(payload.Rejected!));
    }

    [Fact]
    public void Array_items_keep_their_exact_bytes_and_are_checked_against_the_schema()
    {
        var payload = Decode(Policy($"split: array, schema: {Schema}"), """[ {"temp": 1.0} , {"temp":true}, {"temp":3,"x":[1, 2]} ]""");

        Assert.Equal(["""{"temp": 1.0}""", """{"temp":3,"x":[1, 2]}"""], Texts(payload));
        Assert.Equal(new ItemRejection(1, "Invalid request body: $.temp"), Assert.Single(payload.Rejected!));
    }

    [Fact]
    public void A_broken_array_or_no_good_item_refuses_the_whole_request()
    {
        var policy = Policy($"split: array, schema: {Schema}");

        Assert.Equal("Invalid request body: $[1].temp", Decode(policy, """[{"temp":1},{"temp":x}]""").Rejection!.Message);
        Assert.Equal("Invalid request body: $", Decode(policy, """{"temp":1}""").Rejection!.Message);
        Assert.Equal("Invalid request body: $.temp", Decode(policy, """[{"t":1},{"temp":"x"}]""").Rejection!.Message);
        Assert.Equal("Invalid request body: $", Decode(policy, "[]").Rejection!.Message);
        Assert.Equal("Invalid request body: $", Decode(Policy("split: ndjson"), "\n\n").Rejection!.Message);
    }

    [Fact]
    public void More_items_than_max_items_is_413()
    {
        var ndjson = Decode(Policy("split: ndjson, maxItems: 3"), "1\n2\n3\n4\n");
        var array = Decode(Policy("split: array, maxItems: 3"), "[1,2,3,4]");
        var exactly = Decode(Policy("split: ndjson, maxItems: 3"), "1\n2\n3\n");

        Assert.Equal(413, ndjson.Rejection!.Status);
        Assert.Equal(413, array.Rejection!.Status);
        Assert.Contains("more than 3 events", array.Rejection.LogReason, StringComparison.Ordinal);
        Assert.Equal(3, exactly.Count);
    }

    [Fact]
    public void Default_max_items_is_1000()
    {
        var policy = Policy("split: ndjson");

        Assert.Equal(1000, policy.MaxItems);
        Assert.Equal(1000, Decode(policy, string.Concat(Enumerable.Repeat("{}\n", 1000))).Count);
        Assert.Equal(413, Decode(policy, string.Concat(Enumerable.Repeat("{}\n", 1001))).Rejection!.Status);
    }

    [Fact]
    public void Deeply_nested_body_is_refused_cheaply()
    {
        var payload = Decode(Policy("validate: json"), new string('[', 100_000));

        Assert.Equal(400, payload.Rejection!.Status);
        Assert.Equal("nested deeper than 64 levels", payload.Rejection.LogReason);
    }

    [Fact]
    public void Inflated_limit_defaults_to_the_body_limit()
    {
        Assert.Equal(100, Policy("maxBodyBytes: 100").MaxInflatedBytes);
        Assert.Equal(5000, Policy("maxBodyBytes: 100, maxInflatedBytes: 5000").MaxInflatedBytes);
    }
}
