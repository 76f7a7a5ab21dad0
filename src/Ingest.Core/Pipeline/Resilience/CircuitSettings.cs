using Ingest.Core.Configuration;

namespace Ingest.Core.Pipeline.Resilience;

/// <summary>Circuit breaker settings of one target, with defaults already applied.</summary>
/// <param name="FailureRatio">Share of failed sends in the window that opens the circuit.</param>
/// <param name="MinimumThroughput">Fewest sends in the window before the ratio counts.</param>
/// <param name="SamplingDuration">Window of the failure ratio.</param>
/// <param name="BreakDuration">Time open before a probe.</param>
public sealed record CircuitSettings(double FailureRatio, int MinimumThroughput, TimeSpan SamplingDuration, TimeSpan BreakDuration)
{
    /// <summary>The settings of <c>circuitBreaker:</c>, or null when it is turned off.</summary>
    public static CircuitSettings? From(CircuitBreakerOptions? options)
    {
        options ??= new CircuitBreakerOptions();
        return options.Enabled
            ? new CircuitSettings(options.FailureRatio, options.MinimumThroughput, options.SamplingDuration, options.BreakDuration)
            : null;
    }
}

/// <summary>State of a target's circuit breaker, as exported by <c>ingest_circuit_state</c>.</summary>
public enum BreakerState
{
    /// <summary>Batches are sent (also when the breaker is turned off).</summary>
    Closed = 0,

    /// <summary>One probe batch is being sent; its outcome closes or reopens the circuit.</summary>
    HalfOpen = 1,

    /// <summary>The backend kept failing: no batch is sent until the break is over.</summary>
    Open = 2,
}
