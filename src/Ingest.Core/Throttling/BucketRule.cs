using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using StackExchange.Redis;

namespace Ingest.Core.Throttling;

/// <summary>
/// One throttle level (gateway or route): its bucket spec and how a request finds its bucket,
/// locally (<see cref="Resolve"/>) and in Redis (<see cref="SharedKey"/>).
/// </summary>
internal abstract class BucketRule
{
    /// <summary>Default of <c>maxKeys</c>.</summary>
    public const int DefaultMaxKeys = 100_000;

    protected BucketRule(string name, TokenBucketSpec spec, string redisPrefix, string reason)
    {
        Name = name;
        Spec = spec;
        KeyPrefix = $"{redisPrefix}b:{name}";
        Rejections = new ThrottledRejectionCache(spec, reason);
        SharedInterval = spec.IntervalUs;
        SharedTolerance = spec.ToleranceUs;
    }

    /// <summary>Stable name in the throttle store, e.g. <c>route:POST /v1/events#sourceIp</c>.</summary>
    public string Name { get; }

    public TokenBucketSpec Spec { get; }

    /// <summary>The Redis key, or its prefix when keyed per client.</summary>
    protected string KeyPrefix { get; }

    public ThrottledRejectionCache Rejections { get; }

    public RedisValue SharedInterval { get; }

    public RedisValue SharedTolerance { get; }

    /// <summary>The local bucket of this request.</summary>
    public abstract TokenBucket Resolve(RequestContext context, long now);

    /// <summary>Forgets <paramref name="evicted"/>, found evicted while this request used it.</summary>
    public virtual void Forget(RequestContext context, TokenBucket evicted)
    {
    }

    /// <summary>The Redis key of this request's bucket.</summary>
    public abstract RedisKey SharedKey(RequestContext context);

    /// <summary>Builds the rule of a <c>throttle:</c> block.</summary>
    public static BucketRule Create(string name, ThrottleOptions options, string reason, string redisPrefix, ThrottleStore store)
    {
        var spec = new TokenBucketSpec(options.Rate, options.Burst);
        var capacity = options.MaxKeys ?? DefaultMaxKeys;
        var by = options.By;
        if (by == "route")
        {
            return new SingleBucketRule(name, spec, redisPrefix, reason, store.Bucket(name));
        }
        var keyed = $"{name}#{by}";
        if (by == "sourceIp")
        {
            return new AddressBucketRule(keyed, spec, redisPrefix, reason, store.AddressTable(keyed, capacity));
        }
        if (by == "apiKey")
        {
            return new ApiKeyBucketRule(keyed, spec, redisPrefix, reason, store.TextTable(keyed, capacity));
        }
        var header = by["header:".Length..];
        return new HeaderBucketRule(keyed, spec, redisPrefix, reason, store.TextTable(keyed, capacity), header);
    }
}

/// <summary>One bucket for every request (<c>by: route</c>, and the gateway).</summary>
internal sealed class SingleBucketRule(string name, TokenBucketSpec spec, string redisPrefix, string reason, TokenBucket bucket)
    : BucketRule(name, spec, redisPrefix, reason)
{
    public override TokenBucket Resolve(RequestContext context, long now) => bucket;

    public override RedisKey SharedKey(RequestContext context) => KeyPrefix;
}

/// <summary>A bucket per API key id (<c>by: apiKey</c>); requests without one share a bucket.</summary>
internal sealed class ApiKeyBucketRule(string name, TokenBucketSpec spec, string redisPrefix, string reason, ClientBucketTable<string> table)
    : BucketRule(name, spec, redisPrefix, reason)
{
    public override TokenBucket Resolve(RequestContext context, long now) => table.Get(context.ApiKeyId ?? "", now);

    public override void Forget(RequestContext context, TokenBucket evicted) => table.Forget(context.ApiKeyId ?? "", evicted);

    public override RedisKey SharedKey(RequestContext context) => $"{KeyPrefix}:{context.ApiKeyId}";
}

/// <summary>A bucket per client address (<c>by: sourceIp</c>; IPv6 per /64).</summary>
internal sealed class AddressBucketRule(string name, TokenBucketSpec spec, string redisPrefix, string reason, ClientBucketTable<ClientAddressKey> table)
    : BucketRule(name, spec, redisPrefix, reason)
{
    public override TokenBucket Resolve(RequestContext context, long now) => table.Get(ClientAddressKey.From(context.ClientIp), now);

    public override void Forget(RequestContext context, TokenBucket evicted) => table.Forget(ClientAddressKey.From(context.ClientIp), evicted);

    public override RedisKey SharedKey(RequestContext context) => $"{KeyPrefix}:{ClientAddressKey.From(context.ClientIp)}";
}

/// <summary>
/// A bucket per value of a request header (<c>by: header:NAME</c>; the first value when repeated).
/// Requests without the header share one bucket. Values longer than
/// <see cref="LongValueChars"/> are keyed by a hash, so that key memory stays small.
/// </summary>
internal sealed class HeaderBucketRule(string name, TokenBucketSpec spec, string redisPrefix, string reason, ClientBucketTable<string> table, string header)
    : BucketRule(name, spec, redisPrefix, reason)
{
    internal const int LongValueChars = 64;

    public override TokenBucket Resolve(RequestContext context, long now)
    {
        var value = Value(context);
        if (value.Length <= LongValueChars)
        {
            return table.Get(value, now);
        }
        Span<char> hashed = stackalloc char[33];
        return table.Get(Hash(value, hashed), now, out _);
    }

    public override void Forget(RequestContext context, TokenBucket evicted)
    {
        var value = Value(context);
        Span<char> hashed = stackalloc char[33];
        table.Forget(value.Length <= LongValueChars ? value : Hash(value, hashed).ToString(), evicted);
    }

    public override RedisKey SharedKey(RequestContext context)
    {
        var value = Value(context);
        Span<char> hashed = stackalloc char[33];
        return $"{KeyPrefix}:{(value.Length <= LongValueChars ? value : Hash(value, hashed).ToString())}";
    }

    private string Value(RequestContext context) =>
        context.Http.Request.Headers.TryGetValue(header, out var values) && values.Count > 0 ? values[0] ?? "" : "";

    /// <summary><c>#</c> and 32 hex digits of the value's SHA-256, written into <paramref name="destination"/>.</summary>
    private static ReadOnlySpan<char> Hash(string value, Span<char> destination)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(MemoryMarshal.AsBytes(value.AsSpan()), digest);
        destination[0] = '#';
        Convert.TryToHexStringLower(digest[..16], destination[1..], out _);
        return destination;
    }
}
