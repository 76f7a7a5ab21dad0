using BenchmarkDotNet.Attributes;
using Ingest.Core.Pipeline;

namespace Ingest.Benchmarks.Pipeline;

/// <summary><see cref="BufferBudget"/> reserve + release for a 512-byte event (uncontended).</summary>
[MemoryDiagnoser]
public class BufferBudgetBenchmarks
{
    private readonly BufferBudget _budget = new(128L * 1024 * 1024);
    private readonly BufferBudget _full = new(256);
    private long _counter;

    /// <summary>Two interlocked adds: the floor for a reserve + release pair.</summary>
    [Benchmark(Baseline = true, Description = "2x Interlocked.Add")]
    public long InterlockedPair()
    {
        Interlocked.Add(ref _counter, 512);
        return Interlocked.Add(ref _counter, -512);
    }

    [Benchmark(Description = "TryReserve + Release")]
    public bool ReserveRelease()
    {
        var ok = _budget.TryReserve(512);
        _budget.Release(512);
        return ok;
    }

    [Benchmark(Description = "TryReserve refused (full)")]
    public bool ReserveRefused() => _full.TryReserve(512);
}
