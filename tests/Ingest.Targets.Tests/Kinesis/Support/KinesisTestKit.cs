using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Kinesis.Support;

/// <summary>Events with bodies of every kind the envelope handles.</summary>
internal static class KinesisTestEvents
{
    public static IngestEvent Create(
        byte[] body,
        string? contentType = "application/json",
        KeyValuePair<string, string>[]? headers = null,
        long receivedAtMs = 1_767_323_045_678,
        bool trackDelivery = false) => new()
        {
            Id = Guid.CreateVersion7(),
            ReceivedAtMs = receivedAtMs,
            RouteKey = "POST /v1/clicks",
            SourceIp = "203.0.113.7",
            ContentType = contentType,
            TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            Headers = headers ?? [],
            Body = body,
            Delivered = trackDelivery ? new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously) : null,
        };

    public static IngestEvent Json(string json, string contentType = "application/json", params KeyValuePair<string, string>[] headers) =>
        Create(Encoding.UTF8.GetBytes(json), contentType, headers);

    /// <summary>
    /// A mix: JSON objects (application/json), +json arrays, UTF-8 text, random binary, and JSON
    /// declared as JSON but malformed. Half carry an <c>x-device</c> header. Bodies have no
    /// whitespace around them, so an embedded JSON body compares byte for byte.
    /// </summary>
    public static List<IngestEvent> Mixed(int count, int seed, int maxBinaryBytes = 2048)
    {
        var random = new Random(seed);
        var events = new List<IngestEvent>(count);
        for (var i = 0; i < count; i++)
        {
            KeyValuePair<string, string>[] headers = i % 2 == 0 ? [new("x-device", $"device-{i % 37}")] : [];
            var e = (i % 5) switch
            {
                0 => Create(RandomBytes(random, random.Next(1, maxBinaryBytes)), "application/octet-stream", headers, trackDelivery: true),
                1 => Create(Encoding.UTF8.GetBytes($$$"""{"device":"d-{{{i % 11}}}","seq":{{{i}}},"temp":21.50,"note":"caf\u00e9 ✓ {{{new string('x', random.Next(0, 400))}}}","nested":{"a":[1,2,{"b":null}]}}"""), "application/json; charset=utf-8", headers, trackDelivery: true),
                2 => Create(Encoding.UTF8.GetBytes($$"""[{{i}},"two",true,{"k":"v"}]"""), "application/vnd.api+json", headers, trackDelivery: true),
                3 => Create(Encoding.UTF8.GetBytes($"plain text {i}: ünïcödé ✓ " + new string('y', random.Next(0, 300))), "text/plain", headers, trackDelivery: true),
                _ => Create(Encoding.UTF8.GetBytes($$"""{"device":"d-{{i}}", broken"""), "application/json", headers, trackDelivery: true),
            };
            events.Add(e);
        }
        return events;
    }

    public static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}

/// <summary>Reads a record's JSON envelope back.</summary>
internal static class Envelope
{
    /// <summary>The body bytes carried by an envelope (raw JSON value or base64).</summary>
    public static byte[] Body(byte[] data)
    {
        using var document = JsonDocument.Parse(data);
        var root = document.RootElement;
        return root.TryGetProperty("body", out var body)
            ? Encoding.UTF8.GetBytes(body.GetRawText())
            : root.GetProperty("bodyBase64").GetBytesFromBase64();
    }

    public static string EventId(byte[] data)
    {
        using var document = JsonDocument.Parse(data);
        return document.RootElement.GetProperty("eventId").GetString()!;
    }
}

/// <summary>Dead letters, collected.</summary>
internal sealed class CollectingDeadLetters : IDeadLetterSink
{
    public ConcurrentQueue<(IngestEvent Event, string Reason)> Items { get; } = new();

    public void DeadLetter(IReadOnlyList<IngestEvent> events, string reason)
    {
        foreach (var e in events)
        {
            Items.Enqueue((e, reason));
        }
    }
}

