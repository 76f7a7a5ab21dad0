using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Ingest.Gateway.AccessLog;

namespace Ingest.Benchmarks.AccessLog;

/// <summary>
/// <c>AccessLogWriter.Format</c>: one access-log line into a reused <see cref="Utf8JsonWriter"/> over an
/// <see cref="ArrayBufferWriter{T}"/>, as the writer's background loop does (Format, Flush, Reset).
/// Runs off the request thread, but at the request rate, and its garbage is collected with the requests'.
/// </summary>
[MemoryDiagnoser]
public class AccessLogFormatBenchmarks
{
    private const string TimeFormat = "dd/MMM/yyyy:HH:mm:ss +0000";
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private Utf8JsonWriter _json = null!;
    private AccessLogEntry _entry;

    [GlobalSetup]
    public void Setup()
    {
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var sourceIp = IPAddress.Parse("10.1.2.3");
        _ = sourceIp.ToString(); // Kestrel reuses one IPAddress per connection; its text is cached after the first request.
        _entry = new AccessLogEntry
        {
            RequestId = Guid.CreateVersion7(),
            RequestTimeMs = 1_795_644_064_395,
            HttpMethod = "POST",
            Path = "/v1/events",
            RouteKey = "POST /v1/events",
            Status = 202,
            ResponseLength = 65,
            LatencyMs = 0.759,
            SourceIp = sourceIp,
            UserAgent = "wrk/4.1.0",
            Events = 1,
        };
    }

    [GlobalCleanup]
    public void Cleanup() => _json.Dispose();

    [Benchmark(Baseline = true, Description = "AccessLogWriter.Format")]
    public int Format()
    {
        AccessLogWriter.Format(_json, _entry);
        return Complete();
    }

    /// <summary>
    /// The same line with <c>requestTime</c> formatted into a stack buffer instead of
    /// <c>DateTimeOffset.ToString</c> (the fix suggested in benchmarks/README.md). A copy of
    /// Format's body for the fields this entry has; not production code.
    /// </summary>
    [Benchmark(Description = "same line, requestTime via TryFormat (suggested fix)")]
    public int FormatWithoutTimeString()
    {
        ref readonly var e = ref _entry;
        var json = _json;
        json.WriteStartObject();
        json.WriteString("requestId", e.RequestId);
        Span<char> time = stackalloc char[32];
        DateTimeOffset.FromUnixTimeMilliseconds(e.RequestTimeMs).TryFormat(time, out var written, TimeFormat, CultureInfo.InvariantCulture);
        json.WriteString("requestTime", time[..written]);
        json.WriteNumber("requestTimeEpoch", e.RequestTimeMs);
        json.WriteString("httpMethod", e.HttpMethod);
        json.WriteString("path", e.Path);
        json.WriteString("routeKey", e.RouteKey);
        json.WriteNumber("status", e.Status);
        json.WriteNumber("responseLength", e.ResponseLength);
        json.WriteNumber("latency", Math.Round(e.LatencyMs, 3));
        json.WriteString("sourceIp", e.SourceIp!.ToString());
        json.WriteString("userAgent", e.UserAgent);
        json.WriteNumber("events", e.Events);
        json.WriteEndObject();
        return Complete();
    }

    private int Complete()
    {
        _json.Flush();
        var length = _buffer.WrittenCount;
        _json.Reset(_buffer);
        _buffer.ResetWrittenCount();
        return length;
    }
}
