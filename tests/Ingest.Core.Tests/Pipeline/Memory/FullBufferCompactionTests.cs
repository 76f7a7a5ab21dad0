using System.Diagnostics;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Pipeline.Memory;

/// <summary>
/// A full buffer compacts the heap (returning free memory to the OS), at most once per
/// <see cref="BufferBudget.CompactionInterval"/> while it stays full; a buffer with room never does.
/// </summary>
public sealed class FullBufferCompactionTests
{
    private int _compactions;

    [Fact]
    public async Task A_full_buffer_compacts_at_most_once_per_interval()
    {
        var time = new FakeTimeProvider();
        var budget = new BufferBudget(1000, time, () => Interlocked.Increment(ref _compactions), () => { });
        Assert.True(budget.TryReserve(900));

        Assert.False(budget.HasRoomFor(200));
        await UntilCompactionsAsync(1);

        time.Advance(BufferBudget.CompactionInterval - TimeSpan.FromSeconds(1));
        Assert.False(budget.HasRoomFor(200));
        Assert.False(budget.TryReserve(200));

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(budget.TryReserve(200));
        await UntilCompactionsAsync(2);

        time.Advance(BufferBudget.CompactionInterval * 3);
        Assert.True(budget.HasRoomFor(100));
        Assert.True(budget.TryReserve(100));
        Assert.Equal(2, Volatile.Read(ref _compactions));
        Assert.Equal(1000, budget.UsedBytes);
    }

    [Fact]
    public async Task A_buffer_with_room_never_compacts()
    {
        var budget = new BufferBudget(1000, new FakeTimeProvider(), () => Interlocked.Increment(ref _compactions), () => { });

        Assert.True(budget.HasRoomFor(1000));
        Assert.True(budget.TryReserve(600));
        Assert.True(budget.TryReserve(400));

        // Compactions run in queue order: the one the full buffer starts now is the first.
        Assert.False(budget.HasRoomFor(1));
        await UntilCompactionsAsync(1);
    }

    private async Task UntilCompactionsAsync(int expected)
    {
        var deadline = Stopwatch.StartNew();
        while (Volatile.Read(ref _compactions) < expected)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), $"{expected} compactions expected, {_compactions} ran");
            await Task.Delay(10);
        }
        Assert.Equal(expected, Volatile.Read(ref _compactions));
    }
}
