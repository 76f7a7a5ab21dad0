using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace Ingest.Gateway.AccessLog;

/// <summary>
/// Writes one JSON line per request off the request thread. Requests hand entries to a bounded
/// channel and never wait: when the sink falls behind, entries are dropped and counted in
/// <c>ingest_access_log_dropped_total</c>.
/// </summary>
internal sealed class AccessLogWriter : BackgroundService
{
    private readonly Channel<AccessLogEntry>? _channel;
    private readonly AccessLogOptions _options;
    private readonly IngestMetrics _metrics;
    private Stream? _stream;
    // Longest a line waits in memory before it is written (when traffic is light).
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    private long _fileBytes;
    private int _pendingLines;

    public AccessLogWriter(IngestConfig config, IngestMetrics metrics)
    {
        _options = config.AccessLog;
        _metrics = metrics;
        if (_options.Path != "off")
        {
            _channel = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(_options.BufferLines)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
    }

    public bool Enabled => _channel is not null;

    /// <summary>Opens the sink instead of <c>accessLog.path</c> (tests: a slow or blocked stream). Default: null.</summary>
    internal Func<Stream>? OpenSink { get; init; }

    public void Write(in AccessLogEntry entry)
    {
        if (_channel is not null && !_channel.Writer.TryWrite(entry))
        {
            _metrics.AccessLogDropped.Add(1);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_channel is null)
        {
            return;
        }
        _stream = Open();
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64 * 1024);
        // Relaxed escaping keeps '+' and '/' readable; the writer still escapes quotes and control characters.
        using var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var reader = _channel.Reader;
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                Drain(reader, json, buffer);
                if (buffer.WrittenCount < 32 * 1024 && !reader.Completion.IsCompleted)
                {
                    // Under load, gather lines for a moment so the sink sees few large writes
                    // instead of one system call per request.
                    await Task.Delay(FlushInterval, CancellationToken.None);
                    Drain(reader, json, buffer);
                }
                await FlushAsync(buffer);
            }
        }
        finally
        {
            await FlushAsync(buffer);
            await _stream.FlushAsync(CancellationToken.None);
            if (_stream is FileStream)
            {
                await _stream.DisposeAsync();
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Requests have finished by now (Kestrel stops first): write what is left, then exit.
        _channel?.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    /// <summary>Formats queued lines into <paramref name="buffer"/> until about 60 KiB.</summary>
    private void Drain(ChannelReader<AccessLogEntry> reader, Utf8JsonWriter json, System.Buffers.ArrayBufferWriter<byte> buffer)
    {
        while (buffer.WrittenCount < 60 * 1024 && reader.TryRead(out var entry))
        {
            Format(json, entry);
            json.Flush();
            json.Reset(buffer);
            buffer.Write("\n"u8);
            _pendingLines++;
        }
    }

    private async Task FlushAsync(System.Buffers.ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0 || _stream is null)
        {
            return;
        }
        try
        {
            await _stream.WriteAsync(buffer.WrittenMemory);
            _fileBytes += buffer.WrittenCount;
            await _stream.FlushAsync();
            if (_stream is FileStream && _fileBytes >= _options.MaxFileBytes)
            {
                Rotate();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // A full disk or a vanished file must not stop the gateway: drop, count, reopen, carry on.
            _metrics.AccessLogDropped.Add(_pendingLines);
            if (_options.Path != "stdout")
            {
                try
                {
                    _stream = Open();
                }
                catch (Exception reopen) when (reopen is IOException or UnauthorizedAccessException)
                {
                    // Try again at the next flush.
                }
            }
        }
        finally
        {
            buffer.ResetWrittenCount();
            _pendingLines = 0;
        }
    }

    private Stream Open()
    {
        if (OpenSink is { } open)
        {
            return open();
        }
        if (_options.Path == "stdout")
        {
            return Console.OpenStandardOutput();
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(_options.Path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        var stream = new FileStream(_options.Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        _fileBytes = stream.Length;
        return stream;
    }

    // Keeps one previous file (path.1), like a minimal logrotate.
    private void Rotate()
    {
        _stream!.Dispose();
        File.Move(_options.Path, _options.Path + ".1", overwrite: true);
        _stream = Open();
    }

    internal static void Format(Utf8JsonWriter json, in AccessLogEntry e)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(e.RequestTimeMs);
        json.WriteStartObject();
        json.WriteString("requestId", e.RequestId);
        WriteOptional(json, "clientRequestId", e.ClientRequestId);
        Span<char> requestTime = stackalloc char[32];
        time.TryFormat(requestTime, out var timeLength, "dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture);
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
        json.WriteEndObject();
    }

    // Every field is on every line (null when it does not apply), so log pipelines see one schema.
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
