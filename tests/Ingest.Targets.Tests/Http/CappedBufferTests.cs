using Ingest.Targets.Http;

namespace Ingest.Targets.Tests.Http;

public sealed class CappedBufferTests
{
    [Fact]
    public async Task Every_kind_of_write_is_kept_up_to_the_cap_and_refused_past_it()
    {
        using var buffer = new HttpTarget.CappedBuffer(10);

        buffer.Write([1, 2], 0, 2);
        buffer.Write(new ReadOnlySpan<byte>([3, 4]));
        await buffer.WriteAsync(new ReadOnlyMemory<byte>([5, 6]));
        await buffer.WriteAsync(new byte[] { 7, 8 }.AsMemory(0, 2));
        buffer.WriteByte(9);

        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, buffer.ToArray());
        Assert.False(buffer.Overflowed);
        Assert.Throws<IOException>(() => buffer.Write(new ReadOnlySpan<byte>([10, 11])));
        Assert.True(buffer.Overflowed);
        Assert.Equal(9, buffer.Length);
    }
}
