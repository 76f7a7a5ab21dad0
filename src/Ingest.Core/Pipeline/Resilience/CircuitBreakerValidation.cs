using Ingest.Core.Configuration;

namespace Ingest.Core.Pipeline.Resilience;

/// <summary>Checks <c>targets.NAME.circuitBreaker</c> and <c>drainTimeout</c>, one message per problem with the fix.</summary>
public static class CircuitBreakerValidation
{
    public static void Validate(IngestConfig config, List<string> errors)
    {
        if (config.DrainTimeout <= TimeSpan.Zero || config.DrainTimeout > TimeSpan.FromHours(1))
        {
            errors.Add("drainTimeout: must be above zero and at most 1h, e.g. 25s (inside the SIGTERM grace period of your process manager).");
        }
        foreach (var (name, target) in config.Targets)
        {
            if (target.CircuitBreaker is not { } breaker)
            {
                continue;
            }
            var where = $"targets.{name}.circuitBreaker";
            if (target.Type is "blackhole")
            {
                errors.Add($"{where}: a blackhole target never fails. Remove the key.");
                continue;
            }
            if (!(breaker.FailureRatio > 0 && breaker.FailureRatio <= 1))
            {
                errors.Add($"{where}.failureRatio: {breaker.FailureRatio} is outside (0, 1]. Use e.g. 0.5 (half the sends in the window failed).");
            }
            if (breaker.MinimumThroughput < 2)
            {
                errors.Add($"{where}.minimumThroughput: {breaker.MinimumThroughput} is below 2. Use e.g. 10 sends.");
            }
            if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500))
            {
                errors.Add($"{where}.samplingDuration: must be at least 500ms, e.g. 10s.");
            }
            if (breaker.BreakDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration > TimeSpan.FromDays(1))
            {
                errors.Add($"{where}.breakDuration: must be between 500ms and 1d, e.g. 5s.");
            }
        }
    }
}
