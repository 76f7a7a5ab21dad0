using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;

namespace Ingest.Core.Tests.Payload;

public class PayloadValidationTests
{
    [Fact]
    public void Every_payload_error_is_reported_at_once_with_the_route_and_the_fix()
    {
        var config = ConfigLoader.Load("""
            defaults: { maxInflatedBytes: 0, maxItems: 0 }
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: none, public: true, split: lines, validate: yes }
              - { route: POST /b, target: sink, auth: none, public: true, maxItems: 10 }
              - { route: POST /c, target: sink, auth: none, public: true, split: ndjson, maxInflatedBytes: 2000000000000, schema: "file:/nope/schema.json" }
              - { route: POST /d, target: sink, auth: none, public: true, split: array, schema: '{"type":"object","anyOf":[]}' }
            """);

        var errors = ConfigValidator.Validate(config, new Dictionary<string, ITargetKind>());

        Assert.Contains(errors, e => e.StartsWith("defaults.maxInflatedBytes: 0 is outside", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("defaults.maxItems: 0 is outside", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[0] (POST /a).split: 'lines' must be one of none, ndjson, array", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[0] (POST /a).validate: 'yes' must be one of none, json", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[1] (POST /b).maxItems: applies to split routes only", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[2] (POST /c).maxInflatedBytes:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[2] (POST /c).schema: '/nope/schema.json' does not exist", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[3] (POST /d).schema: #/anyOf: keyword 'anyOf' is not supported", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("not supported by this build yet (splitting)", StringComparison.Ordinal));
    }

    [Fact]
    public void Split_routes_with_valid_settings_pass()
    {
        var config = ConfigLoader.Load("""
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /a, target: sink, auth: none, public: true, split: ndjson, maxItems: 500, validate: json }
              - { route: POST /b, target: sink, auth: none, public: true, split: array, schema: '{"type":"object"}', maxInflatedBytes: 1048576 }
            """);

        Assert.Empty(ConfigValidator.Validate(config, new Dictionary<string, ITargetKind>()));
    }
}
