using System.Diagnostics.Metrics;
using Ingest.Core.Diagnostics;

namespace Ingest.Core.Pipeline.Resilience;

/// <summary><c>ingest_circuit_state{target}</c>: 0 closed, 1 half-open, 2 open, per batching target.</summary>
public static class CircuitStateGauge
{
    public const string Name = "ingest_circuit_state";

    /// <summary>Registers (or replaces) the gauge's source with <paramref name="targets"/>.</summary>
    public static void Observe(IngestMetrics metrics, IReadOnlyDictionary<string, IEventTarget> targets)
    {
        var writers = targets.Values.OfType<BatchingWriter>()
            .Select(w => (Writer: w, Tag: new KeyValuePair<string, object?>("target", w.Name)))
            .ToArray();
        metrics.ObserveGauge(Name, () => Measure(writers), "Circuit breaker per target: 0 closed, 1 half-open, 2 open.");
    }

    private static IEnumerable<Measurement<long>> Measure((BatchingWriter Writer, KeyValuePair<string, object?> Tag)[] writers)
    {
        foreach (var (writer, tag) in writers)
        {
            yield return new Measurement<long>((long)writer.Circuit, tag);
        }
    }
}
