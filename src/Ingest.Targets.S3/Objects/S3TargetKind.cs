using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Core.Routing;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.S3.Objects;

/// <summary>
/// <c>type: s3</c>: objects read and written by path parameters (<see cref="S3ObjectTarget"/>).
/// Settings: <c>bucket</c> (required), <c>key</c> (default: the route's greedy <c>{proxy+}</c>),
/// endpoint <c>aws.endpoints.s3</c> (path-style addressing, as S3 stand-ins need), and
/// <c>aws.createMissing</c> to create the bucket at first use.
/// </summary>
public sealed class S3TargetKind : ISyncTargetKind
{
    private static readonly string[] Methods = ["GET", "HEAD", "PUT", "POST", "DELETE", "ANY"];

    public string Type => "s3";

    public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            errors.Add($"{where}.bucket: missing. Name the S3 bucket, e.g. bucket: uploads.");
        }
        else if (!options.Bucket.Contains("${", StringComparison.Ordinal) && BucketNameError(options.Bucket) is { } bucketError)
        {
            errors.Add($"{where}.bucket: '{options.Bucket}' {bucketError}.");
        }
        if (options.Key is not null && S3ObjectKey.TryParse(options.Key, out var keyError) is null)
        {
            errors.Add($"{where}.key: {keyError}.");
        }
        if (config.Aws.Endpoints.TryGetValue("s3", out var endpoint) && !string.IsNullOrWhiteSpace(endpoint)
            && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            errors.Add($"aws.endpoints.s3: '{endpoint}' is not an http(s) URL, e.g. http://127.0.0.1:4566 (used by target {name}).");
        }
    }

    public void ValidateRoute(string where, RouteOptions route, TargetOptions options, ICollection<string> errors)
    {
        var space = route.Route.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0 || RouteTemplate.TryParse(route.Route[(space + 1)..], out _) is not { } template)
        {
            return; // The route key's own check reports it.
        }
        var method = route.Route[..space];
        if (!Methods.Contains(method, StringComparer.Ordinal))
        {
            errors.Add($"{where}.route: target '{route.Target}' (s3) serves GET, HEAD, PUT, POST and DELETE (or ANY), not {method}.");
        }
        var parameters = template.ParameterNames.ToHashSet(StringComparer.Ordinal);
        if (options.Key is null)
        {
            if (S3ObjectTarget.GreedyKey(template) is null)
            {
                errors.Add($"{where}: target '{route.Target}' (s3) takes the object key from a greedy path parameter; end the route with /{{proxy+}} or set targets.{route.Target}.key (e.g. uploads/{{id}}).");
            }
            return;
        }
        if (S3ObjectKey.TryParse(options.Key, out _) is { } key)
        {
            foreach (var name in key.ParameterNames.Where(n => !parameters.Contains(n)).Distinct(StringComparer.Ordinal))
            {
                errors.Add($"{where}: targets.{route.Target}.key '{options.Key}' reads {{{name}}}, which this route does not have. Add it to the route's path or change the key.");
            }
        }
    }

    public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context)
    {
        var aws = context.Config.Aws;
        aws.Endpoints.TryGetValue("s3", out var endpoint);
        var config = new AmazonS3Config
        {
            // The route timeout cancels the call; the SDK retries connection failures and 5xx twice within it.
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
        AwsSdkHttpClientFactory? httpFactory = null;
        if (context.WrapHttpHandler is { } wrap)
        {
            httpFactory = new AwsSdkHttpClientFactory(wrap(name, new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
            }));
            config.HttpClientFactory = httpFactory;
        }
        var client = string.IsNullOrEmpty(aws.AccessKeyId) || string.IsNullOrEmpty(aws.SecretAccessKey)
            ? new AmazonS3Client(config)
            : new AmazonS3Client(
                string.IsNullOrEmpty(aws.SessionToken)
                    ? new BasicAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey)
                    : new SessionAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey, aws.SessionToken),
                config);
        var key = options.Key is null ? null : S3ObjectKey.TryParse(options.Key, out _);
        return new S3ObjectTarget(name, options.Bucket!, key, client, aws.CreateMissing, context.LoggerFactory.CreateLogger<S3ObjectTarget>(), httpFactory);
    }

    /// <summary>S3's bucket naming rules (3-63 of a-z, 0-9, '.', '-'; letter or digit at both ends), or null.</summary>
    internal static string? BucketNameError(string bucket)
    {
        if (bucket.Length is < 3 or > 63)
        {
            return "must be 3 to 63 characters long";
        }
        if (!bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-'))
        {
            return "may hold only lower-case letters, digits, '.' and '-'";
        }
        if (!char.IsAsciiLetterOrDigit(bucket[0]) || !char.IsAsciiLetterOrDigit(bucket[^1]))
        {
            return "must start and end with a letter or digit";
        }
        return bucket.Contains("..", StringComparison.Ordinal) ? "may not contain '..'" : null;
    }
}
