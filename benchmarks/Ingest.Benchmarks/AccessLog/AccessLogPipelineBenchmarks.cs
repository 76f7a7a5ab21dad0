using System.Buffers;
using System.Net;
using System.Threading.Channels;
using BenchmarkDotNet.Attributes;
using Ingest.Gateway.AccessLog;

namespace Ingest.Benchmarks.AccessLog;

/// <summary>
/// The access log's whole cost per request, without the system call: the request thread's
/// <c>TryWrite</c> into the bounded channel, the writer thread's <c>TryRead</c> and formatting into
/// the batch buffer (as <c>AccessLogWriter</c> does, in batches of 200 lines, about 64 KiB).
/// </summary>
[MemoryDiagnoser]
public class AccessLogPipelineBenchmarks
{
    private const int Batch = 200;
    private readonly Channel<AccessLogEntry> _channel = Channel.CreateBounded<AccessLogEntry>(
        new BoundedChannelOptions(65536) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ArrayBufferWriter<byte> _buffer = new(128 * 1024);
    private readonly AccessLogFormatter _formatter = new();
    private readonly AccessLogEntry _entry = new()
    {
        RequestId = Guid.CreateVersion7(),
        RequestTimeMs = 1_795_644_064_395,
        HttpMethod = "POST",
        Path = "/v1/events",
        RouteKey = "POST /v1/events",
        Status = 202,
        ResponseLength = 65,
        LatencyMs = 0.759,
        SourceIp = IPAddress.Parse("10.1.2.3"),
        UserAgent = "wrk/4.1.0",
        Events = 1,
    };

    /// <summary>The channel alone: what every request pays on its own thread, plus the writer's read.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Batch, Description = "channel TryWrite + TryRead")]
    public int ChannelOnly()
    {
        for (var i = 0; i < Batch; i++)
        {
            _channel.Writer.TryWrite(_entry);
        }
        var read = 0;
        while (_channel.Reader.TryRead(out _))
        {
            read++;
        }
        return read;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "TryWrite + TryRead + AccessLogFormatter.Write")]
    public int ChannelAndFormat()
    {
        for (var i = 0; i < Batch; i++)
        {
            _channel.Writer.TryWrite(_entry);
        }
        while (_channel.Reader.TryRead(out var entry))
        {
            _formatter.Write(entry, _buffer);
        }
        var length = _buffer.WrittenCount;
        _buffer.ResetWrittenCount();
        return length;
    }
}
