using System.Collections.Concurrent;
using Ingest.Core.Configuration;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;

namespace Ingest.Gateway.Tests.Infrastructure;

/// <summary>
/// A target kind (<c>type: recording</c>) whose sender keeps every delivered event in memory, can
/// refuse chosen events for good (sender fault), and can be held shut to simulate a backend that
/// stopped taking events.
/// </summary>
internal sealed class RecordingTargetKind : ITargetKind, IBatchSender
{
    private volatile TaskCompletionSource _open = NewOpenGate();

    public string Type => "recording";

    public ConcurrentDictionary<Guid, IngestEvent> Delivered { get; } = new();

    /// <summary>Events for which this returns true are refused (EntryOutcome.Rejected). Default: none.</summary>
    public Func<IngestEvent, bool> Refuse { get; set; } = _ => false;

    public BatchLimits Limits => new(10, 1024 * 1024, 256 * 1024);

    /// <summary>Blocks every send until <see cref="Open"/>.</summary>
    public void Close() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _open.TrySetResult();

    public BatchLimits ServiceLimits(TargetOptions options) => Limits;

    public void Validate(string name, TargetOptions options, ICollection<string> errors)
    {
    }

    public IEnumerable<string> RequiredHeaders(TargetOptions options) => [];

    public Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken) =>
        Task.FromResult<IBatchSender>(this);

    public int MeasureWireBytes(IngestEvent e) => e.Body.Length;

    public async Task SendAsync(IReadOnlyList<IngestEvent> batch, EntryOutcome[] outcomes, CancellationToken cancellationToken)
    {
        await _open.Task.WaitAsync(cancellationToken);
        for (var i = 0; i < batch.Count; i++)
        {
            if (Refuse(batch[i]))
            {
                outcomes[i] = EntryOutcome.Rejected;
                continue;
            }
            Delivered[batch[i].Id] = batch[i];
            outcomes[i] = EntryOutcome.Delivered;
        }
    }

    private static TaskCompletionSource NewOpenGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }
}
