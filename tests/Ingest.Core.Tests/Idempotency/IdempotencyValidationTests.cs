using Ingest.Core.Configuration;
using Ingest.Core.Idempotency;

namespace Ingest.Core.Tests.Idempotency;

public class IdempotencyValidationTests
{
    [Fact]
    public void Documented_example_is_valid_and_defaults_apply()
    {
        var config = ConfigLoader.Load("""
            routes:
              - { route: POST /v1/clicks, target: sink, auth: none, public: true, idempotency: { header: Idempotency-Key, window: 10m } }
              - { route: POST /v1/other, target: sink, auth: none, public: true, idempotency: {} }
            """);
        var errors = new List<string>();

        IdempotencyValidation.Validate(config, errors);

        Assert.Empty(errors);
        var defaults = config.Routes[1].Idempotency!;
        Assert.Equal(("Idempotency-Key", TimeSpan.FromMinutes(10), 100_000), (defaults.Header, defaults.Window, defaults.MaxKeys));
    }

    [Fact]
    public void Every_bad_setting_is_reported_with_the_route_and_the_fix()
    {
        var config = ConfigLoader.Load("""
            routes:
              - { route: POST /v1/a, target: sink, auth: none, public: true, idempotency: { header: "bad header", window: 0s, maxKeys: 0 } }
              - { route: POST /v1/b, target: sink, auth: none, public: true, idempotency: { window: 2d } }
            """);
        var errors = new List<string>();

        IdempotencyValidation.Validate(config, errors);

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("routes[0] (POST /v1/a).idempotency.header:", StringComparison.Ordinal) && e.Contains("Idempotency-Key", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[0] (POST /v1/a).idempotency.window:", StringComparison.Ordinal) && e.Contains("10m", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[0] (POST /v1/a).idempotency.maxKeys:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("routes[1] (POST /v1/b).idempotency.window:", StringComparison.Ordinal));
    }
}
