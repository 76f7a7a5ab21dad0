using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Ingest.Gateway.Requests;

namespace Ingest.Benchmarks.Requests;

/// <summary><c>TraceContext.Next</c>: the <c>traceparent</c> of every response (one 55-char string).</summary>
[MemoryDiagnoser]
public class TraceContextBenchmarks
{
    private const string Incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>The 24 cryptographically random bytes Next draws: its floor.</summary>
    [Benchmark(Baseline = true, Description = "RandomNumberGenerator.Fill(24 B)")]
    public byte RandomFill()
    {
        Span<byte> random = stackalloc byte[24];
        RandomNumberGenerator.Fill(random);
        return random[0];
    }

    [Benchmark(Description = "Next(null): new trace")]
    public string NewTrace() => TraceContext.Next(null);

    [Benchmark(Description = "Next(valid): continue trace")]
    public string ContinueTrace() => TraceContext.Next(Incoming);

    [Benchmark(Description = "IsValid")]
    public bool IsValid() => TraceContext.IsValid(Incoming);
}
