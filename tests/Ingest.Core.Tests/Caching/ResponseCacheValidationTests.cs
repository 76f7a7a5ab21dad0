using Ingest.Core.Caching;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;

namespace Ingest.Core.Tests.Caching;

public sealed class ResponseCacheValidationTests
{
    private static readonly IReadOnlyDictionary<string, ISyncTargetKind> SyncKinds = new Dictionary<string, ISyncTargetKind> { ["s3"] = new SyncKind() };

    private static List<string> Errors(string yaml)
    {
        var errors = new List<string>();
        ResponseCacheValidation.Validate(ConfigLoader.Load(yaml), SyncKinds, errors);
        return errors;
    }

    private const string Targets = """
        targets:
          files: { type: s3, bucket: files }
          queue: { type: sqs, queue: events }

        """;

    [Fact]
    public void A_valid_configuration_has_no_errors()
    {
        Assert.Empty(Errors(Targets + """
            cache: { maxBytes: 1048576, ttl: 60s }
            routes:
              - route: GET /v1/files/{proxy+}
                target: files
                cache: { ttl: 3600s, keys: ["path:proxy", "query:version", "header:X-Tenant"], allowBypass: true }
              - route: ANY /v1/any/{proxy+}
                target: files
                cache: {}
            """));
        Assert.Empty(Errors(Targets + """
            stages:
              - { name: prod, cache: { ttl: 1s } }
              - { name: dev, cache: { maxBytes: 1024 } }
            routes:
              - { route: "GET /v1/files/{proxy+}", target: files, cache: { ttl: 300s } }
            """));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_the_route_and_the_fix()
    {
        var errors = Errors(Targets + """
            cache: { maxBytes: 0, ttl: 0s }
            routes:
              - route: GET /v1/files/{proxy+}
                target: files
                cache: { ttl: 3601s, keys: ["path:id", "cookie:session", "lang"] }
              - route: POST /v1/files/{proxy+}
                target: files
                cache: {}
              - route: GET /v1/events
                target: queue
                cache: {}
            """);

        Assert.Contains("cache.maxBytes: must be above zero, e.g. 67108864 (64 MiB).", errors);
        Assert.Contains("cache.ttl: 0s is outside 1s..3600s, e.g. 300s.", errors);
        Assert.Contains("routes[0] (GET /v1/files/{proxy+}).cache.ttl: 3601s is outside 1s..3600s, e.g. 300s.", errors);
        Assert.Contains("routes[0] (GET /v1/files/{proxy+}).cache.keys[0]: the route has no path parameter {id}. Use one of: proxy.", errors);
        Assert.Contains("routes[0] (GET /v1/files/{proxy+}).cache.keys[1]: 'cookie:session' is not path:NAME, query:NAME or header:NAME.", errors);
        Assert.Contains("routes[0] (GET /v1/files/{proxy+}).cache.keys[2]: 'lang' is not path:NAME, query:NAME or header:NAME.", errors);
        Assert.Contains(errors, e => e.StartsWith("routes[1] (POST /v1/files/{proxy+}).cache: only GET and HEAD answers are cached", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[2] (GET /v1/events).cache: target 'queue' (sqs) answers 202 itself", StringComparison.Ordinal));
        Assert.Equal(8, errors.Count);
    }

    [Fact]
    public void A_cached_route_in_a_stage_without_a_cache_names_both()
    {
        var errors = Errors(Targets + """
            stages:
              - { name: prod, cache: { ttl: 60s } }
              - { name: dev }
            routes:
              - { route: "GET /v1/files/{proxy+}", target: files, cache: {} }
            """);

        var error = Assert.Single(errors);
        Assert.Equal("routes[0] (GET /v1/files/{proxy+}).cache: stage 'dev' has no cache. Add stages[1].cache { maxBytes: 67108864, ttl: 300s }, or remove cache: from this route.", error);
    }

    [Fact]
    public void A_cached_route_without_stages_needs_the_top_level_cache()
    {
        var error = Assert.Single(Errors(Targets + """
            routes:
              - { route: "GET /v1/files/{proxy+}", target: files, cache: {} }
            """));

        Assert.StartsWith("routes[0] (GET /v1/files/{proxy+}).cache: there is no response cache. Add cache:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_top_level_cache_with_stages_is_refused_and_stage_caches_are_checked()
    {
        var errors = Errors(Targets + """
            cache: { ttl: 60s }
            stages:
              - { name: prod, cache: { maxBytes: -1, ttl: 2h } }
            routes: []
            """);

        Assert.Contains(errors, e => e.StartsWith("cache: the gateway-wide cache serves a configuration without stages", StringComparison.Ordinal));
        Assert.Contains("stages[0] (prod).cache.maxBytes: must be above zero, e.g. 67108864 (64 MiB).", errors);
        Assert.Contains("stages[0] (prod).cache.ttl: 7200s is outside 1s..3600s, e.g. 300s.", errors);
        Assert.Equal(3, errors.Count);
    }

    [Fact]
    public void A_disabled_route_cache_needs_no_stage_cache()
    {
        Assert.Empty(Errors(Targets + """
            routes:
              - { route: "POST /v1/files/{proxy+}", target: files, cache: { enabled: false } }
            """));
    }

    [Fact]
    public void The_configuration_validator_reports_cache_problems()
    {
        var config = ConfigLoader.Load("""
            targets:
              files: { type: s3, bucket: files }
            routes:
              - { route: "GET /v1/files/{proxy+}", target: files, auth: [none], public: true, cache: { ttl: 2h } }
            """);

        var errors = ConfigValidator.Validate(config, new Dictionary<string, Ingest.Core.Pipeline.ITargetKind>(), SyncKinds);

        Assert.Contains("routes[0] (GET /v1/files/{proxy+}).cache.ttl: 7200s is outside 1s..3600s, e.g. 300s.", errors);
        Assert.Contains(errors, e => e.StartsWith("routes[0] (GET /v1/files/{proxy+}).cache: there is no response cache.", StringComparison.Ordinal));
    }

    private sealed class SyncKind : ISyncTargetKind
    {
        public string Type => "s3";

        public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
        {
        }

        public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context) => throw new NotSupportedException();
    }
}
