using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Targets.Tests.Kinesis;

public sealed class KinesisTargetKindTests
{
    private readonly KinesisTargetKind _kind = new();

    [Fact]
    public void A_complete_target_is_valid()
    {
        var errors = Validate(new TargetOptions { Type = "kinesis", Stream = "clicks.v1_raw-2", PartitionKey = "json:device", MaxRecordBytes = 1048576 });

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData(null, "targets.clicks.stream: missing")]
    [InlineData("", "targets.clicks.stream: missing")]
    [InlineData("bad name", "targets.clicks.stream: 'bad name' is not a valid stream name")]
    [InlineData("arn:aws:kinesis:us-east-1:1:stream/x", "targets.clicks.stream: 'arn:aws:kinesis:us-east-1:1:stream/x' is not a valid stream name")]
    public void Stream_name_is_required_and_checked(string? stream, string expected)
    {
        var errors = Validate(new TargetOptions { Type = "kinesis", Stream = stream });

        Assert.Contains(errors, e => e.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Stream_names_longer_than_128_characters_are_refused()
    {
        Assert.Single(Validate(new TargetOptions { Type = "kinesis", Stream = new string('s', 129) }));
        Assert.Empty(Validate(new TargetOptions { Type = "kinesis", Stream = new string('s', 128) }));
    }

    [Theory]
    [InlineData("device")]
    [InlineData("header:")]
    [InlineData("json:")]
    [InlineData("Random")]
    public void Partition_key_source_must_be_header_json_or_random(string source)
    {
        var error = Assert.Single(Validate(new TargetOptions { Type = "kinesis", Stream = "s", PartitionKey = source }));

        Assert.StartsWith("targets.clicks.partitionKey:", error, StringComparison.Ordinal);
        Assert.Contains("header:NAME, json:FIELD or random", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1023L, true)]
    [InlineData(1024L, false)]
    [InlineData(10485760L, false)]
    [InlineData(10485761L, true)]
    public void Max_record_bytes_must_be_1KiB_to_10MiB(long value, bool error)
    {
        var errors = Validate(new TargetOptions { Type = "kinesis", Stream = "s", MaxRecordBytes = value });

        Assert.Equal(error, errors.Any(e => e.StartsWith("targets.clicks.maxRecordBytes:", StringComparison.Ordinal)));
    }

    [Fact]
    public void Keys_of_other_kinds_are_named_with_the_fix()
    {
        var errors = Validate(new TargetOptions { Type = "kinesis", Stream = "s", Queue = "q", MessageGroupId = "header:x", Url = "http://x" });

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.queue: does not apply to kinesis targets. Remove it", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.messageGroupId: does not apply to kinesis targets. Remove it", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.clicks.url: does not apply to kinesis targets. Remove it", StringComparison.Ordinal));
    }

    [Fact]
    public void All_problems_are_reported_at_once()
    {
        var errors = Validate(new TargetOptions { Type = "kinesis", Stream = "bad/name", PartitionKey = "nope", MaxRecordBytes = 1, Queue = "q" });

        Assert.Equal(4, errors.Count);
    }

    [Theory]
    [InlineData("header:X-Device", new[] { "x-device" })]
    [InlineData("json:device", new string[0])]
    [InlineData("random", new string[0])]
    [InlineData(null, new string[0])]
    public void Required_headers_are_the_partition_key_header(string? source, string[] expected) =>
        Assert.Equal(expected, _kind.RequiredHeaders(new TargetOptions { Type = "kinesis", Stream = "s", PartitionKey = source }));

    [Fact]
    public void Registration_adds_the_kind_once()
    {
        var services = new ServiceCollection().AddKinesisTarget().AddKinesisTarget();
        using var provider = services.BuildServiceProvider();

        var kind = Assert.Single(provider.GetServices<ITargetKind>());
        Assert.Equal("kinesis", kind.Type);
    }

    [Fact]
    public async Task Without_createMissing_a_missing_stream_fails_start_with_the_fix()
    {
        await using var server = await FakeKinesisServer.StartAsync();

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _kind.CreateSenderAsync("clicks", Options("nope"), KinesisTestSetup.Context(server.Endpoint), CancellationToken.None));

        Assert.Contains("targets.clicks: Kinesis stream 'nope'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("aws.createMissing: true", ex.Message, StringComparison.Ordinal);
        Assert.False(server.Streams.ContainsKey("nope"));
    }

    [Fact]
    public async Task With_createMissing_the_stream_is_created_and_waited_for_until_active()
    {
        await using var server = await FakeKinesisServer.StartAsync(creatingDescribes: 2);

        var sender = await _kind.CreateSenderAsync("clicks", Options("fresh"), KinesisTestSetup.Context(server.Endpoint, createMissing: true), CancellationToken.None);

        Assert.Equal("ACTIVE", server.Streams["fresh"]);
        Assert.Equal("fresh", Assert.IsType<KinesisBatchSender>(sender).StreamName);
        ((IDisposable)sender).Dispose();
    }

    [Fact]
    public async Task An_existing_stream_is_only_checked()
    {
        await using var server = await FakeKinesisServer.StartAsync();
        server.CreateStream("clicks");

        var sender = await _kind.CreateSenderAsync("clicks", Options("clicks"), KinesisTestSetup.Context(server.Endpoint, createMissing: true), CancellationToken.None);

        Assert.Equal(new BatchLimits(500, 5242880, 1048576), sender.Limits);
        ((IDisposable)sender).Dispose();
    }

    [Fact]
    public async Task Bad_credentials_fail_start_with_the_service_error()
    {
        await using var server = await FakeKinesisServer.StartAsync();
        server.CreateStream("clicks");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _kind.CreateSenderAsync("clicks", Options("clicks"), KinesisTestSetup.Context(server.Endpoint, secret: "wrong"), CancellationToken.None));

        Assert.Contains("InvalidSignatureException", ex.Message, StringComparison.Ordinal);
        Assert.Contains("targets.clicks", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Signing_for_another_region_is_refused_by_the_endpoint()
    {
        await using var server = await FakeKinesisServer.StartAsync();
        server.CreateStream("clicks");

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _kind.CreateSenderAsync("clicks", Options("clicks"), KinesisTestSetup.Context(server.Endpoint, region: "eu-west-1"), CancellationToken.None));

        Assert.Contains("credential scope eu-west-1/kinesis", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_endpoint_fails_start_clearly()
    {
        // A port nothing listens on: start one server, note its port, stop it.
        Uri endpoint;
        await using (var server = await FakeKinesisServer.StartAsync())
        {
            endpoint = server.Endpoint;
        }

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            _kind.CreateSenderAsync("clicks", Options("clicks"), KinesisTestSetup.Context(endpoint), CancellationToken.None));

        Assert.Contains("cannot be reached", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backend_calls_go_through_the_context_http_wrapper()
    {
        await using var server = await FakeKinesisServer.StartAsync();
        server.CreateStream("clicks");
        var seen = new List<string>();
        var calls = 0;
        var context = KinesisTestSetup.Context(server.Endpoint, wrap: (name, inner) =>
        {
            seen.Add(name);
            return new CountingHandler(inner, () => Interlocked.Increment(ref calls));
        });

        var sender = await _kind.CreateSenderAsync("clicks", Options("clicks"), context, CancellationToken.None);
        var e = KinesisTestEvents.Json("{}");
        sender.MeasureWireBytes(e);
        var outcomes = new EntryOutcome[1];
        await sender.SendAsync([e], outcomes, CancellationToken.None);

        Assert.Equal(["clicks"], seen);
        Assert.Equal(3, calls); // DescribeStreamSummary + ListShards (the shard map) + PutRecords
        Assert.Equal(EntryOutcome.Delivered, outcomes[0]);
        ((IDisposable)sender).Dispose();
    }

    [Theory]
    [InlineData("us-east-1", "https://kinesis.us-east-1.amazonaws.com/")]
    [InlineData("eu-central-1", "https://kinesis.eu-central-1.amazonaws.com/")]
    [InlineData("cn-north-1", "https://kinesis.cn-north-1.amazonaws.com.cn/")]
    public void Default_endpoint_is_the_regional_aws_one(string region, string expected) =>
        Assert.Equal(expected, KinesisClient.DefaultEndpoint(region).ToString());

    [Fact]
    public void The_configured_endpoint_wins_over_the_regional_one()
    {
        using var client = KinesisTargetKind.CreateClient("clicks", Options("s"), KinesisTestSetup.Context(new Uri("http://127.0.0.1:4567")));

        Assert.Equal("http://127.0.0.1:4567/", client.Endpoint.ToString());
    }

    [Fact]
    public void A_non_http_endpoint_is_refused_with_the_key_to_fix()
    {
        var context = KinesisTestSetup.Context(new Uri("ftp://127.0.0.1:4567"));

        var ex = Assert.Throws<InvalidOperationException>(() => KinesisTargetKind.CreateClient("clicks", Options("s"), context));

        Assert.StartsWith("aws.endpoints.kinesis: 'ftp://127.0.0.1:4567/' (used by targets.clicks) is not an http(s) URL", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_access_key_without_a_secret_is_refused_with_the_key_to_fix()
    {
        var context = KinesisTestSetup.Context(new Uri("http://127.0.0.1:4567"));
        context.Aws.SecretAccessKey = null;

        var ex = Assert.Throws<InvalidOperationException>(() => KinesisTargetKind.CreateClient("clicks", Options("s"), context));

        Assert.StartsWith("aws.secretAccessKey: missing while aws.accessKeyId is set (needed by targets.clicks)", ex.Message, StringComparison.Ordinal);
    }

    private List<string> Validate(TargetOptions options)
    {
        var errors = new List<string>();
        _kind.Validate("clicks", options, errors);
        return errors;
    }

    private static TargetOptions Options(string stream) => new() { Type = "kinesis", Stream = stream };

    private sealed class CountingHandler(HttpMessageHandler inner, Action onCall) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            onCall();
            return base.SendAsync(request, cancellationToken);
        }
    }
}
