using System.Text.Json;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>
/// Dead letters written as JSON lines, one file per target per day (or the one file named by
/// <paramref name="fileName"/>), so nothing refused by the backend is lost silently;
/// <c>ingest replay</c> reads them with <see cref="Read"/> and sends them back through the target.
/// </summary>
public sealed class SpillFile(string directory, string targetName, TimeProvider timeProvider, string? fileName = null) : IDeadLetterSink, IDisposable
{
    private readonly Lock _gate = new();
    private FileStream? _stream;
    private string? _currentPath;

    public string Directory { get; } = directory;

    /// <summary>Appends events with the reason they were dead-lettered and flushes to disk.</summary>
    public void Write(IEnumerable<IngestEvent> events, string reason)
    {
        lock (_gate)
        {
            var stream = Open();
            using (var writer = new Utf8JsonWriter(stream))
            {
                foreach (var e in events)
                {
                    writer.Reset(stream);
                    writer.WriteStartObject();
                    writer.WriteString("eventId", e.Id);
                    writer.WriteString("route", e.RouteKey);
                    writer.WriteNumber("receivedAtMs", e.ReceivedAtMs);
                    writer.WriteString("sourceIp", e.SourceIp);
                    writer.WriteString("contentType", e.ContentType);
                    writer.WriteString("traceparent", e.TraceParent);
                    writer.WriteStartObject("headers");
                    foreach (var (name, value) in e.Headers)
                    {
                        writer.WriteString(name, value);
                    }
                    writer.WriteEndObject();
                    writer.WriteBase64String("body", e.Body.Span);
                    writer.WriteString("reason", reason);
                    writer.WriteNumber("attempts", e.Attempts);
                    writer.WriteEndObject();
                    writer.Flush();
                    stream.WriteByte((byte)'\n');
                }
            }
            stream.Flush(flushToDisk: true);
        }
    }

    private FileStream Open()
    {
        var path = Path.Combine(Directory, fileName ?? $"{targetName}-{timeProvider.GetUtcNow():yyyyMMdd}.ndjson");
        if (_stream is null || _currentPath != path)
        {
            _stream?.Dispose();
            System.IO.Directory.CreateDirectory(Directory);
            _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            _currentPath = path;
        }
        return _stream;
    }

    /// <summary>Appends a line as it is (one that could not be read back as an event) and flushes to disk.</summary>
    public void WriteLine(string line)
    {
        lock (_gate)
        {
            var stream = Open();
            stream.Write(System.Text.Encoding.UTF8.GetBytes(line));
            stream.WriteByte((byte)'\n');
            stream.Flush(flushToDisk: true);
        }
    }

    /// <summary>Path of the file written last; null before the first write.</summary>
    public string? CurrentPath
    {
        get
        {
            lock (_gate)
            {
                return _currentPath;
            }
        }
    }

    /// <summary>
    /// Reads a spill file back: one entry per non-empty line, the event with its original id,
    /// envelope and body (attempts start again at 0), or the reason the line could not be read.
    /// </summary>
    public static IEnumerable<SpilledLine> Read(string path)
    {
        var number = 0;
        foreach (var line in File.ReadLines(path))
        {
            number++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }
            IngestEvent? e = null;
            string? error = null;
            try
            {
                e = Parse(line);
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                error = ex.Message;
            }
            yield return new SpilledLine(number, line, e, error);
        }
    }

    private static IngestEvent Parse(string line)
    {
        using var document = JsonDocument.Parse(line);
        var root = document.RootElement;
        var headers = new List<KeyValuePair<string, string>>();
        if (root.TryGetProperty("headers", out var headerObject) && headerObject.ValueKind == JsonValueKind.Object)
        {
            foreach (var header in headerObject.EnumerateObject())
            {
                headers.Add(new(header.Name, header.Value.GetString() ?? ""));
            }
        }
        return new IngestEvent
        {
            Id = root.GetProperty("eventId").GetGuid(),
            RouteKey = root.GetProperty("route").GetString() ?? throw new FormatException("route is null"),
            ReceivedAtMs = root.GetProperty("receivedAtMs").GetInt64(),
            SourceIp = OptionalString(root, "sourceIp"),
            ContentType = OptionalString(root, "contentType"),
            TraceParent = OptionalString(root, "traceparent"),
            Headers = [.. headers],
            Body = root.GetProperty("body").GetBytesFromBase64(),
        };
    }

    private static string? OptionalString(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    void IDeadLetterSink.DeadLetter(IReadOnlyList<IngestEvent> events, string reason) => Write(events, reason);

    public void Dispose()
    {
        lock (_gate)
        {
            _stream?.Dispose();
            _stream = null;
        }
    }
}

/// <summary>One line of a spill file read back.</summary>
/// <param name="Number">Line number, from 1.</param>
/// <param name="Text">The line as written.</param>
/// <param name="Event">The event; null when the line could not be read.</param>
/// <param name="Error">Why the line could not be read; null when it could.</param>
public sealed record SpilledLine(int Number, string Text, IngestEvent? Event, string? Error);
