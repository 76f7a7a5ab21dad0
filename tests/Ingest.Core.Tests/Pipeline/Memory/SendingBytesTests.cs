using Ingest.Core.Pipeline;

namespace Ingest.Core.Tests.Pipeline.Memory;

/// <summary>
/// Request bodies being sent are a second copy of their events: together they may hold at most an
/// eighth of the buffer limit, first come first served, and one batch always goes.
/// </summary>
public sealed class SendingBytesTests
{
    private const long Limit = 8000;

    [Fact]
    public async Task Batches_wait_while_the_bytes_being_sent_would_pass_an_eighth_of_the_limit()
    {
        var budget = new BufferBudget(Limit);
        Assert.Equal(1000, budget.SendingLimitBytes);

        await budget.StartSendingAsync(600, CancellationToken.None);
        var second = budget.StartSendingAsync(600, CancellationToken.None);
        var third = budget.StartSendingAsync(100, CancellationToken.None);

        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted, "a small batch does not overtake one already waiting");
        budget.DoneSending(600);
        await second;
        await third;
        Assert.Equal(700, budget.SendingBytes);

        budget.DoneSending(600);
        budget.DoneSending(100);
        Assert.Equal(0, budget.SendingBytes);
    }

    [Fact]
    public async Task A_batch_larger_than_the_limit_goes_alone()
    {
        var budget = new BufferBudget(Limit);

        await budget.StartSendingAsync(5000, CancellationToken.None);
        var next = budget.StartSendingAsync(1, CancellationToken.None);
        Assert.False(next.IsCompleted);

        budget.DoneSending(5000);
        await next;
        Assert.Equal(1, budget.SendingBytes);
    }

    [Fact]
    public async Task A_cancelled_waiter_is_skipped_and_charges_nothing()
    {
        var budget = new BufferBudget(Limit);
        using var cancel = new CancellationTokenSource();
        await budget.StartSendingAsync(900, CancellationToken.None);
        var cancelled = budget.StartSendingAsync(500, cancel.Token);
        var after = budget.StartSendingAsync(300, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(after.IsCompleted);
        budget.DoneSending(900);

        await after;
        Assert.Equal(300, budget.SendingBytes);
    }
}
