using System.Net;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Ingest.Core.Configuration;

namespace Ingest.Core.Aws;

/// <summary>Endpoint, credentials and HTTP handler of a target that calls an AWS service with SigV4.</summary>
public static class AwsTargetSettings
{
    /// <summary>Checks <c>aws.endpoints.KEY</c> and that static keys come in pairs.</summary>
    public static void Validate(string where, string endpointKey, string example, AwsOptions aws, ICollection<string> errors)
    {
        if (aws.Endpoints.TryGetValue(endpointKey, out var endpoint) && !IsHttpUrl(endpoint))
        {
            errors.Add($"aws.endpoints.{endpointKey}: '{endpoint}' is not an absolute http(s) URL (used by {where}). Write e.g. {example}.");
        }
        if (!string.IsNullOrEmpty(aws.AccessKeyId) && string.IsNullOrEmpty(aws.SecretAccessKey))
        {
            errors.Add($"aws.secretAccessKey: missing while aws.accessKeyId is set (needed by {where}). Set it, e.g. secretAccessKey: ${{AWS_SECRET_ACCESS_KEY}}.");
        }
    }

    /// <summary><c>aws.endpoints.KEY</c>, else <paramref name="fallback"/> (the AWS endpoint; <c>.cn</c> added in China regions).</summary>
    public static Uri Endpoint(string name, string endpointKey, AwsOptions aws, string fallback)
    {
        if (!aws.Endpoints.TryGetValue(endpointKey, out var configured) || string.IsNullOrWhiteSpace(configured))
        {
            return new Uri(aws.Region.StartsWith("cn-", StringComparison.Ordinal) ? fallback + ".cn" : fallback);
        }
        return IsHttpUrl(configured)
            ? new Uri(configured)
            : throw new InvalidOperationException($"aws.endpoints.{endpointKey}: '{configured}' (used by targets.{name}) is not an http(s) URL.");
    }

    /// <summary>Static keys from <c>aws:</c>, else the SDK's chain (environment, profile, web identity, container and instance roles).</summary>
    public static Func<CancellationToken, ValueTask<SigV4Credentials>> Credentials(string name, AwsOptions aws)
    {
        if (!string.IsNullOrEmpty(aws.AccessKeyId) && !string.IsNullOrEmpty(aws.SecretAccessKey))
        {
            var fixedCredentials = new SigV4Credentials(aws.AccessKeyId, aws.SecretAccessKey, string.IsNullOrEmpty(aws.SessionToken) ? null : aws.SessionToken);
            return _ => ValueTask.FromResult(fixedCredentials);
        }
        AWSCredentials chain;
        try
        {
            chain = DefaultAWSCredentialsIdentityResolver.GetCredentials(null);
        }
        catch (Exception ex)
        {
            throw new InvalidOperationException(
                $"targets.{name}: no AWS credentials. Set aws.accessKeyId and aws.secretAccessKey (e.g. ${{AWS_SECRET_ACCESS_KEY}}), or provide them through AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a shared profile or an instance role. ({ex.Message})",
                ex);
        }
        // Refreshing credentials (roles) are asked on every call; the SDK caches them until they near expiry.
        return async cancellationToken =>
        {
            var current = await chain.GetCredentialsAsync().WaitAsync(cancellationToken);
            return new SigV4Credentials(current.AccessKey, current.SecretKey, current.UseToken ? current.Token : null);
        };
    }

    public static SocketsHttpHandler Handler() => new()
    {
        // Re-resolve DNS now and then; AWS endpoints move.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectTimeout = TimeSpan.FromSeconds(10),
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
        UseProxy = true,
    };

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
