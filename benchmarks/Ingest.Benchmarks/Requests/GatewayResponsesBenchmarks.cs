using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Requests;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Benchmarks.Requests;

/// <summary>
/// <c>GatewayResponses.WriteAccepted</c> / <c>Write(Rejection)</c> into a reused <see cref="DefaultHttpContext"/>
/// whose response body is a <see cref="Pipe"/>. Indicative only: Kestrel's own header collection and
/// output pipe differ from DefaultHttpContext's, but the code under test is the same.
/// </summary>
[MemoryDiagnoser]
public class GatewayResponsesBenchmarks
{
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0, useSynchronizationContext: false));
    private readonly Guid _requestId = Guid.CreateVersion7();
    private DefaultHttpContext _context = null!;

    [GlobalSetup]
    public void Setup()
    {
        _context = new DefaultHttpContext();
        _context.Features.Set<IHttpResponseBodyFeature>(new PipeBodyFeature(_pipe.Writer));
        // First write creates the header entries; later writes overwrite them in place, as on a kept-alive connection.
        GatewayResponses.WriteAccepted(_context, _requestId, 1);
        Drain();
    }

    [Benchmark(Baseline = true, Description = "Write(Rejection.NotFound) (fixed body)")]
    public int WriteRejection()
    {
        var n = GatewayResponses.Write(_context, Rejection.NotFound);
        Drain();
        return n;
    }

    [Benchmark(Description = "WriteAccepted 202")]
    public int WriteAccepted()
    {
        var n = GatewayResponses.WriteAccepted(_context, _requestId, 1);
        Drain();
        return n;
    }

    private void Drain()
    {
        // pauseWriterThreshold 0: the flush never waits, so it completes synchronously.
        var flush = _pipe.Writer.FlushAsync();
        if (!flush.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("flush did not complete synchronously");
        }
        if (_pipe.Reader.TryRead(out var result))
        {
            _pipe.Reader.AdvanceTo(result.Buffer.End);
        }
    }

    private sealed class PipeBodyFeature(PipeWriter writer) : IHttpResponseBodyFeature
    {
        public Stream Stream { get; } = writer.AsStream();

        public PipeWriter Writer { get; } = writer;

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task CompleteAsync() => Task.CompletedTask;
    }
}
