using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Aws;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Core.Auth;

/// <summary>
/// Verifies the AWS Signature Version 4 of an incoming request (Authorization header or presigned
/// query) against configured access keys: recomputes the canonical request from what arrived and
/// compares signatures in constant time. Any region and service in the credential scope are
/// accepted: they are part of the signing key, so they are authenticated all the same.
/// </summary>
public sealed class SigV4Verifier
{
    /// <summary>Longest lifetime of a presigned URL (AWS: 7 days).</summary>
    public static readonly TimeSpan MaxPresignedExpiry = TimeSpan.FromDays(7);

    private readonly Dictionary<string, Secret> _secrets;
    private readonly TimeSpan _clockSkew;
    private readonly TimeProvider _time;

    public SigV4Verifier(IEnumerable<KeyValuePair<string, string>> secretsByAccessKeyId, TimeSpan clockSkew, TimeProvider time)
    {
        _secrets = new Dictionary<string, Secret>(StringComparer.Ordinal);
        foreach (var (accessKeyId, secret) in secretsByAccessKeyId)
        {
            _secrets.TryAdd(accessKeyId, new Secret(secret));
        }
        _clockSkew = clockSkew;
        _time = time;
    }

    /// <summary>Null when the signature is valid (and sets <paramref name="accessKeyId"/>); else the 403 to answer.</summary>
    public Rejection? Verify(HttpRequest request, ReadOnlySpan<byte> body, out string? accessKeyId)
    {
        accessKeyId = null;
        var (rawPath, rawQuery) = RawTarget(request);
        var headers = request.Headers;
        var query = SigV4Canonical.ParseQuery(rawQuery);

        Parts parts;
        if (headers.Authorization.Count > 0)
        {
            var authorization = headers.Authorization.ToString();
            if (!authorization.StartsWith(SigV4Canonical.Algorithm + " ", StringComparison.Ordinal))
            {
                return AuthRejections.IamNotSigV4;
            }
            if (!TryParseAuthorization(authorization, out parts))
            {
                return AuthRejections.IamMalformed;
            }
            parts.AmzDate = headers["x-amz-date"].ToString();
        }
        else if (Find(query, "X-Amz-Signature") is not null)
        {
            if (!TryParsePresigned(query, out parts))
            {
                return AuthRejections.IamMalformed;
            }
            // The signature is not part of what it signs.
            query.RemoveAll(static p => p.Key == "X-Amz-Signature");
        }
        else
        {
            return AuthRejections.IamUnsigned;
        }

        if (!DateTimeOffset.TryParseExact(parts.AmzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return AuthRejections.IamNoDate;
        }
        var now = _time.GetUtcNow();
        if (parts.Expires is { } expires
            ? now < signedAt - _clockSkew || now > signedAt + expires
            : (now - signedAt).Duration() > _clockSkew)
        {
            return AuthRejections.IamExpired;
        }
        if (parts.DateStamp != parts.AmzDate[..8])
        {
            return AuthRejections.IamScopeDate;
        }
        if (!_secrets.TryGetValue(parts.AccessKeyId, out var secret))
        {
            return AuthRejections.IamUnknownKey;
        }
        if (Array.IndexOf(parts.SignedHeaders, "host") < 0)
        {
            return AuthRejections.IamHostNotSigned;
        }

        string[] payloadHashes;
        var declared = headers["x-amz-content-sha256"];
        if (declared.Count > 0)
        {
            var payloadHash = declared.ToString();
            if (payloadHash.StartsWith("STREAMING-", StringComparison.Ordinal))
            {
                return AuthRejections.IamStreaming;
            }
            if (payloadHash != SigV4Canonical.UnsignedPayload
                && !string.Equals(payloadHash, SigV4Canonical.HashHex(body), StringComparison.OrdinalIgnoreCase))
            {
                return AuthRejections.IamPayloadHash;
            }
            payloadHashes = [payloadHash];
        }
        else
        {
            // As AWS services other than S3 do, presigned URLs included: the signature covers the
            // body that arrived (a URL presigned without a body is good for an empty body only).
            payloadHashes = [SigV4Canonical.HashHex(body)];
        }

        Span<byte> provided = stackalloc byte[32];
        if (parts.Signature.Length != 64
            || Convert.FromHexString(parts.Signature, provided, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != 32)
        {
            return AuthRejections.IamBadSignature;
        }

        var canonicalQuery = SigV4Canonical.CanonicalQuery(query);
        var canonicalHeaders = CanonicalHeaders(headers, parts.SignedHeaders);
        var signedHeaders = string.Join(';', parts.SignedHeaders);
        var scope = SigV4Canonical.Scope(parts.DateStamp, parts.Region, parts.Service);
        var key = secret.KeyFor(parts.DateStamp, parts.Region, parts.Service);
        Span<byte> expected = stackalloc byte[32];

        // Clients disagree on the canonical URI (AWS services encode the path twice, S3 and the
        // published test suite once; S3 does not normalize). Try each distinct form; usually one.
        var tried = new List<string>(UriForms.Length);
        foreach (var (decodeFirst, normalize) in UriForms)
        {
            var canonicalUri = SigV4Canonical.CanonicalUri(rawPath, decodeFirst, normalize);
            if (tried.Contains(canonicalUri))
            {
                continue;
            }
            tried.Add(canonicalUri);
            foreach (var payloadHash in payloadHashes)
            {
                var canonicalRequest = string.Concat(
                    request.Method, "\n", canonicalUri, "\n", canonicalQuery, "\n", canonicalHeaders, "\n", signedHeaders, "\n", payloadHash);
                var stringToSign = SigV4Canonical.StringToSign(parts.AmzDate, scope, canonicalRequest);
                HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign), expected);
                if (CryptographicOperations.FixedTimeEquals(expected, provided))
                {
                    accessKeyId = parts.AccessKeyId;
                    return null;
                }
            }
        }
        return AuthRejections.IamBadSignature;
    }

