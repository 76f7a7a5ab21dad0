using System.Buffers;
using System.Globalization;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Ingest.Gateway.AccessLog;

namespace Ingest.Benchmarks.AccessLog;

/// <summary>
/// One access-log line as the writer thread formats it, into a reused <see cref="ArrayBufferWriter{T}"/>.
/// Runs off the request thread, but at the request rate, on the same cores.
/// </summary>
[MemoryDiagnoser]
public class AccessLogFormatBenchmarks
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64 * 1024);
    private readonly AccessLogFormatter _formatter = new();
    private Utf8JsonWriter _json = null!;
    private AccessLogEntry _entry;
    private AccessLogEntry _oddEntry;

    [GlobalSetup]
    public void Setup()
    {
        _json = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        // The line of the load run: POST 512 B to a blackhole route, 202.
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
            SourceIp = IPAddress.Parse("10.1.2.3"),
            UserAgent = "wrk/4.1.0",
            Events = 1,
        };
        // Every string needs escaping or is non-ASCII, every optional field is set, the source is IPv6.
        _oddEntry = _entry with { };
        _oddEntry.ClientRequestId = "client \"7\"";
        _oddEntry.Path = "/v1/devices/caf\u00e9\t\"x\"/events";
        _oddEntry.Stage = "prod";
        _oddEntry.IntegrationLatencyMs = 12.5;
        _oddEntry.IntegrationStatus = 200;
        _oddEntry.IntegrationError = "backend said \"no\"\nsecond line";
        _oddEntry.SourceIp = IPAddress.Parse("2001:db8::ff00:42:8329");
        _oddEntry.UserAgent = "Mozilla/5.0 (X11; Linux x86_64) \u6771\u4eac \\ \"quoted\"";
        _oddEntry.ApiKeyId = "key-1";
        _oddEntry.Principal = "user@example.com";
        _oddEntry.FirewallRule = "count-bots";
    }

    [GlobalCleanup]
    public void Cleanup() => _json.Dispose();

    /// <summary>The previous formatter: <see cref="Utf8JsonWriter"/> with string property names (kept here for comparison).</summary>
    [Benchmark(Baseline = true, Description = "before: Utf8JsonWriter")]
    public int Utf8JsonWriterLine()
    {
        FormatWithUtf8JsonWriter(_json, _entry);
        _json.Flush();
        _json.Reset(_buffer);
        _buffer.Write("\n"u8);
        return Complete();
    }

    [Benchmark(Description = "AccessLogFormatter.Write")]
    public int FormatterLine()
    {
        _formatter.Write(_entry, _buffer);
        return Complete();
    }

    [Benchmark(Description = "before: Utf8JsonWriter, odd values")]
    public int Utf8JsonWriterOddLine()
    {
        FormatWithUtf8JsonWriter(_json, _oddEntry);
        _json.Flush();
        _json.Reset(_buffer);
        _buffer.Write("\n"u8);
        return Complete();
    }

    [Benchmark(Description = "AccessLogFormatter.Write, odd values (escapes, non-ASCII, IPv6)")]
    public int FormatterOddLine()
    {
        _formatter.Write(_oddEntry, _buffer);
        return Complete();
    }

    private int Complete()
    {
        var length = _buffer.WrittenCount;
        _buffer.ResetWrittenCount();
        return length;
    }

    private static void FormatWithUtf8JsonWriter(Utf8JsonWriter json, in AccessLogEntry e)
    {
        json.WriteStartObject();
        json.WriteString("requestId", e.RequestId);
        WriteOptional(json, "clientRequestId", e.ClientRequestId);
        Span<char> requestTime = stackalloc char[32];
        DateTimeOffset.FromUnixTimeMilliseconds(e.RequestTimeMs).TryFormat(requestTime, out var timeLength, "dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture);
        json.WriteString("requestTime", requestTime[..timeLength]);
        json.WriteNumber("requestTimeEpoch", e.RequestTimeMs);
        json.WriteString("httpMethod", e.HttpMethod);
        json.WriteString("path", e.Path);
        WriteOptional(json, "routeKey", e.RouteKey);
        WriteOptional(json, "stage", e.Stage);
        json.WriteNumber("status", e.Status);
        json.WriteNumber("responseLength", e.ResponseLength);
        json.WriteNumber("latency", Math.Round(e.LatencyMs, 3));
        if (e.IntegrationLatencyMs is { } integrationLatency)
        {
            json.WriteNumber("integrationLatency", Math.Round(integrationLatency, 3));
        }
        else
        {
            json.WriteNull("integrationLatency");
        }
        if (e.IntegrationStatus is { } integrationStatus)
        {
            json.WriteNumber("integrationStatus", integrationStatus);
        }
        else
        {
            json.WriteNull("integrationStatus");
        }
        WriteOptional(json, "integrationError", e.IntegrationError);
        WriteOptional(json, "sourceIp", e.SourceIp?.ToString());
        WriteOptional(json, "userAgent", e.UserAgent);
        WriteOptional(json, "apiKeyId", e.ApiKeyId);
        WriteOptional(json, "principal", e.Principal);
        json.WriteNumber("events", e.Events);
        WriteOptional(json, "firewallRule", e.FirewallRule);
        WriteOptional(json, "connectionId", e.ConnectionId);
        WriteOptional(json, "eventType", e.EventType);
        if (e.DisconnectStatusCode is { } code)
        {
            json.WriteNumber("disconnectStatusCode", code);
        }
        else
        {
            json.WriteNull("disconnectStatusCode");
        }
        json.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
        else
        {
            json.WriteNull(name);
        }
    }
}
