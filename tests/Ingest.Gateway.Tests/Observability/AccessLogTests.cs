using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Observability;

/// <summary>The access log: DESIGN.md's fields on every line, drops instead of blocking, rotation.</summary>
public class AccessLogTests
{
    /// <summary>DESIGN.md "Access log and metrics" (the authorizer principal is <c>principal</c>).</summary>
    private static readonly string[] DesignFields =
    [
        "requestId", "clientRequestId", "requestTime", "requestTimeEpoch", "httpMethod", "path", "routeKey", "stage",
        "status", "responseLength", "latency", "integrationLatency", "integrationStatus", "integrationError",
        "sourceIp", "userAgent", "apiKeyId", "principal", "events", "firewallRule",
    ];

    [Fact]
    public async Task Every_line_has_every_design_field_and_no_secret()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);
        var accepted = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", Encoding.UTF8, "application/json") };
        accepted.Headers.Add("x-request-id", "client-7");
        accepted.Headers.Add("x-api-key", "super-secret-key");
        accepted.Headers.TryAddWithoutValidation("Authorization", "Bearer secret-jwt-token");
        accepted.Headers.UserAgent.ParseAdd("probe/1.0");
        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(accepted)).StatusCode);
        await gateway.Client.PostAsync("/v1/events", new StringContent("x", Encoding.UTF8, "text/plain"));
        await gateway.PostJsonAsync("/nowhere", "{}");

        var lines = await gateway.AccessLogLinesAsync(3);

        Assert.Equal(3, lines.Length);
        foreach (var line in lines)
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var missing = DesignFields.Where(f => !root.TryGetProperty(f, out _)).ToList();
            Assert.True(missing.Count == 0, $"missing {string.Join(", ", missing)} in {line}");
            Assert.Matches(@"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", root.GetProperty("requestTime").GetString());
            Assert.Equal(JsonValueKind.Number, root.GetProperty("status").ValueKind);
            Assert.Equal(JsonValueKind.Number, root.GetProperty("latency").ValueKind);
            Assert.Equal(JsonValueKind.Number, root.GetProperty("requestTimeEpoch").ValueKind);
            Assert.Equal(JsonValueKind.Number, root.GetProperty("responseLength").ValueKind);
            Assert.Equal(JsonValueKind.Number, root.GetProperty("events").ValueKind);
            Assert.DoesNotContain("secret", line, StringComparison.OrdinalIgnoreCase);
        }
        using var first = JsonDocument.Parse(lines[0]);
        Assert.Equal("client-7", first.RootElement.GetProperty("clientRequestId").GetString());
        Assert.Equal("probe/1.0", first.RootElement.GetProperty("userAgent").GetString());
        Assert.Equal("127.0.0.1", first.RootElement.GetProperty("sourceIp").GetString());
        Assert.Equal("POST /v1/events", first.RootElement.GetProperty("routeKey").GetString());
        Assert.Equal(1, first.RootElement.GetProperty("events").GetInt32());
        using var third = JsonDocument.Parse(lines[2]);
        Assert.Equal(404, third.RootElement.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.Null, third.RootElement.GetProperty("routeKey").ValueKind);
    }

    [Fact]
    public async Task A_slow_sink_makes_the_writer_drop_and_count_instead_of_blocking()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new IngestMetrics(services.GetRequiredService<IMeterFactory>());
        long dropped = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument, metrics.AccessLogDropped))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref dropped, value));
        listener.Start();

        var sink = new GatedStream();
        var config = new IngestConfig { AccessLog = new AccessLogOptions { Path = "gated", BufferLines = 8 } };
        var writer = new AccessLogWriter(config, metrics) { OpenSink = () => sink };
        await writer.StartAsync(CancellationToken.None);

        // The first line reaches the sink, whose write then hangs.
        writer.Write(Entry(0));
        await Poll.UntilAsync(() => sink.WriteStarted, TimeSpan.FromSeconds(5));

        var elapsed = Stopwatch.StartNew();
        for (var i = 1; i < 1000; i++)
        {
            writer.Write(Entry(i));
        }
        elapsed.Stop();

        // Eight lines fit in the buffer; the other 991 are dropped and counted, and nobody waited.
        Assert.Equal(991, Interlocked.Read(ref dropped));
        Assert.True(elapsed.Elapsed < TimeSpan.FromSeconds(2), $"writes took {elapsed.Elapsed}");

        sink.Open();
        await writer.StopAsync(CancellationToken.None);
        var written = Encoding.UTF8.GetString(sink.Written).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(9, written.Length);
        Assert.Equal(1000, written.Length + Interlocked.Read(ref dropped));
    }

    [Fact]
    public async Task The_file_rotates_once_it_reaches_max_file_bytes()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        using var metrics = new IngestMetrics(services.GetRequiredService<IMeterFactory>());
        var path = Path.Combine(Path.GetTempPath(), $"ingest-rotate-{Guid.NewGuid():N}.log");
        var lineBytes = LineBytes(Entry(1));
        var config = new IngestConfig { AccessLog = new AccessLogOptions { Path = path, MaxFileBytes = 5 * lineBytes } };
        var writer = new AccessLogWriter(config, metrics);
        await writer.StartAsync(CancellationToken.None);
        try
        {
            for (var i = 0; i < 7; i++)
            {
                writer.Write(Entry(1));
                var expected = i + 1;
                await Poll.UntilAsync(() => CountLines(path) + CountLines(path + ".1") == expected, TimeSpan.FromSeconds(5));
            }
        }
        finally
        {
            await writer.StopAsync(CancellationToken.None);
        }

        Assert.Equal(5, CountLines(path + ".1"));
        Assert.Equal(5 * lineBytes, new FileInfo(path + ".1").Length);
        Assert.Equal(2, CountLines(path));
        File.Delete(path);
        File.Delete(path + ".1");
    }

    private static AccessLogEntry Entry(int n) => new()
    {
        RequestId = Guid.Parse("01a214d8-d621-7320-a4d5-6ac48cf266b4"),
        RequestTimeMs = 1_795_646_179_803,
        HttpMethod = "POST",
        Path = $"/v1/events/{n % 10}",
        RouteKey = "POST /v1/events/{id}",
        Status = 202,
        ResponseLength = 65,
        LatencyMs = 0.5,
        SourceIp = IPAddress.Loopback,
        Events = 1,
    };

    private static long LineBytes(AccessLogEntry entry) => new AccessLogFormatter().Write(entry, new System.Buffers.ArrayBufferWriter<byte>());

    private static int CountLines(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        }
        catch (IOException)
        {
            // Not there (yet), or being rotated this instant.
            return 0;
        }
    }

    /// <summary>A sink whose writes hang until <see cref="Open"/>: a full pipe, a stuck disk.</summary>
    private sealed class GatedStream : Stream
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly MemoryStream _written = new();
        private volatile bool _writeStarted;

        public bool WriteStarted => _writeStarted;

        public byte[] Written
        {
            get
            {
                lock (_written)
                {
                    return _written.ToArray();
                }
            }
        }

        public void Open() => _gate.TrySetResult();

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _writeStarted = true;
            await _gate.Task.WaitAsync(cancellationToken);
            lock (_written)
            {
                _written.Write(buffer.Span);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

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
