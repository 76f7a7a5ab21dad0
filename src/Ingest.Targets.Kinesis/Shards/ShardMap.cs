namespace Ingest.Targets.Kinesis;

/// <summary>One open shard: its id and hash key range (both bounds included).</summary>
/// <param name="ShardId">e.g. <c>shardId-000000000003</c>.</param>
/// <param name="StartingHashKey">Lowest hash key of the shard.</param>
/// <param name="EndingHashKey">Highest hash key of the shard.</param>
public sealed record ShardRange(string ShardId, UInt128 StartingHashKey, UInt128 EndingHashKey);

/// <summary>
/// The open shards of a stream, sorted by hash key range, as read with ListShards. Immutable: a
/// refresh builds a new map and swaps it in.
/// </summary>
public sealed class ShardMap
{
    private readonly ShardRange[] _shards;

    /// <param name="openShards">Open shards; their ranges must not overlap.</param>
    public ShardMap(IEnumerable<ShardRange> openShards)
    {
        _shards = [.. openShards.OrderBy(s => s.StartingHashKey)];
    }

    /// <summary>A map with no shards (nothing known yet): every lookup misses.</summary>
    public static ShardMap Empty { get; } = new([]);

    /// <summary>Open shards, lowest range first.</summary>
    public IReadOnlyList<ShardRange> Shards => _shards;

    /// <summary>Number of open shards.</summary>
    public int Count => _shards.Length;

    /// <summary>Index in <see cref="Shards"/> of the shard holding <paramref name="hashKey"/>, or -1 when no open shard covers it.</summary>
    public int IndexOf(UInt128 hashKey)
    {
        int low = 0, high = _shards.Length - 1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            var shard = _shards[mid];
            if (hashKey < shard.StartingHashKey)
            {
                high = mid - 1;
            }
            else if (hashKey > shard.EndingHashKey)
            {
                low = mid + 1;
            }
            else
            {
                return mid;
            }
        }
        return -1;
    }
}
