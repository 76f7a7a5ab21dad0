using System.CommandLine;
using System.Text;
using Ingest.Core.Events;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Cli;
using Ingest.IntegrationTests.Outage;

namespace Ingest.IntegrationTests.Replay;

/// <summary><c>ingest replay</c> against the SQS stand-in: spilled events go back with their ids; what fails again is written to a new spill file.</summary>
[Trait("Category", "Standins")]
public sealed class ReplayCommandTests : IDisposable
{
    private const string Endpoint = "http://127.0.0.1:4566";
    private readonly string _directory = Directory.CreateTempSubdirectory("ingest-replay-").FullName;
    private readonly string _queue = $"replay-{Guid.NewGuid():N}";

    private string WriteConfig(string targetExtras = "") =>
        WriteFile("ingest.yaml", $$"""
            accessLog: { path: off }
            aws:
              region: us-east-1
              accessKeyId: test
              secretAccessKey: test
              endpoints: { sqs: "{{Endpoint}}" }
              createMissing: true
            targets:
              t: { type: sqs, queue: {{_queue}}{{targetExtras}} }
            routes:
              - { route: POST /v1/events, target: t, auth: none, public: true }
            """);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static IngestEvent Event(int n, int bodyBytes = 0) => new()
    {
        Id = Guid.CreateVersion7(),
        ReceivedAtMs = 1_764_000_000_000 + n,
        RouteKey = "POST /v1/events",
        SourceIp = "127.0.0.1",
        ContentType = "application/json",
        Headers = [new("x-device", $"d-{n}")],
        Body = Encoding.UTF8.GetBytes($"{{\"n\":{n},\"text\":\"caf\u00e9 {new string('x', bodyBytes)}\"}}"),
    };

    /// <summary>Writes <paramref name="events"/> the way the gateway spills them; returns the file.</summary>
    private string Spill(IEnumerable<IngestEvent> events)
    {
        using var spill = new SpillFile(Path.Combine(_directory, "spill"), "t", TimeProvider.System);
        spill.Write(events, "retries exhausted after 8 attempts");
        return spill.CurrentPath!;
    }

    private static async Task<(int Exit, string Output, string Error)> ReplayAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await IngestCommands.Create().Parse(["replay", .. args]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Spilled_events_are_sent_again_with_their_ids_and_bodies_and_the_exit_code_is_0()
    {
        var events = Enumerable.Range(0, 300).Select(n => Event(n)).ToList();
        var file = Spill(events);

        var (exit, output, error) = await ReplayAsync("--config", WriteConfig(), "--target", "t", file);

        Assert.True(exit == 0, error);
        Assert.Contains("300 of 300 delivered, 0 failed", output, StringComparison.Ordinal);
        Assert.Contains("300/300", error, StringComparison.Ordinal);
        var received = await SqsQueueReader.ReadAsync(Endpoint, _queue, [.. events.Select(e => e.Id)], TimeSpan.FromSeconds(30));
        Assert.Equal(events.Select(e => e.Id).Order(), received.Select(r => r.Id).Order());
        var sent = events.ToDictionary(e => e.Id, e => e.Body.ToArray());
        Assert.All(received, r => Assert.Equal(sent[r.Id], r.Body));
        Assert.Empty(Directory.GetFiles(Path.Combine(_directory, "spill"), "*failed*"));
    }

    [Fact]
    public async Task What_fails_again_goes_to_a_new_spill_file_the_rest_is_delivered_and_the_exit_code_is_1()
    {
        var good = Enumerable.Range(0, 20).Select(n => Event(n)).ToList();
        var tooLarge = Event(99, bodyBytes: 3000);
        var file = Spill([.. good, tooLarge]);
        File.AppendAllText(file, "{\"eventId\":\"not-a-guid\"\n");
        var failedFile = Path.Combine(_directory, "again.ndjson");

        // maxRecordBytes 2048: the 3 KB event cannot be sent to this target.
        var (exit, output, error) = await ReplayAsync("--config", WriteConfig(", maxRecordBytes: 2048"), "--target", "t", "--failed", failedFile, file);

        Assert.True(exit == 1, output + error);
        Assert.Contains("20 of 22 delivered, 2 failed", output, StringComparison.Ordinal);
        Assert.Contains(failedFile, error, StringComparison.Ordinal);
        Assert.Contains("larger than the target accepts", error, StringComparison.Ordinal);
        var received = await SqsQueueReader.ReadAsync(Endpoint, _queue, [.. good.Select(e => e.Id)], TimeSpan.FromSeconds(30));
        Assert.Equal(good.Select(e => e.Id).Order(), received.Select(r => r.Id).Distinct().Order());

        var again = SpillFile.Read(failedFile).ToList();
        Assert.Equal(2, again.Count);
        Assert.Equal(tooLarge.Id, Assert.Single(again, l => l.Event is not null).Event!.Id);
        Assert.Equal("{\"eventId\":\"not-a-guid\"", Assert.Single(again, l => l.Event is null).Text);
    }

    [Fact]
    public async Task An_unknown_target_or_missing_file_exits_2_naming_the_fix()
    {
        var config = WriteConfig();

        var unknown = await ReplayAsync("--config", config, "--target", "nope", Spill([Event(1)]));
        var missing = await ReplayAsync("--config", config, "--target", "t", Path.Combine(_directory, "absent.ndjson"));

        Assert.Equal(2, unknown.Exit);
        Assert.Contains("'nope' is not a target of the configuration. Targets: t.", unknown.Error, StringComparison.Ordinal);
        Assert.Equal(2, missing.Exit);
        Assert.Contains("absent.ndjson: no such file", missing.Error, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
