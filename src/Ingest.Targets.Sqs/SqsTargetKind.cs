using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Sqs;

/// <summary>
/// The <c>sqs</c> target kind: <c>queue</c> (name or URL; <c>.fifo</c> names are FIFO queues),
/// <c>messageGroupId</c> (FIFO only), <c>maxRecordBytes</c> (1024..1048576, default 1048576).
/// Default in-flight batches: 1 for FIFO queues (keeps order), 8 otherwise. Backend calls time out
/// after the target's <c>timeout</c> (default 29s).
/// </summary>
public sealed partial class SqsTargetKind : ITargetKind
{
    /// <summary>Service name in the SigV4 scope and key of <c>aws.endpoints</c>.</summary>
    public const string ServiceName = "sqs";

    /// <summary>Default per-call timeout when the target sets none.</summary>
    public static readonly TimeSpan DefaultCallTimeout = TimeSpan.FromSeconds(29);

    /// <inheritdoc />
    public string Type => "sqs";

    /// <inheritdoc />
    public BatchLimits ServiceLimits(TargetOptions options) =>
        // Clamped so an invalid maxRecordBytes (already reported by Validate) does not cascade into batch errors.
        new(SqsBatchSender.MaxEntriesPerBatch, SqsBatchSender.MaxBatchBytes, MaxRecordBytes(options));

    /// <inheritdoc />
    public int DefaultMaxInFlight(TargetOptions options) => IsFifo(options) ? 1 : 8;

    /// <inheritdoc />
    public void Validate(string name, TargetOptions options, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        var queue = options.Queue;
        if (string.IsNullOrWhiteSpace(queue))
        {
            errors.Add($"{where}.queue: missing. Set the queue name (e.g. events, or events.fifo for a FIFO queue) or its URL.");
        }
        else if (SqsQueueName.IsUrl(queue))
        {
            if (!SqsQueueName.IsValidUrl(queue))
            {
                errors.Add($"{where}.queue: '{queue}' is not a queue URL. Use https://sqs.<region>.amazonaws.com/<account>/<name>, or just the queue name.");
            }
        }
        else if (!SqsQueueName.IsValidName(queue))
        {
            errors.Add($"{where}.queue: '{queue}' is not a valid queue name. Use 1-80 letters, digits, '-' or '_' (a FIFO queue name ends in .fifo, counted in the 80), or the queue URL.");
        }

        if (options.MessageGroupId is { } group)
        {
            if (!IsFifo(options))
            {
                errors.Add($"{where}.messageGroupId: applies only to FIFO queues. Remove it, or use a queue whose name ends in .fifo.");
            }
            else if (!EventKeySource.IsValid(group, allowRandom: false))
            {
                errors.Add($"{where}.messageGroupId: '{group}' is not a group id source. Use header:NAME or json:FIELD (the default is the route key; 'random' would break ordering).");
            }
        }

        if (options.MaxRecordBytes is { } max && (max < SqsBatchSender.MinRecordBytes || max > SqsBatchSender.DefaultMaxRecordBytes))
        {
            errors.Add($"{where}.maxRecordBytes: {max} is outside {SqsBatchSender.MinRecordBytes}..{SqsBatchSender.DefaultMaxRecordBytes}, the SQS message size range. Set a value in range or remove it (default 1048576).");
        }

        if (options.Stream is not null)
        {
            errors.Add($"{where}.stream: does not apply to sqs targets. Remove it (set queue instead), or use type: kinesis.");
        }
        if (options.PartitionKey is not null)
        {
            errors.Add($"{where}.partitionKey: does not apply to sqs targets. Remove it; FIFO queues use messageGroupId.");
        }
        if (options.Url is not null)
        {
            errors.Add($"{where}.url: does not apply to sqs targets. Remove it; put the queue URL in queue, or the endpoint in aws.endpoints.sqs.");
        }
    }

    /// <inheritdoc />
    public IEnumerable<string> RequiredHeaders(TargetOptions options) =>
        EventKeySource.HeaderName(options.MessageGroupId) is { Length: > 0 } header ? [header] : [];

