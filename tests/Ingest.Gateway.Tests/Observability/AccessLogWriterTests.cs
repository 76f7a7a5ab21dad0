using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Observability;

/// <summary><see cref="AccessLogWriter"/>'s batching and its handling of a failing sink.</summary>
public sealed class AccessLogWriterTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly IngestMetrics _metrics;
    private readonly MeterListener _listener = new();
    private long _dropped;

    public AccessLogWriterTests()
    {
        _metrics = new IngestMetrics(_services.GetRequiredService<IMeterFactory>());
        _listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, _metrics.AccessLogDropped))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref _dropped, value));
        _listener.Start();
    }

    [Fact]
    public async Task Many_lines_arrive_complete_and_in_order_in_few_large_writes()
    {
        const int Lines = 20_000;
        var sink = new RecordingStream();
        var writer = new AccessLogWriter(Config(bufferLines: Lines), _metrics) { OpenSink = () => sink };
        await writer.StartAsync(CancellationToken.None);

        for (var i = 0; i < Lines; i++)
        {
            writer.Write(Entry(i));
        }
        await writer.StopAsync(CancellationToken.None);

        var lines = Encoding.UTF8.GetString(sink.Bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Lines, lines.Length);
        Assert.Equal(Enumerable.Range(0, Lines), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("events").GetInt32()));
        Assert.Equal(0, Interlocked.Read(ref _dropped));
        // About 64 KiB per write (~300 B lines): one system call per ~200 lines, not one per line.
        Assert.InRange(sink.Writes, 1, Lines / 100);
    }

    [Fact]
    public async Task A_failed_write_drops_and_counts_its_lines_then_the_sink_is_reopened()
    {
        var failing = new RecordingStream { FailWrites = true };
        var healthy = new RecordingStream();
        var opened = 0;
        var writer = new AccessLogWriter(Config(bufferLines: 100), _metrics)
        {
            OpenSink = () => Interlocked.Increment(ref opened) == 1 ? failing : healthy,
        };
        // Queued before the writer starts, so both are in its first batch.
        writer.Write(Entry(1));
        writer.Write(Entry(2));

        await writer.StartAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Interlocked.Read(ref _dropped) == 2, TimeSpan.FromSeconds(5));
        writer.Write(Entry(3));
        await writer.StopAsync(CancellationToken.None);

        Assert.Equal(2, opened);
        Assert.Equal(2, Interlocked.Read(ref _dropped));
        var written = Encoding.UTF8.GetString(healthy.Bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, JsonDocument.Parse(Assert.Single(written)).RootElement.GetProperty("events").GetInt32());
    }

    public void Dispose()
    {
        _listener.Dispose();
        _metrics.Dispose();
        _services.Dispose();
    }

    private static IngestConfig Config(int bufferLines) =>
        new() { AccessLog = new AccessLogOptions { Path = "test-sink", BufferLines = bufferLines } };

    private static AccessLogEntry Entry(int n) => new()
    {
        RequestId = Guid.Parse("01a214d8-d621-7320-a4d5-6ac48cf266b4"),
        RequestTimeMs = 1_795_646_179_803 + n,
        HttpMethod = "POST",
        Path = "/v1/events",
        RouteKey = "POST /v1/events",
        Status = 202,
        ResponseLength = 65,
        LatencyMs = 0.5,
        SourceIp = System.Net.IPAddress.Loopback,
        UserAgent = "probe/1.0",
        Events = n,
    };

    /// <summary>A sink that keeps what it is given and counts the writes; or fails every write.</summary>
    private sealed class RecordingStream : Stream
    {
        private readonly MemoryStream _bytes = new();
        private int _writes;

        public bool FailWrites { get; init; }

        public int Writes => Volatile.Read(ref _writes);

        public byte[] Bytes
        {
            get
            {
                lock (_bytes)
                {
                    return _bytes.ToArray();
                }
            }
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (FailWrites)
            {
                throw new IOException("No space left on device");
            }
            Interlocked.Increment(ref _writes);
            lock (_bytes)
            {
                _bytes.Write(buffer);
            }
        }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
