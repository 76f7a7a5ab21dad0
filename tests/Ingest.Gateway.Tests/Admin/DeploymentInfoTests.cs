using Ingest.Core.Configuration;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>The configuration hash of <c>GET /admin/deployment</c>.</summary>
public class DeploymentInfoTests
{
    private const string Yaml = """
        # comment
        admin: { listen: "127.0.0.1:9090", token: "t" }
        defaults: { maxBodyBytes: 1000, timeout: 10s }
        targets:
          queue: { type: sqs, queue: events, batch: { maxRecords: 10, linger: 20ms }, retry: { maxAttempts: 3 }, deadLetter: { type: file, path: ./spill } }
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true, headers: [x-device], cors: { origins: ["https://a"], maxAge: 60 } }
          - { route: "ANY /orders/{proxy+}", target: queue, auth: none, public: true, split: ndjson }
        """;

    [Fact]
    public void Formatting_comments_and_key_order_do_not_change_the_hash_but_a_value_does()
    {
        var reordered = """
            routes:
              - route: POST /v1/events
                public: true
                auth: none
                target: sink
                cors:
                  maxAge: 60
                  origins: ["https://a"]
                headers: [x-device]
              - { route: "ANY /orders/{proxy+}", split: ndjson, target: queue, auth: none, public: true }
            targets:
              sink: { type: blackhole }
              queue:
                deadLetter: { path: ./spill, type: file }
                retry: { maxAttempts: 3 }
                batch: { linger: 20ms, maxRecords: 10 }
                queue: events
                type: sqs
            defaults: { timeout: 10s, maxBodyBytes: 1000 }
            admin: { token: "t", listen: "127.0.0.1:9090" }
            """;

        var hash = DeploymentInfo.Sha256(ConfigLoader.Load(Yaml));

        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, DeploymentInfo.Sha256(ConfigLoader.Load(reordered)));
        Assert.NotEqual(hash, DeploymentInfo.Sha256(ConfigLoader.Load(Yaml.Replace("maxBodyBytes: 1000", "maxBodyBytes: 1001", StringComparison.Ordinal))));
        Assert.NotEqual(hash, DeploymentInfo.Sha256(ConfigLoader.Load(Yaml.Replace("token: \"t\"", "token: \"u\"", StringComparison.Ordinal))));
        Assert.Contains("\"maxBodyBytes\":1000", DeploymentInfo.CanonicalText(ConfigLoader.Load(Yaml)), StringComparison.Ordinal);
    }
}