    private static readonly (bool DecodeFirst, bool Normalize)[] UriForms = [(false, true), (true, true), (true, false), (false, false)];

    private static (string Path, string Query) RawTarget(HttpRequest request)
    {
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            if (raw is not null && Uri.TryCreate(raw, UriKind.Absolute, out var absolute))
            {
                raw = absolute.PathAndQuery;
            }
            else
            {
                raw = (request.PathBase + request.Path).ToUriComponent() + request.QueryString.ToUriComponent();
            }
        }
        var question = raw.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? (raw, "") : (raw[..question], raw[(question + 1)..]);
    }

    private static string CanonicalHeaders(IHeaderDictionary headers, string[] names)
    {
        var builder = new StringBuilder(256);
        foreach (var name in names)
        {
            builder.Append(name).Append(':');
            var values = name == "host" ? headers.Host : headers[name];
            for (var i = 0; i < values.Count; i++)
            {
                if (i > 0)
                {
                    builder.Append(',');
                }
                SigV4Canonical.AppendHeaderValue(builder, values[i]);
            }
            builder.Append('\n');
        }
        return builder.ToString();
    }

    private static bool TryParseAuthorization(string authorization, out Parts parts)
    {
        parts = new Parts();
        string? credential = null, signedHeaders = null, signature = null;
        foreach (var item in authorization[(SigV4Canonical.Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (item.StartsWith("Credential=", StringComparison.Ordinal))
            {
                credential = item["Credential=".Length..];
            }
            else if (item.StartsWith("SignedHeaders=", StringComparison.Ordinal))
            {
                signedHeaders = item["SignedHeaders=".Length..];
            }
            else if (item.StartsWith("Signature=", StringComparison.Ordinal))
            {
                signature = item["Signature=".Length..];
            }
        }
        return credential is not null && signedHeaders is not null && signature is not null
            && parts.TrySet(credential, signedHeaders, signature);
    }

    private static bool TryParsePresigned(List<KeyValuePair<string, string>> query, out Parts parts)
    {
        parts = new Parts();
        if (Find(query, "X-Amz-Algorithm") != SigV4Canonical.Algorithm
            || Find(query, "X-Amz-Credential") is not { } credential
            || Find(query, "X-Amz-SignedHeaders") is not { } signedHeaders
            || Find(query, "X-Amz-Signature") is not { } signature
            || !int.TryParse(Find(query, "X-Amz-Expires"), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || expires < 1 || expires > MaxPresignedExpiry.TotalSeconds)
        {
            return false;
        }
        parts.AmzDate = Find(query, "X-Amz-Date") ?? "";
        parts.Expires = TimeSpan.FromSeconds(expires);
        return parts.TrySet(credential, signedHeaders, signature);
    }

    private static string? Find(List<KeyValuePair<string, string>> query, string name)
    {
        foreach (var (key, value) in query)
        {
            if (key == name)
            {
                return value;
            }
        }
        return null;
    }

    private sealed class Parts
    {
        public string AccessKeyId = "";
        public string DateStamp = "";
        public string Region = "";
        public string Service = "";
        public string[] SignedHeaders = [];
        public string Signature = "";
        public string AmzDate = "";
        public TimeSpan? Expires;

        public bool TrySet(string credential, string signedHeaders, string signature)
        {
            var scope = credential.Split('/');
            if (scope.Length != 5 || scope[4] != "aws4_request" || scope[0].Length == 0 || scope[1].Length != 8)
            {
                return false;
            }
            (AccessKeyId, DateStamp, Region, Service) = (scope[0], scope[1], scope[2], scope[3]);
            SignedHeaders = signedHeaders.Split(';');
            if (SignedHeaders.Any(static h => h.Length == 0 || h.Any(char.IsAsciiLetterUpper)))
            {
                return false;
            }
            Signature = signature;
            return true;
        }
    }

    /// <summary>A secret and the signing key of the last day, region and service it signed for.</summary>
    private sealed class Secret(string secret)
    {
        private readonly SigV4SigningKeyCache _keys = new();

        public byte[] KeyFor(string dateStamp, string region, string service) => _keys.KeyFor(secret, dateStamp, region, service);
    }
}
