using Ingest.Core.Idempotency;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Idempotency;

public class LocalIdempotencyTableTests
{
    private static readonly TimeSpan InFlight = TimeSpan.FromSeconds(29);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void First_claim_runs_a_duplicate_waits_and_after_the_answer_gets_it()
    {
        var table = new LocalIdempotencyTable(100, _time);
        var answer = Answer("first");

        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("k", "t1", InFlight).Outcome);
        Assert.Equal(ClaimOutcome.InProgress, table.TryClaim("k", "t2", InFlight).Outcome);
        table.Complete("k", "t1", answer, Window);
        var replay = table.TryClaim("k", "t3", InFlight);

        Assert.Equal(ClaimOutcome.Answered, replay.Outcome);
        Assert.Same(answer, replay.Answer);
    }

    [Fact]
    public void Answer_expires_after_the_window_on_the_time_provider()
    {
        var table = new LocalIdempotencyTable(100, _time);
        table.TryClaim("k", "t1", InFlight);
        table.Complete("k", "t1", Answer("first"), Window);

        _time.Advance(Window - TimeSpan.FromMilliseconds(1));
        Assert.Equal(ClaimOutcome.Answered, table.TryClaim("k", "t2", InFlight).Outcome);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("k", "t3", InFlight).Outcome);
    }

    [Fact]
    public void Released_claim_lets_the_retry_run_and_only_its_owner_can_release_it()
    {
        var table = new LocalIdempotencyTable(100, _time);
        table.TryClaim("k", "owner", InFlight);

        table.Release("k", "someone-else");
        Assert.Equal(ClaimOutcome.InProgress, table.TryClaim("k", "t2", InFlight).Outcome);
        table.Release("k", "owner");
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("k", "t3", InFlight).Outcome);
    }

    [Fact]
    public void A_claim_whose_request_never_ended_expires_after_the_in_flight_time()
    {
        var table = new LocalIdempotencyTable(100, _time);
        table.TryClaim("k", "crashed", InFlight);

        _time.Advance(InFlight - TimeSpan.FromSeconds(1));
        Assert.Equal(ClaimOutcome.InProgress, table.TryClaim("k", "t2", InFlight).Outcome);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("k", "t3", InFlight).Outcome);
    }

    [Fact]
    public void Full_table_forgets_expired_entries_then_the_oldest_answer_but_never_a_running_request()
    {
        var table = new LocalIdempotencyTable(3, _time);
        table.TryClaim("running", "r", TimeSpan.FromHours(1));
        Complete(table, "old");
        _time.Advance(TimeSpan.FromSeconds(1));
        Complete(table, "newer");

        // Full: the oldest answer goes, the running request stays.
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("fourth", "t", InFlight).Outcome);
        Assert.Equal(3, table.Count);
        Assert.Equal(ClaimOutcome.InProgress, table.TryClaim("running", "x", InFlight).Outcome);
        Assert.Equal(ClaimOutcome.Answered, table.TryClaim("newer", "x", InFlight).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("old", "x", InFlight).Outcome);
    }

    [Fact]
    public void Table_of_only_running_requests_reports_full_until_one_expires()
    {
        var table = new LocalIdempotencyTable(2, _time);
        table.TryClaim("a", "t", InFlight);
        table.TryClaim("b", "t", InFlight);

        Assert.Equal(ClaimOutcome.Full, table.TryClaim("c", "t", InFlight).Outcome);
        _time.Advance(InFlight);
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("c", "t", InFlight).Outcome);
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void Table_stays_bounded_under_many_keys()
    {
        var table = new LocalIdempotencyTable(1000, _time);
        for (var i = 0; i < 50_000; i++)
        {
            var key = $"k{i}";
            Assert.Equal(ClaimOutcome.Claimed, table.TryClaim(key, "t", InFlight).Outcome);
            table.Complete(key, "t", Answer("x"), Window);
        }
        Assert.Equal(1000, table.Count);
        Assert.Equal(ClaimOutcome.Answered, table.TryClaim("k49999", "t", InFlight).Outcome);
        Assert.Equal(ClaimOutcome.Claimed, table.TryClaim("k0", "t", InFlight).Outcome);
    }

    [Fact]
    public void Answer_round_trips_through_its_stored_form()
    {
        var answer = new IdempotentAnswer(202, Guid.CreateVersion7(), "application/json; charset=utf-8", "{\"requestId\":\"x\",\"accepted\":1}"u8.ToArray());

        var decoded = IdempotentAnswer.Decode(answer.Encode());

        Assert.NotNull(decoded);
        Assert.Equal((answer.Status, answer.RequestId, answer.ContentType), (decoded.Status, decoded.RequestId, decoded.ContentType));
        Assert.Equal(answer.Body, decoded.Body);
        Assert.Null(IdempotentAnswer.Decode([1, 2, 3]));
        var withoutType = IdempotentAnswer.Decode(new IdempotentAnswer(204, Guid.Empty, null, []).Encode());
        Assert.Equal((204, (string?)null, 0), (withoutType!.Status, withoutType.ContentType, withoutType.Body.Length));
    }

    private void Complete(LocalIdempotencyTable table, string key)
    {
        table.TryClaim(key, "t", InFlight);
        table.Complete(key, "t", Answer(key), Window);
    }

    private static IdempotentAnswer Answer(string text) => new(202, Guid.CreateVersion7(), "application/json", System.Text.Encoding.UTF8.GetBytes(text));
}
