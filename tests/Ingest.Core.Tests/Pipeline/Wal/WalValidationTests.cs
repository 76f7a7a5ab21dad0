using Ingest.Core.Configuration;
using Ingest.Core.Pipeline.Wal;

namespace Ingest.Core.Tests.Pipeline.Wal;

public sealed class WalValidationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ingest-walval-").FullName;

    private static IngestConfig Config(string ack, string path, long maxBytes = 1L << 30, long segmentBytes = 64L << 20) => new()
    {
        Wal = new WalOptions { Path = path, MaxBytes = maxBytes, SegmentBytes = segmentBytes },
        Targets = { ["q"] = new TargetOptions { Type = "blackhole" } },
        Routes = { new RouteOptions { Route = "POST /v1/events", Target = "q", Ack = ack, Auth = ["none"], Public = true } },
    };

    private static List<string> Errors(IngestConfig config)
    {
        var errors = new List<string>();
        WalValidation.Validate(config, errors);
        return errors;
    }

    [Fact]
    public void Durable_and_delivered_routes_validate_with_a_usable_directory()
    {
        Assert.Empty(Errors(Config("durable", Path.Combine(_directory, "wal", "nested"))));
        Assert.Empty(Errors(Config("delivered", Path.Combine(_directory, "wal"))));
        var all = ConfigValidator.Validate(Config("durable", _directory), new Dictionary<string, Ingest.Core.Pipeline.ITargetKind>());
        Assert.True(all.Count == 0, string.Join("\n", all));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_the_key_and_the_fix()
    {
        var file = Path.Combine(_directory, "a-file");
        File.WriteAllText(file, "x");

        var errors = Errors(Config("durable", file, maxBytes: 0, segmentBytes: 10));

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("wal.maxBytes: 0 must be above zero", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("wal.segmentBytes: 10 must be at least 65536", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("is a file, not a directory", StringComparison.Ordinal) && e.Contains("e.g. ./data/wal", StringComparison.Ordinal));
    }

    [Fact]
    public void A_path_under_a_file_and_a_cap_below_one_event_are_refused_for_durable_routes_only()
    {
        var file = Path.Combine(_directory, "a-file");
        File.WriteAllText(file, "x");
        var under = Path.Combine(file, "wal");

        var errors = Errors(Config("durable", under, maxBytes: 1000));

        Assert.Contains(errors, e => e.Contains("cannot be created", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("cannot hold one event of route 'POST /v1/events' (maxBodyBytes 262144)", StringComparison.Ordinal));
        Assert.Empty(Errors(Config("memory", under, maxBytes: 1000)));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
