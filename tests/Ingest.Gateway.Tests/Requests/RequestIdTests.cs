using System.Collections.Concurrent;
using Ingest.Gateway.Requests;

namespace Ingest.Gateway.Tests.Requests;

/// <summary><see cref="RequestId"/>: RFC 9562 UUIDv7, time-ordered and unique.</summary>
public class RequestIdTests
{
    [Fact]
    public void The_id_is_a_version_7_uuid_carrying_the_millisecond()
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(1_795_644_884_123);

        var id = RequestId.NewVersion7(time);

        Assert.Equal(7, id.Version);
        var bytes = id.ToByteArray(bigEndian: true);
        Assert.Equal(0b10, bytes[8] >> 6);
        var unixMs = ((long)bytes[0] << 40) | ((long)bytes[1] << 32) | ((long)bytes[2] << 24) | ((long)bytes[3] << 16) | ((long)bytes[4] << 8) | bytes[5];
        Assert.Equal(1_795_644_884_123, unixMs);
        // Same layout as the runtime's own UUIDv7: the first 48 bits are the time.
        Assert.Equal(Guid.CreateVersion7(time).ToString()[..13], id.ToString()[..13]);
    }

    [Fact]
    public void Ids_of_later_milliseconds_sort_after_earlier_ones()
    {
        var start = DateTimeOffset.FromUnixTimeMilliseconds(1_795_644_884_000);

        var ids = Enumerable.Range(0, 1000).Select(i => RequestId.NewVersion7(start.AddMilliseconds(i)).ToString()).ToList();

        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public void Ids_of_one_millisecond_from_many_threads_are_unique()
    {
        // 4 threads x 50,000 ids in the same millisecond: only the 74 random bits tell them apart.
        var time = DateTimeOffset.FromUnixTimeMilliseconds(1_795_644_884_123);
        var ids = new ConcurrentDictionary<Guid, byte>();

        Parallel.For(0, 4, new ParallelOptions { MaxDegreeOfParallelism = 4 }, _ =>
        {
            for (var i = 0; i < 50_000; i++)
            {
                Assert.True(ids.TryAdd(RequestId.NewVersion7(time), 0));
            }
        });

        Assert.Equal(200_000, ids.Count);
    }

    [Fact]
    public void A_time_before_1970_is_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RequestId.NewVersion7(DateTimeOffset.FromUnixTimeMilliseconds(-1)));
    }
}
