using System.Globalization;

namespace Ingest.FuzzTests.Engine;

/// <summary>
/// How long each target runs: <c>FUZZ_EXECUTIONS</c> inputs (default 100,000) or
/// <c>FUZZ_SECONDS</c> seconds (default 30), whichever comes first, and where the inputs come from:
/// <c>FUZZ_SEED</c> (default <see cref="DefaultSeed"/>) makes a run repeatable, so a test run
/// fails only when the code changed; <c>FUZZ_SEED=random</c> explores new inputs on every run
/// (what <c>scripts/fuzz.sh</c> does).
/// </summary>
public sealed record FuzzBudget(long Executions, TimeSpan Duration, ulong? Seed)
{
    public const long DefaultExecutions = 100_000;
    public const double DefaultSeconds = 30;
    public const ulong DefaultSeed = 20_261_126;

    public static FuzzBudget FromEnvironment() => new(
        long.TryParse(Environment.GetEnvironmentVariable("FUZZ_EXECUTIONS"), NumberStyles.None, CultureInfo.InvariantCulture, out var executions) && executions > 0 ? executions : DefaultExecutions,
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("FUZZ_SECONDS"), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds > 0 ? seconds : DefaultSeconds),
        Environment.GetEnvironmentVariable("FUZZ_SEED") switch
        {
            "random" => null,
            { } text when ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seed) => seed,
            _ => DefaultSeed,
        });
}
