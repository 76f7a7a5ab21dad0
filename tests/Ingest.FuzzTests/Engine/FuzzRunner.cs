using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Engine;

/// <summary>One distinct failure: an exception type thrown at one place, or a broken property.</summary>
/// <param name="Signature">Exception type and the first frame inside Ingest (what makes findings distinct).</param>
/// <param name="Input">The first input that showed it.</param>
/// <param name="Details">The exception or the property's message.</param>
public sealed record Finding(string Signature, byte[] Input, string Details);

/// <summary>What one target's run did.</summary>
public sealed record FuzzReport(string Target, long Executions, TimeSpan Elapsed, IReadOnlyList<Finding> Findings)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"fuzz {Target}: {Executions} executions, {Elapsed.TotalSeconds:0.0}s, {Findings.Count} findings");
}

/// <summary>
/// Runs one target: an FsCheck property "the check holds for every input" over the target's input
/// generator, in rounds, until the <see cref="FuzzBudget"/> is spent. A failing input does not stop
/// the run: each distinct failure is kept (first input only), written to
/// <c>TestResults/fuzz/&lt;target&gt;/</c> and reported, and the test fails at the end. An input that
/// runs longer than 10 s is written out as a hang while it runs.
/// </summary>
public static class FuzzRunner
{
    private static readonly TimeSpan HangAfter = TimeSpan.FromSeconds(10);
    private static readonly Lock SummaryGate = new();

    public static FuzzReport Run(string target, Gen<byte[]> inputs, Action<byte[]> check, ITestOutputHelper output, FuzzBudget? budget = null)
    {
        budget ??= FuzzBudget.FromEnvironment();
        var findings = new Dictionary<string, Finding>(StringComparer.Ordinal);
        long executions = 0;
        byte[]? current = null;
        var clock = Stopwatch.StartNew();
        var arbitrary = Arb.From(inputs);

        using var stop = new CancellationTokenSource();
        var watchdog = Task.Run(async () =>
        {
            long seen = -1;
            var since = clock.Elapsed;
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                var now = Interlocked.Read(ref executions);
                if (now != seen)
                {
                    seen = now;
                    since = clock.Elapsed;
                }
                else if (clock.Elapsed - since > HangAfter && Volatile.Read(ref current) is { } stuck)
                {
                    var path = Save(target, "hang", stuck);
                    output.WriteLine($"fuzz {target}: an input has run for {HangAfter.TotalSeconds:0}s; saved to {path}");
                    since = clock.Elapsed;
                }
            }
        });

        var round = 0UL;
        while (Interlocked.Read(ref executions) < budget.Executions && clock.Elapsed < budget.Duration)
        {
            var inputsThisRound = (int)Math.Min(2_000, budget.Executions - Interlocked.Read(ref executions));
            var property = Prop.ForAll(arbitrary, (byte[] input) =>
            {
                if (clock.Elapsed >= budget.Duration)
                {
                    return true;
                }
                Volatile.Write(ref current, input);
                Interlocked.Increment(ref executions);
                try
                {
                    check(input);
                }
                catch (Exception ex)
                {
                    var signature = SignatureOf(ex);
                    if (findings.Count < 20 && !findings.ContainsKey(signature))
                    {
                        findings[signature] = new Finding(signature, input, ex.ToString());
                    }
                }
                return true;
            });
            var config = Config.Quick.WithMaxTest(inputsThisRound).WithEndSize(200).WithQuietOnSuccess(true);
            if (budget.Seed is { } seed)
            {
                // Each round its own stream, the same on every run with this seed.
                config = config.WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(seed + round), FSharpOption<int>.None)));
            }
            Check.One(config, property);
            round++;
        }
        clock.Stop();
        stop.Cancel();
        watchdog.Wait();

        var report = new FuzzReport(target, executions, clock.Elapsed, [.. findings.Values]);
        output.WriteLine(report.ToString());
        foreach (var finding in report.Findings)
        {
            var path = Save(target, "finding", finding.Input);
            output.WriteLine($"  {finding.Signature}: input saved to {path}");
            output.WriteLine("  input (base64): " + Convert.ToBase64String(finding.Input.AsSpan(0, Math.Min(finding.Input.Length, 4096))));
            output.WriteLine("  " + finding.Details.Replace("\n", "\n  ", StringComparison.Ordinal));
        }
        AppendSummary(report);
        return report;
    }

    /// <summary>Runs and fails the test when anything was found.</summary>
    public static void RunAndAssert(string target, Gen<byte[]> inputs, Action<byte[]> check, ITestOutputHelper output)
    {
        var report = Run(target, inputs, check, output);
        Assert.True(report.Executions > 0, $"fuzz {target}: nothing ran");
        Assert.True(report.Findings.Count == 0, $"{report}:{Environment.NewLine}" + string.Join(Environment.NewLine, report.Findings.Select(f => $"{f.Signature} (input {Convert.ToBase64String(f.Input.AsSpan(0, Math.Min(f.Input.Length, 512)))}){Environment.NewLine}{f.Details}")));
    }

    private static string SignatureOf(Exception ex)
    {
        var frame = new StackTrace(ex, false).GetFrames()
            .Select(f => f.GetMethod())
            .FirstOrDefault(m => m?.DeclaringType?.Namespace?.StartsWith("Ingest.Core", StringComparison.Ordinal) == true);
        return frame is null ? ex.GetType().Name + ": " + ex.Message : $"{ex.GetType().Name} in {frame.DeclaringType!.Name}.{frame.Name}";
    }

    private static string ResultsDirectory(string target)
    {
        var root = Environment.GetEnvironmentVariable("FUZZ_RESULTS") ?? Path.Combine(AppContext.BaseDirectory, "fuzz-results");
        var directory = Path.Combine(root, target);
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string Save(string target, string kind, byte[] input)
    {
        var path = Path.Combine(ResultsDirectory(target), $"{kind}-{Convert.ToHexStringLower(SHA256.HashData(input))[..16]}.bin");
        File.WriteAllBytes(path, input);
        return path;
    }

    private static void AppendSummary(FuzzReport report)
    {
        var root = Environment.GetEnvironmentVariable("FUZZ_RESULTS") ?? Path.Combine(AppContext.BaseDirectory, "fuzz-results");
        Directory.CreateDirectory(root);
        lock (SummaryGate)
        {
            File.AppendAllText(Path.Combine(root, "summary.txt"), report + Environment.NewLine);
        }
    }
}
