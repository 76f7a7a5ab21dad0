using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Ingest.Core.Pipeline.Resilience;

/// <summary>
/// The Polly pipeline one target's batches go through: retry (exponential backoff with jitter,
/// on the target's clock) around a circuit breaker around the send. The retry is not bounded by
/// Polly: each event counts its own attempts and <c>settle</c> dead-letters the exhausted ones,
/// so only the failed entries of a batch are sent again.
/// </summary>
internal sealed partial class DeliveryPipeline
{
    private readonly CircuitBreakerStateProvider? _circuit;
    private readonly string _target;
    private readonly ILogger _logger;

    /// <param name="target">Target name, for logs.</param>
    /// <param name="settings">Retry and circuit settings.</param>
    /// <param name="timeProvider">Clock of backoff delays and of the breaker's window and break.</param>
    /// <param name="settle">
    /// Called once after each attempt that left entries to send again, with the circuit already
    /// updated; returns true to retry after the backoff delay.
    /// </param>
    /// <param name="logger">Circuit transitions are logged here.</param>
    /// <param name="randomizer">Jitter source in [0, 1); tests make it fixed. Default: Polly's.</param>
    public DeliveryPipeline(
        string target,
        BatchingSettings settings,
        TimeProvider timeProvider,
        Func<BatchDelivery, bool> settle,
        ILogger logger,
        Func<double>? randomizer = null)
    {
        _target = target;
        _logger = logger;
        var builder = new ResiliencePipelineBuilder<BatchDelivery> { TimeProvider = timeProvider };
        var retry = new RetryStrategyOptions<BatchDelivery>
        {
            // Attempts are counted per event (settle); Polly only spaces them out.
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = settings.BaseDelay,
            MaxDelay = settings.MaxDelay,
            ShouldHandle = args => new ValueTask<bool>(args.Outcome.Result is { Pending.Count: > 0 } delivery && settle(delivery)),
        };
        if (randomizer is not null)
        {
            retry.Randomizer = randomizer;
        }
        builder.AddRetry(retry);
        if (settings.Circuit is { } circuit)
        {
            _circuit = new CircuitBreakerStateProvider();
            builder.AddCircuitBreaker(new CircuitBreakerStrategyOptions<BatchDelivery>
            {
                FailureRatio = circuit.FailureRatio,
                MinimumThroughput = circuit.MinimumThroughput,
                SamplingDuration = circuit.SamplingDuration,
                BreakDuration = circuit.BreakDuration,
                StateProvider = _circuit,
                ShouldHandle = args => new ValueTask<bool>(
                    args.Outcome.Result?.BackendFailed == true || args.Outcome.Exception is { } e && e is not OperationCanceledException),
                OnOpened = args =>
                {
                    LogOpened(_logger, _target, args.BreakDuration.TotalSeconds);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    LogHalfOpened(_logger, _target);
                    return default;
                },
                OnClosed = _ =>
                {
                    LogClosed(_logger, _target);
                    return default;
                },
            });
        }
        Pipeline = builder.Build();
    }

    public ResiliencePipeline<BatchDelivery> Pipeline { get; }

    /// <summary>Closed when the breaker is turned off.</summary>
    public BreakerState State => _circuit?.CircuitState switch
    {
        CircuitState.Open or CircuitState.Isolated => BreakerState.Open,
        CircuitState.HalfOpen => BreakerState.HalfOpen,
        _ => BreakerState.Closed,
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Target {Target}: circuit opened, the backend keeps failing; no batches are sent for {BreakSeconds} s, queued events wait")]
    private static partial void LogOpened(ILogger logger, string target, double breakSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: circuit half-open, sending one probe batch")]
    private static partial void LogHalfOpened(ILogger logger, string target);

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: circuit closed, the backend answers again; sending resumes")]
    private static partial void LogClosed(ILogger logger, string target);
}
