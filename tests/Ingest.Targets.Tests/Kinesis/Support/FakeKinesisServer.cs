using System.Collections.Concurrent;
using System.Globalization;
using System.Numerics;
using System.Security.Cryptography;
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

/// <summary>One shard of a fake stream; closed once split (it then has an ending sequence number).</summary>
internal sealed class FakeShard(string id, BigInteger start, BigInteger end, string? parent)
{
    public string Id { get; } = id;
    public BigInteger Start { get; } = start;
    public BigInteger End { get; } = end;
    public string? Parent { get; } = parent;
    public bool Open { get; set; } = true;

    // Writes in the current one-second window.
    public long Window { get; set; } = -1;
    public int WindowRecords { get; set; }
    public long WindowBytes { get; set; }

    /// <summary>Most records this shard accepted in one window.</summary>
    public int MaxWindowRecords { get; set; }

    /// <summary>Records this shard stored.</summary>
    public int StoredRecords { get; set; }
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
    private int _throttledRecords;
    private int _listShardsCalls;
    private readonly ConcurrentDictionary<string, List<FakeShard>> _shards = new(StringComparer.Ordinal);

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

    /// <summary>Records answered ProvisionedThroughputExceededException because their shard was over its limit.</summary>
    public int ThrottledRecords => Volatile.Read(ref _throttledRecords);

    public int ListShardsCalls => Volatile.Read(ref _listShardsCalls);

    /// <summary>
    /// Enforce the per-shard write limits in one-second windows of the wall clock, as Kinesis does:
    /// a record over 1,000 records or 1 MiB per shard per second is answered
    /// ProvisionedThroughputExceededException (per record; the rest of the call is stored).
    /// </summary>
    public bool EnforceShardLimits { get; init; }

    public int ShardRecordsPerSecond { get; init; } = 1000;

    public long ShardBytesPerSecond { get; init; } = 1024 * 1024;

    /// <summary>Answer ListShards with AccessDeniedException (credentials without kinesis:ListShards).</summary>
    public bool DenyListShards { get; init; }

    /// <summary>Shards per ListShards page (the rest follows with NextToken).</summary>
    public int ListShardsPageSize { get; init; } = 1000;

    /// <summary>All shards of a stream, closed ones included, in creation order.</summary>
    public IReadOnlyList<FakeShard> ShardsOf(string stream)
    {
        var shards = _shards[stream];
        lock (shards)
        {
            return [.. shards];
        }
    }

    /// <summary>
    /// Splits an open shard at the middle of its range, as SplitShard does: the parent closes (it
    /// keeps what it stored, takes no more writes) and two children cover its range.
    /// </summary>
    public (FakeShard Low, FakeShard High) SplitShard(string stream, string shardId)
    {
        var shards = _shards[stream];
        lock (shards)
        {
            var parent = shards.Single(s => s.Id == shardId && s.Open);
            var middle = (parent.Start + parent.End) / 2;
            var low = new FakeShard(ShardName(shards.Count), parent.Start, middle, parent.Id);
            var high = new FakeShard(ShardName(shards.Count + 1), middle + 1, parent.End, parent.Id);
            parent.Open = false;
            shards.Add(low);
            shards.Add(high);
            return (low, high);
        }
    }

    /// <summary>The open shard a partition key (or explicit hash key) goes to: MD5 as an unsigned big-endian integer.</summary>
    public FakeShard ShardFor(string stream, string partitionKey, string? explicitHashKey = null)
    {
#pragma warning disable CA5351 // Kinesis maps keys with MD5.
        var hash = explicitHashKey is not null
            ? BigInteger.Parse(explicitHashKey, CultureInfo.InvariantCulture)
            : new BigInteger(MD5.HashData(Encoding.UTF8.GetBytes(partitionKey)), isUnsigned: true, isBigEndian: true);
#pragma warning restore CA5351
        var shards = _shards[stream];
        lock (shards)
        {
            return shards.Single(s => s.Open && s.Start <= hash && hash <= s.End);
        }
    }

    private static string ShardName(int index) => $"shardId-{index:D12}";

    private void AddShards(string stream, int count)
    {
        var space = BigInteger.Pow(2, 128);
        var shards = new List<FakeShard>(count);
        for (var i = 0; i < count; i++)
        {
            var start = space * i / count;
            var end = (space * (i + 1) / count) - 1;
            shards.Add(new FakeShard(ShardName(i), start, end, null));
        }
        _shards[stream] = shards;
    }

    public static async Task<FakeKinesisServer> StartAsync(
        FakeKinesisFaults? faults = null,
        int creatingDescribes = 2,
        bool enforceShardLimits = false,
        int listShardsPageSize = 1000,
        bool denyListShards = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new FakeKinesisServer(app, faults ?? new FakeKinesisFaults())
        {
            CreatingDescribes = creatingDescribes,
            EnforceShardLimits = enforceShardLimits,
            ListShardsPageSize = listShardsPageSize,
            DenyListShards = denyListShards,
        };
        app.MapPost("/", server.HandleAsync);
        await app.StartAsync();
        server.Endpoint = new Uri(app.Urls.First());
        return server;
    }

