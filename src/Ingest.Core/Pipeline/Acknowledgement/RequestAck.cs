using Ingest.Core.Events;
using Ingest.Core.Pipeline.Wal;
using Ingest.Core.Requests;

namespace Ingest.Core.Pipeline.Acknowledgement;

/// <summary>Why a request whose events were queued is not acknowledged after all.</summary>
public enum AckFailure : byte
{
    /// <summary>Every event was refused by the backend or dead-lettered (<c>ack: delivered</c>).</summary>
    NotDelivered,

    /// <summary>The route's timeout passed first.</summary>
    TimedOut,

    /// <summary>The write-ahead log could not write or fsync (<c>ack: durable</c>).</summary>
    WalFailed,
}

/// <summary>
/// The route's target as one request of a <c>durable</c> or <c>delivered</c> route sees it:
/// <see cref="TryEnqueue"/> appends the event to the write-ahead log first (durable) and queues
/// it, remembering what the answer must wait for: the group commits covering the request's events
/// (durable) or the backend's confirmation of each of them (delivered; split items are awaited
/// together). <c>memory</c> routes get none (<see cref="For"/> returns null) and allocate nothing.
/// </summary>
public sealed class RequestAck : IEventTarget
{
    private const string NotDeliveredReason = "the backend refused the event or it was dead-lettered";
    private const string TimedOutReason = "no acknowledgement within the route timeout";
    private static readonly Rejection NotDeliveredHttpV2 = new(502, "Internal Server Error", logReason: NotDeliveredReason);
    private static readonly Rejection NotDeliveredRestV1 = new(502, "Internal server error", logReason: NotDeliveredReason);
    private static readonly Rejection TimedOutRestV1 = new(504, "Endpoint request timed out", logReason: TimedOutReason);
    private static readonly Rejection TimedOutHttpV2 = Requests.Rejection.ServiceUnavailable.WithReason(TimedOutReason);
    private static readonly Rejection WalFailed = Requests.Rejection.ServiceUnavailable.WithReason("write-ahead log write failed");

    private readonly IEventTarget _target;
    private readonly WriteAheadLog? _wal;
    private readonly bool _durable;
    private Task? _commit;
    private List<Task>? _moreCommits;
    private List<(int Item, Task<bool> Delivered)>? _deliveries;

    private RequestAck(IEventTarget target, WriteAheadLog? wal, bool durable)
    {
        _target = target;
        _wal = wal;
        _durable = durable;
    }

    /// <summary>
    /// The per-request view of <paramref name="target"/> for a route with <c>ack: <paramref name="ack"/></c>;
    /// null for <c>memory</c>. <paramref name="wal"/> is null while no log is open (durable events then get 503).
    /// </summary>
    public static RequestAck? For(string ack, IEventTarget target, WriteAheadLog? wal) => ack switch
    {
        "durable" => new RequestAck(target, wal, durable: true),
        "delivered" => new RequestAck(target, wal, durable: false),
        _ => null,
    };

    /// <summary>Split index of the next event queued (reported when the backend refuses it).</summary>
    public int Item { get; set; }

    public string Name => _target.Name;

    public int QueuedCount => _target.QueuedCount;

    /// <summary>The completion each event of this request must carry (<see cref="IngestEvent.Delivered"/>).</summary>
    public TaskCompletionSource<bool> NewDelivered() => _durable
        // Completed by the batching writer, which then writes the done marker synchronously; nothing else waits on it.
        ? new TaskCompletionSource<bool>()
        // The request resumes on the thread pool, not on the writer's send loop.
        : new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Queues an event created with <see cref="NewDelivered"/>.</summary>
    public EnqueueResult TryEnqueue(IngestEvent e)
    {
        var delivered = e.Delivered ?? throw new ArgumentException("Events of durable and delivered routes carry a Delivered completion.", nameof(e));
        if (!_durable)
        {
            var queued = _target.TryEnqueue(e);
            if (queued == EnqueueResult.Accepted)
            {
                (_deliveries ??= []).Add((Item, delivered.Task));
            }
            return queued;
        }
        if (_wal is null)
        {
            return EnqueueResult.Closed;
        }
        var result = _wal.TryAppend(e, _target.Name, out var commit);
        if (result != EnqueueResult.Accepted)
        {
            return result;
        }
        result = _target.TryEnqueue(e);
        if (result != EnqueueResult.Accepted)
        {
            // Refused: the record must not be replayed.
            delivered.TrySetResult(false);
            return result;
        }
        // A request's events usually share one group commit: keep each distinct task once.
        if (_commit is null)
        {
            _commit = commit;
        }
        else if (!ReferenceEquals(_commit, commit) && (_moreCommits is null || !ReferenceEquals(_moreCommits[^1], commit)))
        {
            (_moreCommits ??= []).Add(commit);
        }
        return result;
    }

    /// <summary>
    /// Waits for the commits or deliveries, at most <paramref name="timeout"/>. Failure is null when
    /// the request can be acknowledged; NotDelivered then lists the split items the backend refused
    /// while others were delivered (they go into the 202's <c>rejected</c> list).
    /// </summary>
    public async Task<(AckFailure? Failure, List<int>? NotDelivered)> WaitAsync(TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        try
        {
            if (_commit is not null)
            {
                var all = _moreCommits is null ? _commit : Task.WhenAll([_commit, .. _moreCommits]);
                await all.WaitAsync(timeout, timeProvider, cancellationToken);
            }
            if (_deliveries is null)
            {
                return (null, null);
            }
            if (_deliveries.Count == 1)
            {
                await _deliveries[0].Delivered.WaitAsync(timeout, timeProvider, cancellationToken);
            }
            else
            {
                await Task.WhenAll(_deliveries.Select(d => d.Delivered)).WaitAsync(timeout, timeProvider, cancellationToken);
            }
        }
        catch (TimeoutException)
        {
            return (AckFailure.TimedOut, null);
        }
        catch (IOException)
        {
            return (AckFailure.WalFailed, null);
        }
        List<int>? notDelivered = null;
        foreach (var (item, delivered) in _deliveries)
        {
            if (!delivered.Result)
            {
                (notDelivered ??= []).Add(item);
            }
        }
        return notDelivered is not null && notDelivered.Count == _deliveries.Count ? (AckFailure.NotDelivered, null) : (null, notDelivered);
    }

    /// <summary>The answer for a failure, per DESIGN.md's status table and the compat mode.</summary>
    public static Rejection RejectionFor(AckFailure failure, bool restV1) => failure switch
    {
        AckFailure.NotDelivered => restV1 ? NotDeliveredRestV1 : NotDeliveredHttpV2,
        AckFailure.TimedOut => restV1 ? TimedOutRestV1 : TimedOutHttpV2,
        _ => WalFailed,
    };

    /// <summary>The message of a split item the backend refused.</summary>
    public static string NotDeliveredMessage(bool restV1) => (restV1 ? NotDeliveredRestV1 : NotDeliveredHttpV2).Message;

    /// <summary>Draining and disposal belong to the real target, not to one request's view of it.</summary>
    public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
