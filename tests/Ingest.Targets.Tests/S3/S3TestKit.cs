using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Events;
using Ingest.Core.Integration;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Requests;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;
using Ingest.Targets.S3.Objects;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.S3;

/// <summary>s3 targets against the shared fauxqs S3 (127.0.0.1:4566), each test with its own bucket.</summary>
internal sealed class S3TestKit : IAsyncDisposable
{
    public const string Endpoint = "http://127.0.0.1:4566";

    private readonly List<ISyncTarget> _targets = [];

    public S3TestKit() => Bucket = $"s3t-{Guid.NewGuid():N}";

    /// <summary>A bucket name no other test uses.</summary>
    public string Bucket { get; }

    /// <summary>A client that checks what the target stored.</summary>
    public AmazonS3Client Client { get; } = CreateClient(Endpoint);

    public static AmazonS3Client CreateClient(string endpoint) =>
        new(new BasicAWSCredentials("test", "test"), new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    /// <summary>An s3 target on <see cref="Bucket"/>, bucket created at first use unless <paramref name="createMissing"/> is false.</summary>
    public ISyncTarget Target(string? key = null, bool createMissing = true, string endpoint = Endpoint, Func<string, HttpMessageHandler, HttpMessageHandler>? wrap = null)
    {
        var config = new IngestConfig
        {
            Aws = new AwsOptions { AccessKeyId = "test", SecretAccessKey = "test", CreateMissing = createMissing, Endpoints = { ["s3"] = endpoint } },
        };
        var options = new TargetOptions { Type = "s3", Bucket = Bucket, Key = key };
        var context = new SyncTargetContext(config, NullLoggerFactory.Instance, TimeProvider.System, new ServiceCollection().BuildServiceProvider(), wrap);
        var target = new S3TargetKind().Create("files", options, context);
        _targets.Add(target);
        return target;
    }

    /// <summary>A request as the gateway hands it to a sync target.</summary>
    public static IntegrationRequest Request(
        string method,
        string routeKey = "ANY /files/{proxy+}",
        IReadOnlyDictionary<string, string>? pathParameters = null,
        byte[]? body = null,
        string? contentType = null,
        bool bufferResponse = false)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.ContentType = contentType;
        http.Response.Body = new MemoryStream();
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        var route = new CompiledRoute
        {
            RouteKey = routeKey,
            Method = routeKey[..space],
            Template = RouteTemplate.TryParse(routeKey[(space + 1)..], out _)!,
            Target = new NoTarget(),
            CapturedHeaders = [],
            Ack = "memory",
            Timeout = TimeSpan.FromSeconds(29),
            Policy = ResourcePolicy.AllowAll,
            Auth = RouteAuthenticator.None,
            Throttle = ThrottlePolicy.Unlimited,
            Payload = PayloadPolicy.Compile(new IngestConfig(), new RouteOptions()),
        };
        return new IntegrationRequest
        {
            Context = new RequestContext { Http = http, Route = route, RequestId = Guid.CreateVersion7(), ClientIp = IPAddress.Loopback },
            PathParameters = pathParameters ?? new Dictionary<string, string>(),
            Body = body ?? [],
            RequestTime = DateTimeOffset.UtcNow,
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            BufferResponse = bufferResponse,
        };
    }

    public static Dictionary<string, string> Proxy(string key) => new() { ["proxy"] = key };

    public async ValueTask DisposeAsync()
    {
        foreach (var target in _targets)
        {
            await target.DisposeAsync();
        }
        try
        {
            var listing = await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket });
            foreach (var item in listing.S3Objects ?? [])
            {
                await Client.DeleteObjectAsync(Bucket, item.Key);
            }
            await Client.DeleteBucketAsync(Bucket);
        }
        catch (AmazonS3Exception)
        {
            // No bucket was made (validation and outage tests): nothing to clean.
        }
        Client.Dispose();
    }

    private sealed class NoTarget : IEventTarget
    {
        public string Name => "none";

        public int QueuedCount => 0;

        public EnqueueResult TryEnqueue(IngestEvent e) => EnqueueResult.Closed;

        public Task DrainAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
