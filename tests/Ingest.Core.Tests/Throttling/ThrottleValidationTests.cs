using Ingest.Core.Throttling;

namespace Ingest.Core.Tests.Throttling;

public class ThrottleValidationTests
{
    private static List<string> Validate(string yaml)
    {
        var errors = new List<string>();
        ThrottleValidation.Validate(ThrottleTestKit.Load(yaml), errors);
        return errors;
    }

    [Fact]
    public void The_example_settings_are_valid()
    {
        var errors = Validate("""
            redis: { endpoint: 127.0.0.1:6390, onFailure: local }
            throttle: { rate: 10000, burst: 5000 }
            apiKeys: [{ id: fleet-a, sha256: aa }]
            usagePlans:
              - { name: standard, throttle: { rate: 1000, burst: 500 }, quota: { limit: 1000000, period: day }, keys: [fleet-a] }
            routes:
              - { route: POST /v1/events, target: sink, throttle: { rate: 5000, burst: 2000, by: sourceIp } }
              - { route: POST /v1/clicks, target: sink, auth: [apiKey], throttle: { rate: 5, burst: 10, by: apiKey } }
              - { route: POST /v1/d, target: sink, throttle: { rate: 0.5, burst: 1, by: 'header:x-device-id', maxKeys: 10 } }
            """);

        Assert.Empty(errors);
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_where_and_the_fix()
    {
        var errors = Validate("""
            redis: { endpoint: "localhost", onFailure: retry, timeout: 0s }
            throttle: { rate: 0, burst: 0.5 }
            apiKeys: [{ id: fleet-a, sha256: aa }]
            usagePlans:
              - { name: gold, quota: { limit: 0, period: year }, keys: [fleet-a, ghost] }
              - { name: silver, throttle: { rate: 1, burst: 1, by: sourceIp }, keys: [fleet-a] }
              - { name: empty }
            routes:
              - { route: POST /a, target: sink, throttle: { rate: 1, burst: 1, by: client } }
              - { route: POST /b, target: sink, auth: none, throttle: { rate: 1, burst: 1, by: apiKey } }
              - { route: POST /c, target: sink, throttle: { rate: 1, burst: 1, by: 'header:', maxKeys: 0 } }
            """);

        string[] expected =
        [
            "throttle.rate: 0 must be between",
            "throttle.burst: 0.5 must be a whole number",
            "routes[0] (POST /a).throttle.by: 'client' must be route",
            "routes[1] (POST /b).throttle.by: 'apiKey' needs apiKey in the route's auth list",
            "routes[2] (POST /c).throttle.by: 'header:' does not name a header",
            "routes[2] (POST /c).throttle.maxKeys: 0 must be at least 1",
            "usagePlans[0] (gold).quota.limit: 0 must be from 1",
            "usagePlans[0] (gold).quota.period: 'year' must be one of day, week, month",
            "usagePlans[0] (gold).keys: 'ghost' is not an API key id. Add it under apiKeys",
            "usagePlans[1] (silver).throttle.by: usage plan throttles are always per API key",
            "usagePlans[1] (silver).keys: 'fleet-a' is also in usage plan 'gold'",
            "usagePlans[2] (empty): sets neither throttle nor quota",
            "redis.endpoint: 'localhost' is not host:port",
            "redis.onFailure: 'retry' must be local",
            "redis.timeout: must be above zero",
        ];
        foreach (var start in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(start, StringComparison.Ordinal));
        }
        Assert.Equal(expected.Length, errors.Count);
    }

    [Theory]
    [InlineData("redis.internal:6379", true)]
    [InlineData("10.1.2.3:6390", true)]
    [InlineData("[::1]:6379", true)]
    [InlineData("redis:0", false)]
    [InlineData("redis:70000", false)]
    [InlineData(":6379", false)]
    [InlineData("a b:6379", false)]
    public void Redis_endpoint_must_be_host_and_port(string endpoint, bool valid)
    {
        var errors = Validate($"redis: {{ endpoint: \"{endpoint}\" }}");

        Assert.Equal(valid, errors.Count == 0);
    }
}
