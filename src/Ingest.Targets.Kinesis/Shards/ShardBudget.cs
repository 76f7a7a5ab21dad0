namespace Ingest.Targets.Kinesis;

/// <summary>
/// The write budget of one shard: two token buckets, records and bytes, on
/// <see cref="TimeProvider"/> timestamps. Kinesis counts a shard's writes per second; a bucket that
/// refills at the full limit and holds a full second could pass twice the limit in one second, so
/// the buckets refill at 90% of the limit and hold 10% of it: no one-second window, wherever it
/// starts, sees more than the limit. A record larger than the bytes bucket may go when the bucket
/// is full and leaves it in debt (records up to 10 MiB exist).
/// </summary>
internal sealed class ShardBudget
{
    private const double RefillShare = 0.9;
    private const double BurstShare = 0.1;

    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly double _recordRate;
    private readonly double _byteRate;
    private readonly double _recordBurst;
    private readonly double _byteBurst;
    private double _records;
    private double _bytes;
    private long _stamp;
    private long _lastRefused = long.MinValue;

    public ShardBudget(int recordsPerSecond, long bytesPerSecond, TimeProvider time)
    {
        _time = time;
        _recordRate = recordsPerSecond * RefillShare;
        _byteRate = bytesPerSecond * RefillShare;
        _recordBurst = Math.Max(1, recordsPerSecond * BurstShare);
        _byteBurst = Math.Max(1, bytesPerSecond * BurstShare);
        _records = _recordBurst;
        _bytes = _byteBurst;
        _stamp = time.GetTimestamp();
    }

    /// <summary>Takes one record of <paramref name="bytes"/>; false when the shard has no budget for it now.</summary>
    public bool TryTake(int bytes)
    {
        lock (_gate)
        {
            var now = Refill();
            if (_records >= 1 && (_bytes >= bytes || _bytes >= _byteBurst))
            {
                _records -= 1;
                _bytes -= bytes;
                return true;
            }
            _lastRefused = now;
            return false;
        }
    }

    /// <summary>Time until the shard has budget for <paramref name="records"/> records of <paramref name="bytes"/> bytes in all (capped at one bucket's worth).</summary>
    public TimeSpan TimeUntil(int records, long bytes)
    {
        lock (_gate)
        {
            Refill();
            var recordWait = (Math.Min(records, _recordBurst) - _records) / _recordRate;
            var byteWait = (Math.Min(bytes, _byteBurst) - _bytes) / _byteRate;
            var seconds = Math.Max(0, Math.Max(recordWait, byteWait));
            // At least a millisecond: a timer cannot wait less, and a spin would only burn a core.
            return TimeSpan.FromSeconds(Math.Max(seconds, 0.001));
        }
    }

    /// <summary>Kinesis refused a record for this shard: spend what is left so the next records wait for a refill.</summary>
    public void Exhaust()
    {
        lock (_gate)
        {
            _lastRefused = Refill();
            _records = Math.Min(_records, 0);
            _bytes = Math.Min(_bytes, 0);
        }
    }

    /// <summary>True when the budget ran out within <paramref name="window"/> before now: the shard is hot.</summary>
    public bool RefusedWithin(TimeSpan window)
    {
        long refused;
        lock (_gate)
        {
            refused = _lastRefused;
        }
        return refused != long.MinValue && _time.GetElapsedTime(refused) <= window;
    }

    private long Refill()
    {
        var now = _time.GetTimestamp();
        var seconds = (now - _stamp) / (double)_time.TimestampFrequency;
        if (seconds > 0)
        {
            _records = Math.Min(_recordBurst, _records + (seconds * _recordRate));
            _bytes = Math.Min(_byteBurst, _bytes + (seconds * _byteRate));
            _stamp = now;
        }
        return now;
    }
}
