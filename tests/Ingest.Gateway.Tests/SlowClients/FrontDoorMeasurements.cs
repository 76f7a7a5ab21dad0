namespace Ingest.Gateway.Tests.SlowClients;

/// <summary>
/// Tests that measure the process (RSS, latency percentiles) run alone, after the parallel ones,
/// so other tests' gateways do not blur the figures.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FrontDoorMeasurements
{
    public const string Name = "Front door measurements";
}
