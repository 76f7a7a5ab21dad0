using System.Net;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// <c>type: kinesis</c>. Settings: <c>stream</c> (required), <c>partitionKey</c>
/// (<c>header:NAME</c>, <c>json:FIELD</c> or <c>random</c>; default <c>random</c>, i.e. the event id),
/// <c>maxRecordBytes</c> (1024..10485760; default 1048576), <c>timeout</c> per call (default 30s),
/// <c>shards</c> (per-shard pacing, see <see cref="KinesisShardOptions"/>; on by default).
/// With <c>aws.createMissing</c> a missing stream is created with one provisioned shard (meant for
/// development; create production streams with your infrastructure tooling).
/// </summary>
public sealed partial class KinesisTargetKind : ITargetKind
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "kinesis";

    /// <summary>Service name in the SigV4 scope and key of <c>aws.endpoints</c>.</summary>
    public const string ServiceName = "kinesis";

    /// <summary>Shards of a stream created by <c>aws.createMissing</c>.</summary>
    public const int CreatedShardCount = 1;

    /// <summary>Per-call timeout when the target sets none.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How long start-up waits for a stream to become ACTIVE (AWS takes ~30s to create one).</summary>
    public static readonly TimeSpan StreamReadyTimeout = TimeSpan.FromMinutes(2);

    private static readonly TimeSpan StreamPollInterval = TimeSpan.FromMilliseconds(250);

    public string Type => TypeName;

    public BatchLimits ServiceLimits(TargetOptions options) => KinesisBatchSender.LimitsFor(options);

    public void Validate(string name, TargetOptions options, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (string.IsNullOrWhiteSpace(options.Stream))
        {
            errors.Add($"{where}.stream: missing. Set the Kinesis stream name, e.g. stream: clicks.");
        }
        else if (!IsValidStreamName(options.Stream))
        {
            errors.Add($"{where}.stream: '{options.Stream}' is not a valid stream name. Use 1 to 128 characters from a-z, A-Z, 0-9, '_', '.' and '-'.");
        }
        if (options.PartitionKey is { } key && !EventKeySource.IsValid(key, allowRandom: true))
        {
            errors.Add($"{where}.partitionKey: '{key}' is not valid. Use header:NAME, json:FIELD or random (the default).");
        }
        if (options.MaxRecordBytes is { } max && (max < KinesisBatchSender.MinMaxRecordBytes || max > KinesisBatchSender.MaxMaxRecordBytes))
        {
            errors.Add($"{where}.maxRecordBytes: {max} is outside {KinesisBatchSender.MinMaxRecordBytes}..{KinesisBatchSender.MaxMaxRecordBytes}. Use the stream's record limit (default 1048576; streams can raise it to 10 MiB).");
        }
        if (options.Queue is not null)
        {
            errors.Add($"{where}.queue: does not apply to kinesis targets. Remove it; name the stream with stream:.");
        }
        if (options.MessageGroupId is not null)
        {
            errors.Add($"{where}.messageGroupId: does not apply to kinesis targets. Remove it; use partitionKey: to choose the shard key.");
        }
        if (options.Url is not null)
        {
            errors.Add($"{where}.url: does not apply to kinesis targets. Remove it; set a custom endpoint with aws.endpoints.kinesis.");
        }
        if (options.Timeout is { } timeout && timeout <= TimeSpan.Zero)
        {
            errors.Add($"{where}.timeout: must be above zero, e.g. 30s.");
        }
        if (options.Shards is { } shards)
        {
            if (shards.RecordsPerSecond < 1)
            {
                errors.Add($"{where}.shards.recordsPerSecond: {shards.RecordsPerSecond} must be at least 1. Use the shard write limit, 1000 (the default).");
            }
            if (shards.BytesPerSecond < 1024)
            {
                errors.Add($"{where}.shards.bytesPerSecond: {shards.BytesPerSecond} must be at least 1024. Use the shard write limit, 1048576 (the default).");
            }
            if (shards.Refresh < TimeSpan.FromSeconds(1))
            {
                errors.Add($"{where}.shards.refresh: must be at least 1s (ListShards is rate-limited), e.g. 60s (the default).");
            }
            if (shards.MaxDelay <= TimeSpan.Zero)
            {
                errors.Add($"{where}.shards.maxDelay: must be above zero, e.g. 10s (the default).");
            }
        }
    }

    public IEnumerable<string> RequiredHeaders(TargetOptions options) =>
        EventKeySource.HeaderName(options.PartitionKey) is { Length: > 0 } header ? [header] : [];

    public async Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken)
    {
        var logger = context.LoggerFactory.CreateLogger($"Ingest.Targets.{name}");
        var stream = options.Stream ?? throw new InvalidOperationException($"targets.{name}.stream: missing. Set the Kinesis stream name.");
        var client = CreateClient(name, options, context);
        try
        {
            await EnsureStreamAsync(name, stream, client, context, logger, cancellationToken);
            var metrics = context.Metrics is { } m ? KinesisMetrics.For(m) : null;
            var shards = options.Shards ?? new KinesisShardOptions();
            ShardPacer? pacer = null;
            if (shards.Pace)
            {
                pacer = new ShardPacer(name, shards, ct => client.ListOpenShardsAsync(stream, ct), context.TimeProvider, metrics, logger);
                // A failure is logged and tried again on the send path: records go unpaced meanwhile.
                await pacer.RefreshAsync("start", cancellationToken);
            }
            return new KinesisBatchSender(name, stream, client, new KinesisRecordEncoder(options.PartitionKey), ServiceLimits(options), logger, pacer, metrics, context.TimeProvider);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>A signed client for the target's region and endpoint (<c>aws.endpoints.kinesis</c>, else AWS).</summary>
    public static KinesisClient CreateClient(string name, TargetOptions options, TargetContext context)
    {
        var aws = context.Aws;
        var endpoint = ResolveEndpoint(name, aws);
        var credentials = ResolveCredentials(name, aws);
        HttpMessageHandler handler = new SocketsHttpHandler
        {
            // Re-resolve DNS now and then; AWS endpoints move.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = true,
        };
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        var http = new HttpClient(handler, disposeHandler: true) { Timeout = options.Timeout ?? DefaultTimeout };
        var signer = new SigV4Signer(aws.Region, ServiceName, context.TimeProvider);
        return new KinesisClient(http, endpoint, signer, credentials, context.LoggerFactory.CreateLogger<KinesisClient>());
    }

    /// <summary>True for 1 to 128 characters from <c>[a-zA-Z0-9_.-]</c>.</summary>
    public static bool IsValidStreamName(string name)
    {
        if (name.Length is < 1 or > 128)
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    private static Uri ResolveEndpoint(string name, AwsOptions aws)
    {
        if (!aws.Endpoints.TryGetValue(ServiceName, out var configured) || string.IsNullOrWhiteSpace(configured))
        {
            return KinesisClient.DefaultEndpoint(aws.Region);
        }
        if (Uri.TryCreate(configured, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }
        throw new InvalidOperationException($"aws.endpoints.kinesis: '{configured}' (used by targets.{name}) is not an http(s) URL. Use e.g. http://127.0.0.1:4567.");
    }

    private static AWSCredentials ResolveCredentials(string name, AwsOptions aws)
    {
        if (!string.IsNullOrEmpty(aws.AccessKeyId))
        {
            if (string.IsNullOrEmpty(aws.SecretAccessKey))
            {
                throw new InvalidOperationException($"aws.secretAccessKey: missing while aws.accessKeyId is set (needed by targets.{name}). Set it, e.g. secretAccessKey: ${{AWS_SECRET_ACCESS_KEY}}.");
            }
            return string.IsNullOrEmpty(aws.SessionToken)
                ? new BasicAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey)
                : new SessionAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey, aws.SessionToken);
        }
        try
        {
            // The SDK's chain: environment, shared profile, web identity, container and instance roles.
            return DefaultAWSCredentialsIdentityResolver.GetCredentials(null);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"targets.{name}: no AWS credentials. Set aws.accessKeyId and aws.secretAccessKey (e.g. ${{AWS_SECRET_ACCESS_KEY}}), or provide them through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a shared profile or an instance role. ({ex.Message})",
                ex);
        }
    }

    private static async Task EnsureStreamAsync(string name, string stream, KinesisClient client, TargetContext context, ILogger logger, CancellationToken cancellationToken)
    {
        var time = context.TimeProvider;
        var deadline = time.GetUtcNow() + StreamReadyTimeout;
        var where = $"targets.{name}: Kinesis stream '{stream}' at {client.Endpoint}";
        try
        {
            var summary = await client.DescribeStreamSummaryAsync(stream, cancellationToken);
            if (summary is null)
            {
                if (!context.CreateMissing)
                {
                    throw new InvalidOperationException($"{where} ({context.Aws.Region}) does not exist. Create it, or set aws.createMissing: true to create it at start.");
                }
                var created = await client.CreateStreamAsync(stream, CreatedShardCount, cancellationToken);
                if (created)
                {
                    LogStreamCreated(logger, name, stream, CreatedShardCount);
                }
            }
            while (summary?.Status is not ("ACTIVE" or "UPDATING"))
            {
                if (summary?.Status == "DELETING")
                {
                    throw new InvalidOperationException($"{where} is being deleted. Wait until it is gone and start again (with aws.createMissing: true to recreate it).");
                }
                if (time.GetUtcNow() >= deadline)
                {
                    throw new TimeoutException($"{where} did not become ACTIVE within {StreamReadyTimeout.TotalSeconds:0}s (status {summary?.Status ?? "not found"}).");
                }
                await Task.Delay(StreamPollInterval, time, cancellationToken);
                summary = await client.DescribeStreamSummaryAsync(stream, cancellationToken);
            }
            LogStreamReady(logger, name, stream, summary.Status, summary.OpenShardCount);
        }
        catch (KinesisException ex)
        {
            throw new InvalidOperationException($"{where} cannot be checked: {ex.Message}. Check aws.region, the credentials and aws.endpoints.kinesis.", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new InvalidOperationException($"{where} cannot be reached: {ex.Message}. Check aws.endpoints.kinesis and the network.", ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: created Kinesis stream {Stream} with {Shards} shard(s)")]
    private static partial void LogStreamCreated(ILogger logger, string target, string stream, int shards);

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: Kinesis stream {Stream} is {Status} with {Shards} open shard(s)")]
    private static partial void LogStreamReady(ILogger logger, string target, string stream, string status, int shards);
}