/// <summary>Sums one counter of the "Ingest" meter of one meter factory, for one target.</summary>
internal sealed class CounterProbe : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _total;

    public CounterProbe(IMeterFactory factory, string instrument, string target)
    {
        _listener.InstrumentPublished = (i, listener) =>
        {
            // Scope: other tests running in parallel have their own factories.
            if (i.Meter.Name == IngestMetrics.MeterName && ReferenceEquals(i.Meter.Scope, factory) && i.Name == instrument)
            {
                listener.EnableMeasurementEvents(i);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "target" && (string?)tag.Value == target)
                {
                    Interlocked.Add(ref _total, value);
                }
            }
        });
        _listener.Start();
    }

    public long Total => Interlocked.Read(ref _total);

    public void Dispose() => _listener.Dispose();
}

/// <summary>A real IngestMetrics on its own meter factory.</summary>
internal sealed class MetricsHost : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();

    public MetricsHost() => Metrics = new IngestMetrics(Factory);

    public IMeterFactory Factory => _services.GetRequiredService<IMeterFactory>();

    public IngestMetrics Metrics { get; }

    public void Dispose()
    {
        Metrics.Dispose();
        _services.Dispose();
    }
}

/// <summary>Log lines, kept.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
}

internal static class KinesisTestSetup
{
    public static TargetContext Context(Uri endpoint, bool createMissing = false, string secret = FakeKinesisServer.SecretKey,
        string region = FakeKinesisServer.Region, Func<string, HttpMessageHandler, HttpMessageHandler>? wrap = null, TimeProvider? time = null) =>
        new(
            new AwsOptions
            {
                Region = region,
                AccessKeyId = FakeKinesisServer.AccessKey,
                SecretAccessKey = secret,
                Endpoints = { ["kinesis"] = endpoint.ToString() },
            },
            createMissing,
            NullLoggerFactory.Instance,
            time ?? TimeProvider.System,
            wrap);

    /// <summary>Fast settings: tiny linger and backoff so retries take milliseconds.</summary>
    public static BatchingSettings FastSettings(BatchLimits limits, int maxRecords, int maxAttempts) =>
        new(maxRecords, limits.MaxBatchBytes, TimeSpan.FromMilliseconds(2), MaxInFlight: 4, ChannelCapacity: 20_000,
            maxAttempts, BaseDelay: TimeSpan.FromMilliseconds(1), MaxDelay: TimeSpan.FromMilliseconds(10));

    /// <summary>Waits for every tracked event to complete, failing with a count of the missing ones at the deadline.</summary>
    public static async Task<bool[]> WhenAllCompleted(IReadOnlyList<IngestEvent> events, TimeSpan deadline)
    {
        var all = Task.WhenAll(events.Select(e => e.Delivered!.Task));
        try
        {
            return await all.WaitAsync(deadline);
        }
        catch (TimeoutException)
        {
            var pending = events.Count(e => !e.Delivered!.Task.IsCompleted);
            Assert.Fail($"{pending} of {events.Count} events were neither delivered nor dead-lettered within {deadline.TotalSeconds:0}s.");
            throw;
        }
    }
}

/// <summary>Where the test sources are (the vector files are read from there, not copied to the output).</summary>
internal static class KinesisTestPaths
{
    public static string VectorsDirectory { get; } = Path.Combine(SourceDirectory(), "SigV4Vectors");

    private static string SourceDirectory([CallerFilePath] string thisFile = "")
    {
        var kinesisDir = Path.GetDirectoryName(Path.GetDirectoryName(thisFile));
        if (kinesisDir is not null && Directory.Exists(Path.Combine(kinesisDir, "SigV4Vectors")))
        {
            return kinesisDir;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Ingest.Targets.Tests", "Kinesis");
            if (Directory.Exists(Path.Combine(candidate, "SigV4Vectors")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException("tests/Ingest.Targets.Tests/Kinesis/SigV4Vectors not found near the test sources or binaries.");
    }
}
