using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Tests.Kinesis.Support;

/// <summary>Fault injection settings of <see cref="FakeKinesisServer"/>.</summary>
internal sealed record FakeKinesisFaults
{
    /// <summary>Every Nth PutRecords call fails as a whole with 400 ProvisionedThroughputExceededException; 0 = never.</summary>
    public int WholeCallFailureEvery { get; init; }

    /// <summary>PutRecords calls (by call number modulo 10) whose entries may fail; the rest succeed fully.</summary>
    public IReadOnlySet<int> PartialBatchSlots { get; init; } = new HashSet<int>();

    /// <summary>Chance of each entry of a partial batch failing (at least one always does).</summary>
    public double EntryFailureRate { get; init; }

    /// <summary>Seed of the entry choice, for reproducible runs.</summary>
    public int Seed { get; init; } = 1234;

    /// <summary>A random 20% of entries fail in 40% of calls, and 5% of calls fail as a whole.</summary>
    public static FakeKinesisFaults Heavy { get; } = new()
    {
        WholeCallFailureEvery = 20,
        PartialBatchSlots = new HashSet<int> { 1, 3, 5, 8 },
        EntryFailureRate = 0.2,
    };
}

/// <summary>One stored record.</summary>
internal sealed record StoredRecord(string EventId, byte[] Data, string PartitionKey);

/// <summary>
/// A Kinesis endpoint on a real Kestrel server (127.0.0.1, free port) speaking JSON 1.1. Every
/// request's SigV4 signature is recomputed with <see cref="ReferenceSigV4Verifier"/> (403
/// InvalidSignatureException on mismatch). Stores successful records by event id (read from the
/// envelope), enforces the PutRecords limits, and injects partial and whole-call failures.
/// </summary>
internal sealed class FakeKinesisServer : IAsyncDisposable
{
    public const string AccessKey = "AKIDFAKEKINESIS";
    public const string SecretKey = "fake/Secret+Key/for/tests";
    public const string Region = "us-east-1";

    private readonly WebApplication _app;
    private readonly FakeKinesisFaults _faults;
    private readonly Random _random;
    private readonly Lock _randomGate = new();
    private readonly ConcurrentDictionary<string, int> _describesLeft = new(StringComparer.Ordinal);
    private int _putRecordsCalls;
    private int _wholeCallFailures;
    private int _partialBatches;
    private int _failedEntries;
    private int _signatureFailures;
    private int _resentAfterSuccess;
    private int _limitViolations;
    private long _sequence;

    private FakeKinesisServer(WebApplication app, FakeKinesisFaults faults)
    {
        _app = app;
        _faults = faults;
        _random = new Random(faults.Seed);
    }

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>Streams and their status.</summary>
    public ConcurrentDictionary<string, string> Streams { get; } = new(StringComparer.Ordinal);

    /// <summary>Times each event id was stored successfully.</summary>
    public ConcurrentDictionary<string, int> StoreCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>The first successful copy of each event.</summary>
    public ConcurrentDictionary<string, StoredRecord> Stored { get; } = new(StringComparer.Ordinal);

    /// <summary>Times each event id was sent at all (failed attempts included).</summary>
    public ConcurrentDictionary<string, int> SendCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>DescribeStreamSummary calls a created stream stays CREATING for.</summary>
    public int CreatingDescribes { get; init; } = 2;

    public int PutRecordsCalls => Volatile.Read(ref _putRecordsCalls);
    public int WholeCallFailures => Volatile.Read(ref _wholeCallFailures);
    public int PartialBatches => Volatile.Read(ref _partialBatches);
    public int FailedEntries => Volatile.Read(ref _failedEntries);
    public int SignatureFailures => Volatile.Read(ref _signatureFailures);
    public int ResentAfterSuccess => Volatile.Read(ref _resentAfterSuccess);
    public int LimitViolations => Volatile.Read(ref _limitViolations);

