using System.Text;
using Ingest.Core.Throttling;
using StackExchange.Redis;

namespace Ingest.Core.Idempotency;

/// <summary>
/// Idempotency keys in Redis, shared by every instance: <c>SET key "p"+token NX PX inFlight</c>
/// marks a running request; the answer replaces it (<c>SET key "a"+answer PX window</c>). A retry on
/// another instance finds either. Throws when Redis cannot answer: the caller applies <c>onFailure</c>.
/// </summary>
internal sealed class RedisIdempotencyStore(RedisRateLimiter redis) : IIdempotencyStore
{
    private const byte RunningTag = (byte)'p';
    private const byte AnswerTag = (byte)'a';

    // Deletes the marker only if it is still ours: an expired claim taken over by another request stays.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
        return 0
        """;

    public RedisRateLimiter Connection => redis;

    public async ValueTask<IdempotencyClaim> TryClaimAsync(string key, string token, TimeSpan inFlight)
    {
        var database = await redis.DatabaseAsync().ConfigureAwait(false);
        var marker = Running(token);
        // Twice at most: the key can expire or be released between SET NX and GET.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            if (await database.StringSetAsync(key, marker, inFlight, When.NotExists).WaitAsync(redis.Timeout).ConfigureAwait(false))
            {
                return IdempotencyClaim.Claimed;
            }
            var value = (byte[]?)await database.StringGetAsync(key).WaitAsync(redis.Timeout).ConfigureAwait(false);
            if (value is null || value.Length == 0)
            {
                continue;
            }
            if (value[0] == AnswerTag && IdempotentAnswer.Decode(value.AsSpan(1)) is { } answer)
            {
                return new IdempotencyClaim(ClaimOutcome.Answered, answer);
            }
            return IdempotencyClaim.InProgress;
        }
        return IdempotencyClaim.InProgress;
    }

    public async ValueTask CompleteAsync(string key, string token, IdempotentAnswer answer, TimeSpan window)
    {
        var database = await redis.DatabaseAsync().ConfigureAwait(false);
        var encoded = answer.Encode();
        var value = new byte[encoded.Length + 1];
        value[0] = AnswerTag;
        encoded.CopyTo(value, 1);
        await database.StringSetAsync(key, value, window).WaitAsync(redis.Timeout).ConfigureAwait(false);
    }

    public async ValueTask ReleaseAsync(string key, string token)
    {
        var database = await redis.DatabaseAsync().ConfigureAwait(false);
        await database.ScriptEvaluateAsync(ReleaseScript, [key], [Running(token)]).WaitAsync(redis.Timeout).ConfigureAwait(false);
    }

    private static byte[] Running(string token)
    {
        var bytes = new byte[1 + Encoding.ASCII.GetByteCount(token)];
        bytes[0] = RunningTag;
        Encoding.ASCII.GetBytes(token, bytes.AsSpan(1));
        return bytes;
    }
}
