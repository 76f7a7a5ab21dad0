using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Ingest.Core.Throttling;

/// <summary>What the shared throttle script decided.</summary>
internal readonly record struct SharedVerdict(int Outcome, int Bucket, long WaitUs, long UntilFullUs)
{
    public const int Allowed = 0;
    public const int Throttled = 1;
    public const int QuotaExceeded = 2;
}

/// <summary>
/// One Redis endpoint used for shared limits: the connection (reconnects by itself), the loaded
/// script, and a circuit so that requests do not each wait on a Redis that is down or hung.
/// </summary>
/// <remarks>
/// Circuit: closed, every check goes to Redis. A failure (timeout, connection, server error)
/// opens it for <see cref="RetryInterval"/>; meanwhile checks do not touch Redis and
/// <c>onFailure</c> decides. After that one check probes Redis while the others still fall
/// back; its success closes the circuit. A restored connection probes at once, so shared
/// limits resume within about a second of Redis answering again.
/// </remarks>
internal sealed partial class RedisRateLimiter : IAsyncDisposable, IDisposable
{
    private const int Closed = 0;
    private const int Open = 1;
    private const int Probing = 2;

    private static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(1);
    private static readonly KeyValuePair<string, object?> TimeoutReason = new("reason", "timeout");
    private static readonly KeyValuePair<string, object?> ConnectionReason = new("reason", "connection");
    private static readonly KeyValuePair<string, object?> ServerReason = new("reason", "server_error");
    private static readonly KeyValuePair<string, object?> CircuitOpenReason = new("reason", "circuit_open");

    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IngestMetrics? _metrics;
    private readonly Task<ConnectionMultiplexer> _connecting;
    private ConnectionMultiplexer? _connection;
    private byte[]? _scriptHash;
    private int _state;
    private long _retryAt;
    private long _openedAt;

    public RedisRateLimiter(string endpoint, TimeSpan timeout, TimeProvider time, ILogger logger, IngestMetrics? metrics)
    {
        Endpoint = endpoint;
        _timeout = timeout;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        var milliseconds = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        var options = new ConfigurationOptions
        {
            EndPoints = { endpoint },
            AbortOnConnectFail = false,
            ConnectTimeout = Math.Max(milliseconds, 250),
            SyncTimeout = milliseconds,
            AsyncTimeout = milliseconds,
            ConnectRetry = 1,
            KeepAlive = 1,
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            ReconnectRetryPolicy = new LinearRetry(250),
            // While disconnected, fail at once instead of queueing checks until the connection returns.
            BacklogPolicy = BacklogPolicy.FailFast,
            ClientName = "ingest-gateway",
            // No pub/sub: skip the subscription connection SE.Redis opens for its config channel.
            ConfigurationChannel = "",
        };
        _connecting = ConnectAsync(options);
    }

    public string Endpoint { get; }

    /// <summary>True while checks go to Redis (the circuit is closed).</summary>
    public bool Available => Volatile.Read(ref _state) == Closed;

    private async Task<ConnectionMultiplexer> ConnectAsync(ConfigurationOptions options)
    {
        var connection = await ConnectionMultiplexer.ConnectAsync(options).ConfigureAwait(false);
        connection.ConnectionFailed += (_, e) => Failed(e.Exception ?? new RedisConnectionException(e.FailureType, "connection failed"));
        connection.ConnectionRestored += (_, _) => Volatile.Write(ref _retryAt, 0);
        _connection = connection;
        return connection;
    }

    /// <summary>
    /// False when the circuit is open: the caller falls back without waiting. When it returns
    /// true, the caller runs the check and reports <see cref="Succeeded"/> or <see cref="Failed"/>.
    /// </summary>
    public bool TryEnter()
    {
        var state = Volatile.Read(ref _state);
        if (state == Closed)
        {
            return true;
        }
        if (state == Open && _time.GetTimestamp() >= Volatile.Read(ref _retryAt)
            && Interlocked.CompareExchange(ref _state, Probing, Open) == Open)
        {
            return true;
        }
        CountError(CircuitOpenReason);
        return false;
    }