    /// <inheritdoc />
    public async Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken)
    {
        var queue = options.Queue ?? throw new InvalidOperationException($"targets.{name}.queue: missing. Set the queue name or URL.");
        var logger = context.LoggerFactory.CreateLogger(typeof(SqsBatchSender).FullName!);
        var timeout = options.Timeout ?? DefaultCallTimeout;
        var config = new AmazonSQSConfig
        {
            // The batching writer retries with backoff and only the failed entries; SDK retries
            // would resend whole batches, successes included.
            MaxErrorRetry = 0,
            Timeout = timeout,
        };
        var endpoint = AwsTargetSettings.Endpoint(name, ServiceName, context.Aws, $"https://sqs.{context.Aws.Region}.amazonaws.com");
        if (context.Aws.Endpoints.TryGetValue(ServiceName, out var configured) && !string.IsNullOrWhiteSpace(configured))
        {
            config.ServiceURL = configured;
            config.AuthenticationRegion = context.Aws.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(context.Aws.Region);
        }

        // One handler (and connection pool) for both clients: the SDK's control-plane calls at start
        // and the hand-written SendMessageBatch client. A test or proxy may wrap it.
        HttpMessageHandler handler = AwsTargetSettings.Handler();
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        var httpFactory = new AwsSdkHttpClientFactory(handler);
        config.HttpClientFactory = httpFactory;
        var sdk = Credentials(context.Aws) is { } sdkCredentials ? new AmazonSQSClient(sdkCredentials, config) : new AmazonSQSClient(config);
        var owned = new OwnedClients(sdk, httpFactory);
        try
        {
            var client = new SqsClient(
                new HttpClient(handler, disposeHandler: false) { Timeout = timeout },
                endpoint,
                new SigV4Signer(context.Aws.Region, ServiceName, context.TimeProvider),
                AwsTargetSettings.Credentials(name, context.Aws));
            owned.Client = client;
            var queueUrl = await ResolveQueueUrlAsync(sdk, name, queue, context.CreateMissing, logger, cancellationToken);
            var sender = new SqsBatchSender(
                client,
                new SqsSenderOptions { QueueUrl = queueUrl, MaxRecordBytes = MaxRecordBytes(options), MessageGroupId = options.MessageGroupId },
                logger,
                owned);
            LogReady(logger, name, queueUrl, sender.IsFifo);
            return sender;
        }
        catch
        {
            owned.Dispose();
            throw;
        }
    }

    private static async Task<string> ResolveQueueUrlAsync(IAmazonSQS client, string target, string queue, bool createMissing, ILogger logger, CancellationToken cancellationToken)
    {
        var queueName = SqsQueueName.NameOf(queue);
        try
        {
            if (SqsQueueName.IsUrl(queue))
            {
                // A URL needs no lookup, but checking it here fails at start rather than on the first batch.
                await client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = queue, AttributeNames = ["QueueArn"] }, cancellationToken);
                return queue;
            }
            return (await client.GetQueueUrlAsync(new GetQueueUrlRequest { QueueName = queueName }, cancellationToken)).QueueUrl;
        }
        catch (QueueDoesNotExistException) when (createMissing)
        {
            var request = new CreateQueueRequest { QueueName = queueName };
            if (SqsQueueName.IsFifo(queueName))
            {
                // Deduplication uses the event id, never the body: two equal bodies are two events.
                request.Attributes = new Dictionary<string, string>(StringComparer.Ordinal)
                {
                    ["FifoQueue"] = "true",
                    ["ContentBasedDeduplication"] = "false",
                };
            }
            var url = (await client.CreateQueueAsync(request, cancellationToken)).QueueUrl;
            LogCreated(logger, target, url);
            return url;
        }
        catch (QueueDoesNotExistException ex)
        {
            throw new InvalidOperationException(
                $"targets.{target}.queue: SQS queue '{queue}' does not exist. Create it, or set aws.createMissing: true to create it at start.", ex);
        }
        catch (AmazonServiceException ex)
        {
            throw new InvalidOperationException(
                $"targets.{target}.queue: cannot use SQS queue '{queue}' ({ex.ErrorCode ?? ex.GetType().Name}: {ex.Message}). Check aws.region, aws.endpoints.sqs and the credentials' permissions.", ex);
        }
    }

    private static AWSCredentials? Credentials(AwsOptions aws)
    {
        if (string.IsNullOrEmpty(aws.AccessKeyId) || string.IsNullOrEmpty(aws.SecretAccessKey))
        {
            return null;
        }
        return string.IsNullOrEmpty(aws.SessionToken)
            ? new BasicAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey)
            : new SessionAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey, aws.SessionToken);
    }

    private static bool IsFifo(TargetOptions options) => options.Queue is { } q && SqsQueueName.IsFifo(q);

    private static int MaxRecordBytes(TargetOptions options) =>
        (int)Math.Clamp(options.MaxRecordBytes ?? SqsBatchSender.DefaultMaxRecordBytes, SqsBatchSender.MinRecordBytes, SqsBatchSender.DefaultMaxRecordBytes);

    /// <summary>The clients a sender owns; the factory goes last, it disposes the shared handler.</summary>
    private sealed class OwnedClients(AmazonSQSClient sdk, AwsSdkHttpClientFactory httpFactory) : IDisposable
    {
        public SqsClient? Client { get; set; }

        public void Dispose()
        {
            Client?.Dispose();
            sdk.Dispose();
            httpFactory.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: SQS queue {QueueUrl} ready (fifo: {Fifo})")]
    private static partial void LogReady(ILogger logger, string target, string queueUrl, bool fifo);

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: created SQS queue {QueueUrl} (aws.createMissing)")]
    private static partial void LogCreated(ILogger logger, string target, string queueUrl);
}
