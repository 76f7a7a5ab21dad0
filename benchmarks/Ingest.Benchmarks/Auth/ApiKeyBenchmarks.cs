using BenchmarkDotNet.Attributes;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;

namespace Ingest.Benchmarks.Auth;

/// <summary>
/// <see cref="ApiKeyStore.TryFind"/> with 1000 configured keys: the presented key is hashed with
/// SHA-256 on the stack and looked up by hash. Expected: 0 B allocated; the cost is the SHA-256 of
/// a 43-character key.
/// </summary>
[MemoryDiagnoser]
public class ApiKeyBenchmarks
{
    private ApiKeyStore _store = null!;
    private string _known = null!;
    private string _unknown = null!;

    [GlobalSetup]
    public void Setup()
    {
        var keys = Enumerable.Range(0, 1000).Select(i => $"key-{i:D4}-{new string('x', 34)}").ToArray();
        _store = ApiKeyStore.Create(keys.Select((k, i) => new ApiKeyOptions { Id = $"fleet-{i}", Sha256 = ApiKeyStore.HashHex(k) }));
        _known = keys[500];
        _unknown = $"key-9999-{new string('y', 34)}";
    }

    [Benchmark(Baseline = true, Description = "known key")]
    public bool Known() => _store.TryFind(_known, out _);

    [Benchmark(Description = "unknown key")]
    public bool Unknown() => _store.TryFind(_unknown, out _);
}