    /// <summary>Runs the throttle script (EVALSHA; loads it once, and again after a Redis restart).</summary>
    public async Task<SharedVerdict> EvaluateAsync(RedisKey[] keys, RedisValue[] values)
    {
        var connection = _connection ?? await _connecting.WaitAsync(_timeout, _time).ConfigureAwait(false);
        if (!connection.IsConnected)
        {
            // Down or reconnecting: sending now could wait on the reconnect; fail at once instead.
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"not connected to {Endpoint}");
        }
        var database = connection.GetDatabase();
        var hash = _scriptHash ?? await LoadScriptAsync(connection).ConfigureAwait(false);
        RedisResult result;
        try
        {
            result = await database.ScriptEvaluateAsync(hash, keys, values).WaitAsync(_timeout, _time).ConfigureAwait(false);
        }
        catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
        {
            // Redis restarted (or SCRIPT FLUSH): load it again, once.
            hash = await LoadScriptAsync(connection).ConfigureAwait(false);
            result = await database.ScriptEvaluateAsync(hash, keys, values).WaitAsync(_timeout, _time).ConfigureAwait(false);
        }
        var answer = (RedisResult[])result!;
        return new SharedVerdict(
            (int)answer[0],
            answer.Length > 1 ? (int)answer[1] : 0,
            answer.Length > 2 ? (long)answer[2] : 0,
            answer.Length > 3 ? (long)answer[3] : 0);
    }

    /// <summary>Reads a quota hash (period id, count) without counting; throws when Redis cannot answer.</summary>
    public async Task<(long? Period, long Count)> ReadQuotaAsync(RedisKey key)
    {
        var connection = _connection ?? await _connecting.WaitAsync(_timeout, _time).ConfigureAwait(false);
        if (!Available || !connection.IsConnected)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"not connected to {Endpoint}");
        }
        var fields = await connection.GetDatabase().HashGetAsync(key, ["p", "c"]).WaitAsync(_timeout, _time).ConfigureAwait(false);
        return (fields[0].IsNull ? null : (long)fields[0], fields[1].IsNull ? 0 : (long)fields[1]);
    }

    /// <summary>The shared connection's database, for other shared state (idempotency keys); throws when not connected.</summary>
    public async Task<IDatabase> DatabaseAsync()
    {
        var connection = _connection ?? await _connecting.WaitAsync(_timeout, _time).ConfigureAwait(false);
        if (!connection.IsConnected)
        {
            throw new RedisConnectionException(ConnectionFailureType.UnableToConnect, $"not connected to {Endpoint}");
        }
        return connection.GetDatabase();
    }

    /// <summary>Longest wait for one Redis call (redis.timeout).</summary>
    public TimeSpan Timeout => _timeout;

    private async Task<byte[]> LoadScriptAsync(ConnectionMultiplexer connection)
    {
        var server = connection.GetServer(connection.GetEndPoints()[0]);
        var hash = await server.ScriptLoadAsync(RedisThrottleScript.Source).WaitAsync(_timeout, _time).ConfigureAwait(false);
        _scriptHash = hash;
        return hash;
    }

    /// <summary>A check answered: close the circuit.</summary>
    public void Succeeded()
    {
        if (Volatile.Read(ref _state) != Closed && Interlocked.Exchange(ref _state, Closed) != Closed)
        {
            var down = _time.GetElapsedTime(Volatile.Read(ref _openedAt));
            LogResumed(_logger, Endpoint, down.TotalSeconds);
        }
    }

    /// <summary>A check or the connection failed: open the circuit for a while and count the error.</summary>
    public void Failed(Exception error)
    {
        CountError(error switch
        {
            TimeoutException or RedisTimeoutException => TimeoutReason,
            RedisServerException => ServerReason,
            _ => ConnectionReason,
        });
        var now = _time.GetTimestamp();
        Volatile.Write(ref _retryAt, now + (long)(RetryInterval.TotalSeconds * _time.TimestampFrequency));
        var previous = Interlocked.Exchange(ref _state, Open);
        if (previous == Closed)
        {
            Volatile.Write(ref _openedAt, now);
            LogUnavailable(_logger, Endpoint, error.GetType().Name, error.Message);
        }
    }

    private void CountError(KeyValuePair<string, object?> reason)
    {
        if (_metrics is { } metrics && metrics.LimiterErrors.Enabled)
        {
            metrics.LimiterErrors.Add(1, reason);
        }
    }

    public void Dispose()
    {
        if (_connecting.IsCompletedSuccessfully)
        {
            _connecting.Result.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            var connection = await _connecting.ConfigureAwait(false);
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        catch (RedisException)
        {
            // Never connected: nothing to close.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shared rate limiter at {Endpoint} unavailable ({Error}: {Detail}); redis.onFailure applies until it answers again")]
    private static partial void LogUnavailable(ILogger logger, string endpoint, string error, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shared rate limiter at {Endpoint} answering again after {Seconds:0.0} s")]
    private static partial void LogResumed(ILogger logger, string endpoint, double seconds);
}
