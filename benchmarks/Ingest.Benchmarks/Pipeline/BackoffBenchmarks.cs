using BenchmarkDotNet.Attributes;
using Ingest.Core.Pipeline;

namespace Ingest.Benchmarks.Pipeline;

/// <summary><see cref="Backoff.Delay"/> (retry path, not per request).</summary>
[MemoryDiagnoser]
public class BackoffBenchmarks
{
    private static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(20);
    private readonly Random _random = new(42);

    [Params(1, 8)]
    public int Attempt { get; set; }

    /// <summary>The jitter draw alone.</summary>
    [Benchmark(Baseline = true, Description = "Random.NextDouble")]
    public double NextDouble() => _random.NextDouble();

    [Benchmark(Description = "Backoff.Delay")]
    public TimeSpan Delay() => Backoff.Delay(Attempt, BaseDelay, MaxDelay, _random);
}
