using Amazon.S3;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Targets.S3.Objects;
using Ingest.TestSupport.Integration;
using Ingest.TestSupport.S3;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.S3;

/// <summary>s3 targets against the shared fauxqs S3 (127.0.0.1:4566), each test with its own bucket.</summary>
internal sealed class S3TestKit : IAsyncDisposable
{
    public const string Endpoint = S3TestBucket.Endpoint;

    private readonly List<ISyncTarget> _targets = [];
    private readonly S3TestBucket _bucket = new("s3t");

    /// <summary>A bucket name no other test uses.</summary>
    public string Bucket => _bucket.Name;

    /// <summary>A client that checks what the target stored.</summary>
    public AmazonS3Client Client => _bucket.Client;

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
        var http = IntegrationRequests.Http(method, "");
        http.Request.ContentType = contentType;
        http.Response.Body = new MemoryStream();
        return IntegrationRequests.For(
            IntegrationRequests.Route(routeKey),
            http,
            pathParameters ?? new Dictionary<string, string>(),
            DateTimeOffset.UtcNow,
            body ?? [],
            bufferResponse: bufferResponse);
    }

    public static Dictionary<string, string> Proxy(string key) => new() { ["proxy"] = key };

    public async ValueTask DisposeAsync()
    {
        foreach (var target in _targets)
        {
            await target.DisposeAsync();
        }
        await _bucket.DisposeAsync();
    }
}
