namespace Ingest.Core.Throttling;

/// <summary>
/// The one Lua script a shared (Redis) throttle check runs: refill and take a token from every
/// applicable bucket and count the quota, atomically, in one round trip.
/// </summary>
/// <remarks>
/// <para>Buckets are GCRA (see <see cref="TokenBucketSpec"/>): each bucket key holds its
/// theoretical arrival time in microseconds since 1970 (exact in Lua's doubles). Time comes from
/// Redis <c>TIME</c> inside the script, so gateways with skewed clocks agree. All buckets are
/// checked before any is written: a refusal by a later bucket takes nothing from earlier ones.
/// A bucket key expires once its bucket would be full again (a missing key is a full bucket).</para>
/// <para>KEYS: the n bucket keys, then the quota key when there is a quota (a hash: <c>p</c> =
/// period id, <c>c</c> = count; it expires a day after its period ends).</para>
/// <para>ARGV: n; per bucket its interval and tolerance (µs); the quota limit (0: no quota);
/// the quota period (0 day, 1 week, 2 month).</para>
/// <para>Returns <c>{0}</c> when allowed; <c>{1, i, wait µs, µs until full}</c> when bucket i
/// (1-based) is empty; <c>{2, 0, µs until the next period}</c> when the quota is used up.</para>
/// <para>One Redis node (or a primary with replicas): the keys of one check are not in one hash
/// slot, so Redis Cluster is not supported.</para>
/// <para><c>redis.replicate_commands()</c> lets a script that calls TIME write on Redis 3.2–4
/// (effects replication); Redis 5 and later do that always.</para>
/// </remarks>
internal static class RedisThrottleScript
{
    /// <summary>Calendar periods in Lua, UTC; also run alone by tests to compare with <see cref="QuotaPeriods"/>.</summary>
    public const string PeriodFunctions = """
        local function days_from_civil(y, m, d)
          if m <= 2 then y = y - 1 end
          local era = math.floor(y / 400)
          local yoe = y - era * 400
          local mp = (m + 9) % 12
          local doy = math.floor((153 * mp + 2) / 5) + d - 1
          local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
          return era * 146097 + doe - 719468
        end
        local function civil_from_days(z)
          z = z + 719468
          local era = math.floor(z / 146097)
          local doe = z - era * 146097
          local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
          local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
          local mp = math.floor((5 * doy + 2) / 153)
          local m = mp < 10 and mp + 3 or mp - 9
          local y = yoe + era * 400
          if m <= 2 then y = y + 1 end
          return y, m
        end
        -- period id and seconds until the next period starts; weeks start on Monday (1970-01-01 was a Thursday)
        local function period_of(secs, kind)
          local days = math.floor(secs / 86400)
          if kind == 0 then
            return days, (days + 1) * 86400 - secs
          elseif kind == 1 then
            local week = math.floor((days + 3) / 7)
            return week, ((week + 1) * 7 - 3) * 86400 - secs
          end
          local y, m = civil_from_days(days)
          local ny, nm = y, m + 1
          if nm > 12 then ny, nm = y + 1, 1 end
          return y * 12 + m - 1, days_from_civil(ny, nm, 1) * 86400 - secs
        end

        """;

    public const string Source = PeriodFunctions + """
        if redis.replicate_commands then redis.replicate_commands() end
        local t = redis.call('TIME')
        local secs = tonumber(t[1])
        local now = secs * 1000000 + tonumber(t[2])
        local n = tonumber(ARGV[1])
        local tats = {}
        for i = 1, n do
          local interval = tonumber(ARGV[2 * i])
          local tolerance = tonumber(ARGV[2 * i + 1])
          local tat = tonumber(redis.call('GET', KEYS[i]) or now) or now
          if tat < now then tat = now end
          if tat - now > tolerance then
            return {1, i, tat - tolerance - now, tat - now}
          end
          tats[i] = tat + interval
        end
        local limit = tonumber(ARGV[2 * n + 2])
        if limit > 0 then
          local key = KEYS[n + 1]
          local period, left = period_of(secs, tonumber(ARGV[2 * n + 3]))
          local stored = redis.call('HMGET', key, 'p', 'c')
          local count = 0
          if tonumber(stored[1]) == period then count = tonumber(stored[2]) or 0 end
          if count >= limit then
            return {2, 0, left * 1000000 - tonumber(t[2]), 0}
          end
          redis.call('HSET', key, 'p', period, 'c', count + 1)
          redis.call('EXPIRE', key, left + 86400)
        end
        for i = 1, n do
          redis.call('SET', KEYS[i], string.format('%.0f', tats[i]), 'PX', math.ceil((tats[i] - now) / 1000) + 1000)
        end
        return {0}
        """;
}
