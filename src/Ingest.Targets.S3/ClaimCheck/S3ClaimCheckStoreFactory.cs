using System.Collections.Concurrent;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline.ClaimCheck;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.S3.ClaimCheck;

/// <summary>
/// One <see cref="S3ClaimCheckStore"/> (and S3 client) per target and settings, kept across
/// deployments. Endpoint <c>aws.endpoints.s3</c> (path-style addressing, as S3 stand-ins need);
/// the SDK retries a failed PUT twice within the target's timeout (default 29s).
/// </summary>
public sealed class S3ClaimCheckStoreFactory(ILoggerFactory? loggers = null) : IClaimCheckStoreFactory, IDisposable
{
    private readonly ConcurrentDictionary<string, S3ClaimCheckStore> _stores = new(StringComparer.Ordinal);

    public IClaimCheckStore Get(string targetName, AwsOptions aws, TimeSpan timeout)
    {
        aws.Endpoints.TryGetValue("s3", out var endpoint);
        var settings = string.Join('|', targetName, aws.Region, endpoint, aws.AccessKeyId, aws.CreateMissing, timeout.Ticks);
        return _stores.GetOrAdd(settings, _ => new S3ClaimCheckStore(
            CreateClient(aws, endpoint, timeout),
            aws.CreateMissing,
            (loggers ?? NullLoggerFactory.Instance).CreateLogger<S3ClaimCheckStore>()));
    }

    /// <summary>The S3 client of the settings: custom endpoint (path style) or the region's.</summary>
    public static AmazonS3Client CreateClient(AwsOptions aws, string? endpoint, TimeSpan timeout)
    {
        var config = new AmazonS3Config
        {
            Timeout = timeout,
            MaxErrorRetry = 2,
            // Checksums only where S3 requires them: stand-ins do not all read trailing checksums.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (!string.IsNullOrWhiteSpace(endpoint))
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = aws.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(aws.Region);
        }
        if (string.IsNullOrEmpty(aws.AccessKeyId) || string.IsNullOrEmpty(aws.SecretAccessKey))
        {
            return new AmazonS3Client(config);
        }
        AWSCredentials credentials = string.IsNullOrEmpty(aws.SessionToken)
            ? new BasicAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey)
            : new SessionAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey, aws.SessionToken);
        return new AmazonS3Client(credentials, config);
    }

    public void Dispose()
    {
        foreach (var store in _stores.Values)
        {
            store.Dispose();
        }
    }
}
