using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Sqs;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Targets.Tests.Sqs;

public sealed class SqsTargetKindTests
{
    private readonly SqsTargetKind _kind = new();

    [Theory]
    [InlineData("events")]
    [InlineData("events.fifo")]
    [InlineData("a")]
    [InlineData("Orders_2026-v1")]
    [InlineData("https://sqs.eu-west-1.amazonaws.com/123456789012/events")]
    [InlineData("http://127.0.0.1:4566/000000000000/events.fifo")]
    public void Valid_queue_settings_pass(string queue)
    {
        Assert.Empty(Validate(new TargetOptions { Type = "sqs", Queue = queue }));
    }

    [Fact]
    public void The_longest_names_are_80_characters_with_the_fifo_suffix_counted()
    {
        Assert.Empty(Validate(new TargetOptions { Type = "sqs", Queue = new string('q', 80) }));
        Assert.Empty(Validate(new TargetOptions { Type = "sqs", Queue = new string('q', 75) + ".fifo" }));
        Assert.Single(Validate(new TargetOptions { Type = "sqs", Queue = new string('q', 81) }));
        Assert.Single(Validate(new TargetOptions { Type = "sqs", Queue = new string('q', 76) + ".fifo" }));
    }

    public static TheoryData<TargetOptions, string> Invalid => new()
    {
        { new TargetOptions { Type = "sqs" }, "targets.t.queue: missing. Set the queue name" },
        { new TargetOptions { Type = "sqs", Queue = " " }, "targets.t.queue: missing." },
        { new TargetOptions { Type = "sqs", Queue = "my queue" }, "targets.t.queue: 'my queue' is not a valid queue name. Use 1-80 letters" },
        { new TargetOptions { Type = "sqs", Queue = "events.FIFO" }, "targets.t.queue: 'events.FIFO' is not a valid queue name" },
        { new TargetOptions { Type = "sqs", Queue = "ftp://host/123/events" }, "targets.t.queue: 'ftp://host/123/events' is not a valid queue name" },
        { new TargetOptions { Type = "sqs", Queue = "https://sqs.us-east-1.amazonaws.com/" }, "targets.t.queue: 'https://sqs.us-east-1.amazonaws.com/' is not a queue URL" },
        { new TargetOptions { Type = "sqs", Queue = "events", MessageGroupId = "json:device" }, "targets.t.messageGroupId: applies only to FIFO queues. Remove it, or use a queue whose name ends in .fifo." },
        { new TargetOptions { Type = "sqs", Queue = "events.fifo", MessageGroupId = "random" }, "targets.t.messageGroupId: 'random' is not a group id source. Use header:NAME or json:FIELD" },
        { new TargetOptions { Type = "sqs", Queue = "events.fifo", MessageGroupId = "header:" }, "targets.t.messageGroupId: 'header:' is not a group id source" },
        { new TargetOptions { Type = "sqs", Queue = "events.fifo", MessageGroupId = "device" }, "targets.t.messageGroupId: 'device' is not a group id source" },
        { new TargetOptions { Type = "sqs", Queue = "events", MaxRecordBytes = 1023 }, "targets.t.maxRecordBytes: 1023 is outside 1024..1048576" },
        { new TargetOptions { Type = "sqs", Queue = "events", MaxRecordBytes = 1_048_577 }, "targets.t.maxRecordBytes: 1048577 is outside 1024..1048576" },
        { new TargetOptions { Type = "sqs", Queue = "events", Stream = "clicks" }, "targets.t.stream: does not apply to sqs targets. Remove it" },
        { new TargetOptions { Type = "sqs", Queue = "events", PartitionKey = "random" }, "targets.t.partitionKey: does not apply to sqs targets. Remove it" },
        { new TargetOptions { Type = "sqs", Queue = "events", Url = "http://x" }, "targets.t.url: does not apply to sqs targets. Remove it" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Invalid_settings_name_the_key_and_the_fix(TargetOptions options, string expected)
    {
        var error = Assert.Single(Validate(options));

        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var errors = Validate(new TargetOptions { Type = "sqs", Queue = "bad name", MessageGroupId = "json:x", MaxRecordBytes = 5, Stream = "s", Url = "u" });

        Assert.Equal(5, errors.Count);
    }

    [Fact]
    public void Fifo_queues_default_to_one_batch_in_flight()
    {
        Assert.Equal(1, _kind.DefaultMaxInFlight(new TargetOptions { Queue = "orders.fifo" }));
        Assert.Equal(1, _kind.DefaultMaxInFlight(new TargetOptions { Queue = "https://sqs.us-east-1.amazonaws.com/1/orders.fifo" }));
        Assert.Equal(8, _kind.DefaultMaxInFlight(new TargetOptions { Queue = "orders" }));
    }

    [Fact]
    public void Limits_follow_sqs_and_max_record_bytes()
    {
        Assert.Equal(new BatchLimits(10, 1_048_576, 1_048_576), _kind.ServiceLimits(new TargetOptions { Queue = "q" }));
        Assert.Equal(new BatchLimits(10, 1_048_576, 262_144), _kind.ServiceLimits(new TargetOptions { Queue = "q", MaxRecordBytes = 262_144 }));
    }

    [Fact]
    public void The_group_id_header_is_required_from_the_envelope()
    {
        Assert.Equal(["x-device-id"], _kind.RequiredHeaders(new TargetOptions { Queue = "q.fifo", MessageGroupId = "header:X-Device-Id" }));
        Assert.Empty(_kind.RequiredHeaders(new TargetOptions { Queue = "q.fifo", MessageGroupId = "json:device" }));
        Assert.Empty(_kind.RequiredHeaders(new TargetOptions { Queue = "q" }));
    }

    [Fact]
    public void AddSqsTarget_registers_the_kind_once()
    {
        var services = new ServiceCollection().AddSqsTarget().AddSqsTarget();
        using var provider = services.BuildServiceProvider();

        var kind = Assert.Single(provider.GetServices<ITargetKind>());
        Assert.IsType<SqsTargetKind>(kind);
        Assert.Equal("sqs", kind.Type);
    }

    private List<string> Validate(TargetOptions options)
    {
        var errors = new List<string>();
        _kind.Validate("t", options, errors);
        return errors;
    }
}
