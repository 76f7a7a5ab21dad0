using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Http;

namespace Ingest.Targets.Tests.Http;

public class HttpTargetValidationTests
{
    private static readonly Dictionary<string, ITargetKind> NoAsyncKinds = [];
    private static readonly Dictionary<string, ISyncTargetKind> SyncKinds = new() { ["http"] = new HttpTargetKind() };

    private static List<string> Validate(string yaml) => ConfigValidator.Validate(ConfigLoader.Load(yaml), NoAsyncKinds, SyncKinds);

    [Fact]
    public void A_good_http_target_passes()
    {
        Assert.Empty(Validate("""
            binaryMediaTypes: ["image/*", application/octet-stream]
            targets:
              api:
                type: http
                destinations: ["http://a:8080/items/{id}", "http://b:8080/items/{id}"]
                loadBalancing: leastRequests
                healthCheck: { path: /health, interval: 5s, timeout: 2s }
                requestHeaders: { set: { X-Version: "2" }, remove: [Cookie] }
            routes:
              - { route: "GET /v1/items/{id}", target: api, auth: [none], public: true }
            """));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_the_target_or_route()
    {
        var errors = Validate("""
            defaults: { ack: memory }
            binaryMediaTypes: [png]
            targets:
              both: { type: http, url: "http://a/x", destinations: ["http://b/"] }
              none: { type: http }
              bad:
                type: http
                url: "ftp://a/x"
                loadBalancing: fastest
                healthCheck: { path: health, interval: 1s, timeout: 2s }
                requestHeaders: { set: { "Bad Header": "x" }, remove: ["a:b"] }
                batch: { maxRecords: 10 }
                deadLetter: { type: file, path: ./x }
              items: { type: http, url: "http://a/items/{itemId}" }
            routes:
              - { route: "GET /v1/items/{id}", target: items, auth: [none], public: true }
              - { route: "POST /v1/items", target: items, auth: [none], public: true, ack: durable, split: ndjson }
            """);

        string[] expected =
        [
            "binaryMediaTypes[0]: 'png' is not a media type",
            "targets.both: set url or destinations, not both",
            "targets.none: set url",
            "targets.bad.url: 'ftp://a/x' is not an absolute http",
            "targets.bad.loadBalancing: 'fastest' must be one of",
            "targets.bad.healthCheck.timeout: must be above zero and at most the interval",
            "targets.bad.healthCheck.path: 'health' must be a path",
            "targets.bad.requestHeaders.set: 'Bad Header' is not a header name",
            "targets.bad.requestHeaders.remove: 'a:b' is not a header name",
            "targets.bad.batch: applies to queue and stream targets",
            "targets.bad.deadLetter: applies to queue and stream targets",
            "routes[0] (GET /v1/items/{id}): target 'items' url http://a/items/{itemId} uses {itemId}",
            "routes[1] (POST /v1/items).ack: 'durable' applies to queue and stream targets",
            "routes[1] (POST /v1/items).split: 'ndjson' applies to queue and stream targets",
        ];
        foreach (var message in expected)
        {
            Assert.Contains(errors, e => e.StartsWith(message, StringComparison.Ordinal));
        }
        Assert.Equal(expected.Length + 1, errors.Count); // routes[1] also uses {itemId} without having it.
    }

    [Fact]
    public void An_unknown_type_lists_the_sync_kinds_too()
    {
        var errors = Validate("""
            targets:
              x: { type: htp, url: "http://a/" }
            routes:
              - { route: "GET /v1/x", target: x, auth: [none], public: true }
            """);

        Assert.Contains("targets.x.type: 'htp' is not a target kind this build has. Use one of: blackhole, http.", errors);
    }
}
