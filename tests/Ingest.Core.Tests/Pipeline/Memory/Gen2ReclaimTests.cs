using System.Diagnostics;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;

namespace Ingest.Core.Tests.Pipeline.Memory;

/// <summary>
/// Events that waited in the queue long enough to reach gen2 die there; once a quarter of the
/// limit's worth has died in gen2, the budget starts a gen2 collection instead of letting the heap
/// grow to about twice the buffer before the GC gets to it. Events that die young start none.
/// </summary>
[Collection(HeapMeasurementCollection.Name)]
public sealed class Gen2ReclaimTests
{
    private const long Limit = 4L * 1024 * 1024;

    [Fact]
    public async Task Releasing_a_quarter_of_the_limit_of_gen2_events_starts_a_gen2_collection()
    {
        var budget = new BufferBudget(Limit);
        var events = Reserve(budget, count: 40, bodyBytes: 32 * 1024);
        GC.Collect();
        GC.Collect();
        Assert.All(events, e => Assert.Equal(GC.MaxGeneration, GC.GetGeneration(e)));
        var before = GC.CollectionCount(GC.MaxGeneration);

        // 40 x 32 KiB is 1.25 MiB, past a quarter of 4 MiB.
        foreach (var e in events)
        {
            budget.Release(e);
        }

        var deadline = Stopwatch.StartNew();
        while (GC.CollectionCount(GC.MaxGeneration) == before)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(10), "no gen2 collection after a quarter of the limit died in gen2");
            await Task.Delay(10);
        }
        Assert.Equal(0, budget.UsedBytes);
    }

    [Fact]
    public void Events_that_die_young_start_no_collection()
    {
        // Counts the collections this budget starts: other tests' work may collect gen2 meanwhile.
        var started = 0;
        var budget = new BufferBudget(Limit, TimeProvider.System, () => { }, () => Interlocked.Increment(ref started));

        // Twice the limit, a quarter at a time: all in gen0, none reaches gen2.
        for (var round = 0; round < 8; round++)
        {
            foreach (var e in Reserve(budget, count: 8, bodyBytes: 32 * 1024))
            {
                budget.Release(e);
            }
        }

        Assert.Equal(0, Volatile.Read(ref started));
        Assert.Equal(0, budget.UsedBytes);
    }

    private static List<IngestEvent> Reserve(BufferBudget budget, int count, int bodyBytes)
    {
        var events = new List<IngestEvent>(count);
        for (var i = 0; i < count; i++)
        {
            var e = new IngestEvent { Id = Guid.CreateVersion7(), ReceivedAtMs = 0, RouteKey = "POST /e", Body = new byte[bodyBytes] };
            Assert.True(budget.TryReserve(e));
            events.Add(e);
        }
        return events;
    }
}
