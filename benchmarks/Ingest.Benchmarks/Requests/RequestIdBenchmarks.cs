using BenchmarkDotNet.Attributes;
using Ingest.Gateway.Requests;

namespace Ingest.Benchmarks.Requests;

/// <summary>The request id of every request (UUIDv7) and its <c>x-request-id</c> header text.</summary>
[MemoryDiagnoser]
public class RequestIdBenchmarks
{
    private readonly TimeProvider _time = TimeProvider.System;

    /// <summary>What the handler did before: one read of /dev/urandom per id.</summary>
    [Benchmark(Baseline = true, Description = "before: Guid.CreateVersion7")]
    public Guid CreateVersion7() => Guid.CreateVersion7(_time.GetUtcNow());

    [Benchmark(Description = "RequestId.NewVersion7")]
    public Guid NewVersion7() => RequestId.NewVersion7(_time.GetUtcNow());

    [Benchmark(Description = "RequestId.NewVersion7 + ToString (x-request-id)")]
    public string NewVersion7Header() => RequestId.NewVersion7(_time.GetUtcNow()).ToString();
}
