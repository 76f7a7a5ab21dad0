using System.Globalization;

namespace Ingest.FuzzTests.Engine;

/// <summary>
/// How long each target runs: <c>FUZZ_EXECUTIONS</c> inputs (default 100,000) or
/// <c>FUZZ_SECONDS</c> seconds (default 30), whichever comes first.
/// </summary>
public sealed record FuzzBudget(long Executions, TimeSpan Duration)
{
    public const long DefaultExecutions = 100_000;
    public const double DefaultSeconds = 30;

    public static FuzzBudget FromEnvironment() => new(
        long.TryParse(Environment.GetEnvironmentVariable("FUZZ_EXECUTIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var executions) && executions > 0 ? executions : DefaultExecutions,
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : DefaultSeconds));
}