    public static async Task<FakeKinesisServer> StartAsync(FakeKinesisFaults? faults = null, int creatingDescribes = 2)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeKinesisServer(app, faults ?? new FakeKinesisFaults()) { CreatingDescribes = creatingDescribes };
        app.MapPost("/", server.HandleAsync);
        await app.StartAsync();
        server.Endpoint = new Uri(app.Urls.First());
        return server;
    }

    public void CreateStream(string name) => Streams[name] = "ACTIVE";

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await request.Body.CopyToAsync(buffer);
            body = buffer.ToArray();
        }

        var reason = ReferenceSigV4Verifier.Verify(
            request.Method,
            request.Path.Value ?? "/",
            request.QueryString.HasValue ? request.QueryString.Value![1..] : "",
            name => request.Headers.TryGetValue(name, out var v) ? string.Join(',', v.ToArray()) : null,
            body,
            Region,
            "kinesis",
            key => key == AccessKey ? SecretKey : null,
            ["x-amz-target", "content-type"],
            DateTimeOffset.UtcNow);
        if (reason is not null)
        {
            Interlocked.Increment(ref _signatureFailures);
            await ErrorAsync(context, 403, "InvalidSignatureException", reason);
            return;
        }
        if (request.ContentType != "application/x-amz-json-1.1")
        {
            await ErrorAsync(context, 400, "SerializationException", "expected application/x-amz-json-1.1, got " + request.ContentType);
            return;
        }

        using var document = JsonDocument.Parse(body);
        var input = document.RootElement;
        var target = request.Headers["X-Amz-Target"].ToString();
        switch (target)
        {
            case "Kinesis_20131202.PutRecords":
                await PutRecordsAsync(context, input);
                break;
            case "Kinesis_20131202.DescribeStreamSummary":
                await DescribeAsync(context, input.GetProperty("StreamName").GetString()!);
                break;
            case "Kinesis_20131202.CreateStream":
                var name = input.GetProperty("StreamName").GetString()!;
                if (!Streams.TryAdd(name, "CREATING"))
                {
                    await ErrorAsync(context, 400, "ResourceInUseException", $"Stream {name} under account 123456789012 already exists.");
                    return;
                }
                _describesLeft[name] = CreatingDescribes;
                await JsonAsync(context, _ => { });
                break;
            default:
                await ErrorAsync(context, 400, "UnknownOperationException", target);
                break;
        }
    }

    private async Task DescribeAsync(HttpContext context, string name)
    {
        if (!Streams.TryGetValue(name, out var status))
        {
            await ErrorAsync(context, 400, "ResourceNotFoundException", $"Stream {name} under account 123456789012 not found.");
            return;
        }
        if (status == "CREATING" && _describesLeft.AddOrUpdate(name, 0, (_, n) => n - 1) <= 0)
        {
            Streams[name] = status = "ACTIVE";
        }
        await JsonAsync(context, w =>
        {
            w.WriteStartObject("StreamDescriptionSummary");
            w.WriteString("StreamName", name);
            w.WriteString("StreamARN", $"arn:aws:kinesis:{Region}:123456789012:stream/{name}");
            w.WriteString("StreamStatus", status);
            w.WriteNumber("OpenShardCount", 1);
            w.WriteEndObject();
        });
    }

    private async Task PutRecordsAsync(HttpContext context, JsonElement input)
    {
        var stream = input.GetProperty("StreamName").GetString()!;
        if (Streams.GetValueOrDefault(stream) != "ACTIVE")
        {
            await ErrorAsync(context, 400, "ResourceNotFoundException", $"Stream {stream} under account 123456789012 not found.");
            return;
        }
        var records = new List<(byte[] Data, string Key, string EventId)>();
        long total = 0;
        foreach (var record in input.GetProperty("Records").EnumerateArray())
        {
            var data = record.GetProperty("Data").GetBytesFromBase64();
            var key = record.GetProperty("PartitionKey").GetString()!;
            var size = data.Length + Encoding.UTF8.GetByteCount(key);
            total += size;
            if (key.Length is < 1 or > 256 || size > 1024 * 1024)
            {
                Interlocked.Increment(ref _limitViolations);
                await ErrorAsync(context, 400, "ValidationException", "record too large or bad partition key");
                return;
            }
            using var envelope = JsonDocument.Parse(data);
            records.Add((data, key, envelope.RootElement.GetProperty("eventId").GetString()!));
        }
        if (records.Count is < 1 or > 500 || total > 5 * 1024 * 1024)
        {
            Interlocked.Increment(ref _limitViolations);
            await ErrorAsync(context, 400, "ValidationException", $"{records.Count} records, {total} bytes: over the PutRecords limits");
            return;
        }
        foreach (var r in records)
        {
            SendCounts.AddOrUpdate(r.EventId, 1, (_, n) => n + 1);
        }

        var call = Interlocked.Increment(ref _putRecordsCalls);
        if (_faults.WholeCallFailureEvery > 0 && call % _faults.WholeCallFailureEvery == _faults.WholeCallFailureEvery / 2)
        {
            Interlocked.Increment(ref _wholeCallFailures);
            await ErrorAsync(context, 400, "ProvisionedThroughputExceededException", "Rate exceeded for stream " + stream);
            return;
        }

        var failed = new bool[records.Count];
        if (_faults.PartialBatchSlots.Contains(call % 10) && _faults.EntryFailureRate > 0)
        {
            Interlocked.Increment(ref _partialBatches);
            lock (_randomGate)
            {
                for (var i = 0; i < failed.Length; i++)
                {
                    failed[i] = _random.NextDouble() < _faults.EntryFailureRate;
                }
                failed[_random.Next(failed.Length)] = true;
            }
        }

        var failures = failed.Count(f => f);
        Interlocked.Add(ref _failedEntries, failures);
        await JsonAsync(context, w =>
        {
            w.WriteNumber("FailedRecordCount", failures);
            w.WriteStartArray("Records");
            for (var i = 0; i < records.Count; i++)
            {
                w.WriteStartObject();
                if (failed[i])
                {
                    w.WriteString("ErrorCode", "ProvisionedThroughputExceededException");
                    w.WriteString("ErrorMessage", $"Rate exceeded for shard shardId-000000000000 in stream {stream} under account 123456789012.");
                }
                else
                {
                    var (data, key, eventId) = records[i];
                    if (StoreCounts.ContainsKey(eventId))
                    {
                        Interlocked.Increment(ref _resentAfterSuccess);
                    }
                    StoreCounts.AddOrUpdate(eventId, 1, (_, n) => n + 1);
                    Stored.TryAdd(eventId, new StoredRecord(eventId, data, key));
                    w.WriteString("SequenceNumber", Interlocked.Increment(ref _sequence).ToString("D56", System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteString("ShardId", "shardId-000000000000");
                }
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
    }

    private static Task ErrorAsync(HttpContext context, int status, string type, string message) =>
        JsonAsync(context, w =>
        {
            w.WriteString("__type", type);
            w.WriteString("message", message);
        }, status);

    private static async Task JsonAsync(HttpContext context, Action<Utf8JsonWriter> write, int status = 200)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/x-amz-json-1.1";
        await context.Response.Body.WriteAsync(buffer.ToArray());
    }
}
