using System.Text.Json;
using Ingest.Core.Events;

namespace Ingest.Core.Pipeline;

/// <summary>
/// Dead letters written as JSON lines, one file per target per day, so nothing refused by the
/// backend is lost silently; <c>ingest replay</c> sends them back through the target.
/// </summary>
public sealed class SpillFile(string directory, string targetName, TimeProvider timeProvider) : IDeadLetterSink, IDisposable
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
        var path = Path.Combine(Directory, $"{targetName}-{timeProvider.GetUtcNow():yyyyMMdd}.ndjson");
        if (_stream is null || _currentPath != path)
        {
            _stream?.Dispose();
            System.IO.Directory.CreateDirectory(Directory);
            _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
            _currentPath = path;
        }
        return _stream;
    }

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
