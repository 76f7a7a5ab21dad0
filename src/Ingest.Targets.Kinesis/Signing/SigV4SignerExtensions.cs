using Amazon.Runtime;
using Ingest.Core.Aws;

namespace Ingest.Targets.Kinesis;

/// <summary>Signs with the shared <see cref="SigV4Signer"/> using AWSSDK.Core credentials.</summary>
public static class SigV4SignerExtensions
{
    /// <inheritdoc cref="SigV4Signer.Sign(string, string, string, List{KeyValuePair{string, string}}, string, SigV4Credentials, bool)"/>
    public static SigV4Signature Sign(
        this SigV4Signer signer,
        string method,
        string path,
        string query,
        List<KeyValuePair<string, string>> headers,
        string payloadHash,
        ImmutableCredentials credentials,
        bool normalizePath = true) =>
        signer.Sign(method, path, query, headers, payloadHash, credentials.ToSigV4(), normalizePath);

    /// <inheritdoc cref="SigV4Signer.Sign(HttpRequestMessage, ReadOnlySpan{byte}, SigV4Credentials)"/>
    public static SigV4Signature Sign(this SigV4Signer signer, HttpRequestMessage request, ReadOnlySpan<byte> payload, ImmutableCredentials credentials) =>
        signer.Sign(request, payload, credentials.ToSigV4());

    /// <summary>The access key, secret and (when in use) session token of AWSSDK.Core credentials.</summary>
    public static SigV4Credentials ToSigV4(this ImmutableCredentials credentials) =>
        new(credentials.AccessKey, credentials.SecretKey, credentials.UseToken ? credentials.Token : null);
}
