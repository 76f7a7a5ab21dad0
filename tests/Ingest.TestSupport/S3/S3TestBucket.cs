using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Ingest.TestSupport.S3;

/// <summary>
/// A bucket name no other test uses on the shared fauxqs S3 (127.0.0.1:4566), a client to check
/// what was stored there, and, on dispose, removal of the bucket and its objects if any were made.
/// </summary>
public sealed class S3TestBucket(string prefix) : IAsyncDisposable
{
    public const string Endpoint = "http://127.0.0.1:4566";

    /// <summary>The bucket name: <c>prefix-</c> and a new GUID.</summary>
    public string Name { get; } = $"{prefix}-{Guid.NewGuid():N}";

    /// <summary>A path-style client with the stand-in's test keys.</summary>
    public AmazonS3Client Client { get; } =
        new(new BasicAWSCredentials("test", "test"), new AmazonS3Config { ServiceURL = Endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    public async ValueTask DisposeAsync()
    {
        try
        {
            var listing = await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Name });
            foreach (var item in listing.S3Objects ?? [])
            {
                await Client.DeleteObjectAsync(Name, item.Key);
            }
            await Client.DeleteBucketAsync(Name);
        }
        catch (AmazonS3Exception)
        {
            // No bucket was made (validation and outage tests): nothing to clean.
        }
        Client.Dispose();
    }
}
