using Ingest.Core.Aws;

namespace Ingest.Core.Tests.Aws;

public sealed class PooledByteBufferTests
{
    [Fact]
    public void Large_buffers_returned_after_a_burst_stay_within_the_retained_limit()
    {
        // Twelve calls of ~7 MB in flight at once (more than the default 8), then all returned.
        var writers = Enumerable.Range(0, 12).Select(_ => new PooledByteBuffer(7_000_000)).ToList();
        foreach (var writer in writers)
        {
            writer.GetSpan(7_000_000).Fill(1);
            writer.Advance(7_000_000);
        }
        foreach (var writer in writers)
        {
            writer.Dispose();
        }

        Assert.InRange(PooledByteBuffer.LargeArrays.RetainedBytes, 0, PooledByteBuffer.LargeArrays.RetainedBytesLimit);
    }

    [Fact]
    public void Kept_large_buffers_are_dropped_once_none_was_rented_for_a_period()
    {
        new PooledByteBuffer(3_000_000).Dispose();

        // The first check sees the rent above (or one of a concurrent test), a later one an idle period.
        for (var i = 0; i < 5 && PooledByteBuffer.LargeArrays.RetainedBytes > 0; i++)
        {
            PooledByteBuffer.LargeArrays.TrimIfIdle();
        }

        Assert.Equal(0, PooledByteBuffer.LargeArrays.RetainedBytes);
    }

    [Fact]
    public void Growing_past_the_first_array_keeps_what_was_written()
    {
        using var writer = new PooledByteBuffer(256);
        var data = Enumerable.Range(0, 3 * 1024 * 1024).Select(i => (byte)i).ToArray();
        for (var offset = 0; offset < data.Length; offset += 100_000)
        {
            var chunk = data.AsSpan(offset, Math.Min(100_000, data.Length - offset));
            chunk.CopyTo(writer.GetSpan(chunk.Length));
            writer.Advance(chunk.Length);
        }

        Assert.Equal(data, writer.WrittenSpan.ToArray());
    }
}