    public void CreateStream(string name, int shardCount = 1)
    {
        AddShards(name, shardCount);
        Streams[name] = "ACTIVE";
    }

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
                AddShards(name, input.TryGetProperty("ShardCount", out var count) ? count.GetInt32() : 1);
                _describesLeft[name] = CreatingDescribes;
                await JsonAsync(context, _ => { });
                break;
            case "Kinesis_20131202.ListShards":
                await ListShardsAsync(context, input);
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
            w.WriteNumber("OpenShardCount", _shards.TryGetValue(name, out var shards) ? shards.Count(s => s.Open) : 1);
            w.WriteEndObject();
        });
    }

    private async Task ListShardsAsync(HttpContext context, JsonElement input)
    {
        Interlocked.Increment(ref _listShardsCalls);
        if (DenyListShards)
        {
            await ErrorAsync(context, 400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/ingest is not authorized to perform: kinesis:ListShards");
            return;
        }
        var hasName = input.TryGetProperty("StreamName", out var nameElement);
        var hasToken = input.TryGetProperty("NextToken", out var tokenElement);
        if (hasName == hasToken)
        {
            await ErrorAsync(context, 400, "InvalidArgumentException", "Either NextToken or StreamName should be provided, not both.");
            return;
        }
        string stream;
        var offset = 0;
        if (hasToken)
        {
            var parts = tokenElement.GetString()!.Split('|');
            stream = parts[0];
            offset = int.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        else
        {
            stream = nameElement.GetString()!;
        }
        if (!_shards.TryGetValue(stream, out var all))
        {
            await ErrorAsync(context, 400, "ResourceNotFoundException", $"Stream {stream} under account 123456789012 not found.");
            return;
        }
        FakeShard[] page;
        bool more;
        lock (all)
        {
            page = [.. all.Skip(offset).Take(ListShardsPageSize)];
            more = offset + page.Length < all.Count;
        }
        await JsonAsync(context, w =>
        {
            w.WriteStartArray("Shards");
            foreach (var shard in page)
            {
                w.WriteStartObject();
                w.WriteString("ShardId", shard.Id);
                if (shard.Parent is not null)
                {
                    w.WriteString("ParentShardId", shard.Parent);
                }
                w.WriteStartObject("HashKeyRange");
                w.WriteString("StartingHashKey", shard.Start.ToString(CultureInfo.InvariantCulture));
                w.WriteString("EndingHashKey", shard.End.ToString(CultureInfo.InvariantCulture));
                w.WriteEndObject();
                w.WriteStartObject("SequenceNumberRange");
                w.WriteString("StartingSequenceNumber", "49590338271490256608559692538361571095921575989136588898");
                if (!shard.Open)
                {
                    w.WriteString("EndingSequenceNumber", "49590338271590256608559692538361571095921575989136588898");
                }
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (more)
            {
                w.WriteString("NextToken", $"{stream}|{offset + page.Length}");
            }
        });
    }

    /// <summary>Books one record on its shard's current window; false when the shard is over its limit.</summary>
    private bool TryBook(FakeShard shard, int bytes, long window)
    {
        lock (shard)
        {
            if (shard.Window != window)
            {
                shard.Window = window;
                shard.WindowRecords = 0;
                shard.WindowBytes = 0;
            }
            if (EnforceShardLimits && (shard.WindowRecords + 1 > ShardRecordsPerSecond || shard.WindowBytes + bytes > ShardBytesPerSecond))
            {
                return false;
            }
            shard.WindowRecords++;
            shard.WindowBytes += bytes;
            shard.StoredRecords++;
            shard.MaxWindowRecords = Math.Max(shard.MaxWindowRecords, shard.WindowRecords);
            return true;
        }
    }

    private async Task PutRecordsAsync(HttpContext context, JsonElement input)
    {
        var stream = input.GetProperty("StreamName").GetString()!;
        if (Streams.GetValueOrDefault(stream) != "ACTIVE")
        {
            await ErrorAsync(context, 400, "ResourceNotFoundException", $"Stream {stream} under account 123456789012 not found.");
            return;
        }
        var records = new List<(byte[] Data, string Key, string EventId, string? HashKey)>();
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
            var explicitHashKey = record.TryGetProperty("ExplicitHashKey", out var h) ? h.GetString() : null;
            records.Add((data, key, envelope.RootElement.GetProperty("eventId").GetString()!, explicitHashKey));
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

        // Each record goes to the open shard of its hash key and counts against that shard's window.
        var shardOf = new FakeShard[records.Count];
        var window = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000;
        for (var i = 0; i < records.Count; i++)
        {
            shardOf[i] = ShardFor(stream, records[i].Key, records[i].HashKey);
            if (!failed[i] && !TryBook(shardOf[i], records[i].Data.Length + Encoding.UTF8.GetByteCount(records[i].Key), window))
            {
                failed[i] = true;
                Interlocked.Increment(ref _throttledRecords);
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
                    w.WriteString("ErrorMessage", $"Rate exceeded for shard {shardOf[i].Id} in stream {stream} under account 123456789012.");
                }
                else
                {
                    var (data, key, eventId, _) = records[i];
                    if (StoreCounts.ContainsKey(eventId))
                    {
                        Interlocked.Increment(ref _resentAfterSuccess);
                    }
                    StoreCounts.AddOrUpdate(eventId, 1, (_, n) => n + 1);
                    Stored.TryAdd(eventId, new StoredRecord(eventId, data, key));
                    w.WriteString("SequenceNumber", Interlocked.Increment(ref _sequence).ToString("D56", System.Globalization.CultureInfo.InvariantCulture));
                    w.WriteString("ShardId", shardOf[i].Id);
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
