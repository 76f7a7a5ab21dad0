using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Core.Pipeline.ClaimCheck;

namespace Ingest.Core.Tests.Pipeline.ClaimCheck;

public class ClaimCheckPolicyTests
{
    [Fact]
    public void Pointer_names_bucket_key_size_digest_and_content_type()
    {
        var item = new ClaimCheckObject("events-claims", "claims/0193a0c4-0000-7000-8000-000000000001", new byte[10], "application/json", new string('a', 64), Guid.Empty);

        using var pointer = JsonDocument.Parse(ClaimCheckPolicy.Pointer(item, 2_000_000));

        var claim = pointer.RootElement.GetProperty("claimCheck");
        Assert.Single(pointer.RootElement.EnumerateObject());
        Assert.Equal("events-claims", claim.GetProperty("bucket").GetString());
        Assert.Equal("claims/0193a0c4-0000-7000-8000-000000000001", claim.GetProperty("key").GetString());
        Assert.Equal(2_000_000, claim.GetProperty("bytes").GetInt64());
        Assert.Equal(new string('a', 64), claim.GetProperty("sha256").GetString());
        Assert.Equal("application/json", claim.GetProperty("contentType").GetString());
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(ClaimCheckPolicy.Pointer(item with { ContentType = null }, 1)).RootElement.GetProperty("claimCheck").GetProperty("contentType").ValueKind);
    }

    [Theory]
    [InlineData("events-claims", true)]
    [InlineData("a.b-c", true)]
    [InlineData("ab", false)]
    [InlineData("Events", false)]
    [InlineData("-events", false)]
    [InlineData("events..claims", false)]
    [InlineData("events_claims", false)]
    public void Bucket_names_follow_s3_rules(string name, bool valid) =>
        Assert.Equal(valid, ClaimCheckValidation.IsBucketName(name));

    [Fact]
    public void Every_bad_setting_is_reported_with_the_target_and_the_fix()
    {
        var config = ConfigLoader.Load("""
            targets:
              q: { type: sqs, queue: events, claimCheck: { bucket: Bad_Bucket, thresholdBytes: 2000000 } }
              r: { type: sqs, queue: other, claimCheck: {} }
              s: { type: blackhole, claimCheck: { bucket: claims } }
              ok: { type: sqs, queue: fine, claimCheck: { bucket: claims, prefix: "big/", thresholdBytes: 65536 } }
            """);
        var errors = new List<string>();

        ClaimCheckValidation.Validate(config, new Dictionary<string, ITargetKind> { ["sqs"] = new FixedLimitKind() }, errors);

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("targets.q.claimCheck.bucket: 'Bad_Bucket'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.q.claimCheck.thresholdBytes: 2000000 is outside 1..1048576", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.r.claimCheck.bucket: missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.s.claimCheck: applies to sqs and kinesis targets only", StringComparison.Ordinal));
        Assert.Equal("claims/", config.Targets["r"].ClaimCheck!.Prefix);
    }

    private sealed class FixedLimitKind : ITargetKind
    {
        public string Type => "sqs";

        public BatchLimits ServiceLimits(TargetOptions options) => new(10, 1024 * 1024, 1024 * 1024);

        public void Validate(string name, TargetOptions options, ICollection<string> errors)
        {
        }

        public IEnumerable<string> RequiredHeaders(TargetOptions options) => [];

        public Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken) =>
            throw new NotSupportedException();
    }
}
