using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.Resilience;

namespace Ingest.Core.Tests.Pipeline.Resilience;

public class CircuitBreakerConfigTests
{
    [Fact]
    public void Circuit_breaker_and_drain_timeout_are_read_from_yaml_and_defaults_fill_the_rest()
    {
        var config = ConfigLoader.Load("""
            drainTimeout: 40s
            targets:
              a: { type: blackhole }
              q: { type: test, circuitBreaker: { failureRatio: 0.25, breakDuration: 30s } }
              off: { type: test, circuitBreaker: { enabled: false } }
              plain: { type: test }
            """);

        Assert.Equal(TimeSpan.FromSeconds(40), config.DrainTimeout);
        Assert.Equal(new CircuitSettings(0.25, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30)), CircuitSettings.From(config.Targets["q"].CircuitBreaker));
        Assert.Null(CircuitSettings.From(config.Targets["off"].CircuitBreaker));
        Assert.Equal(new CircuitSettings(0.5, 10, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5)), CircuitSettings.From(config.Targets["plain"].CircuitBreaker));
        Assert.Equal(TimeSpan.FromSeconds(25), new IngestConfig().DrainTimeout);
    }

    [Fact]
    public void Every_bad_value_is_reported_at_once_naming_the_target_and_the_fix()
    {
        var config = ConfigLoader.Load("""
            drainTimeout: 0s
            targets:
              sink: { type: blackhole, circuitBreaker: {} }
              q: { type: test, circuitBreaker: { failureRatio: 1.5, minimumThroughput: 1, samplingDuration: 100ms, breakDuration: 2d } }
            """);
        var errors = new List<string>();

        CircuitBreakerValidation.Validate(config, errors);

        Assert.Equal(
        [
            "drainTimeout: must be above zero and at most 1h, e.g. 25s (inside the SIGTERM grace period of your process manager).",
            "targets.sink.circuitBreaker: a blackhole target never fails. Remove the key.",
            "targets.q.circuitBreaker.failureRatio: 1.5 is outside (0, 1]. Use e.g. 0.5 (half the sends in the window failed).",
            "targets.q.circuitBreaker.minimumThroughput: 1 is below 2. Use e.g. 10 sends.",
            "targets.q.circuitBreaker.samplingDuration: must be at least 500ms, e.g. 10s.",
            "targets.q.circuitBreaker.breakDuration: must be between 500ms and 1d, e.g. 5s.",
        ], errors);
    }

    [Fact]
    public void Target_settings_carry_the_circuit_breaker()
    {
        var options = new TargetOptions { Type = "test", CircuitBreaker = new CircuitBreakerOptions { MinimumThroughput = 4 } };

        var settings = TargetFactory.Settings(new LimitsOnlyKind(), options);

        Assert.Equal(4, settings.Circuit!.MinimumThroughput);
        Assert.Null(TargetFactory.Settings(new LimitsOnlyKind(), new TargetOptions { Type = "test", CircuitBreaker = new CircuitBreakerOptions { Enabled = false } }).Circuit);
    }

    private sealed class LimitsOnlyKind : ITargetKind
    {
        public string Type => "test";

        public BatchLimits ServiceLimits(TargetOptions options) => new(10, 1_000_000, 100_000);

        public void Validate(string name, TargetOptions options, ICollection<string> errors)
        {
        }

        public IEnumerable<string> RequiredHeaders(TargetOptions options) => [];

        public Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
