using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Ingest.Gateway.Requests;

namespace Ingest.Benchmarks.Requests;

/// <summary><c>TraceContext.Next</c>: the <c>traceparent</c> of every response (one 55-char string).</summary>
[MemoryDiagnoser]
public class TraceContextBenchmarks
{
    private const string Incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    /// <summary>The previous <c>Next(null)</c>: 24 bytes from <see cref="RandomNumberGenerator"/>, hex into a stack buffer, then a string.</summary>
    [Benchmark(Baseline = true, Description = "before: RandomNumberGenerator.Fill + new string")]
    public string Before()
    {
        Span<byte> random = stackalloc byte[24];
        RandomNumberGenerator.Fill(random);
        Span<char> text = stackalloc char[55];
        "00-".CopyTo(text);
        Convert.TryToHexStringLower(random[..16], text[3..35], out _);
        text[35] = '-';
        Convert.TryToHexStringLower(random[16..], text[36..52], out _);
        "-01".CopyTo(text[52..]);
        return new string(text);
    }

    [Benchmark(Description = "Next(null): new trace")]
    public string NewTrace() => TraceContext.Next(null);

    [Benchmark(Description = "Next(valid): continue trace")]
    public string ContinueTrace() => TraceContext.Next(Incoming);

    [Benchmark(Description = "IsValid")]
    public bool IsValid() => TraceContext.IsValid(Incoming);
}
