using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ingest.Core.Aws;

/// <summary>The parts of one AWS Signature Version 4, kept for tests and diagnostics.</summary>
/// <param name="AmzDate">The <c>X-Amz-Date</c> value, e.g. <c>20150830T123600Z</c>.</param>
/// <param name="SignedHeaders">Lower-case header names, sorted, joined by <c>;</c>.</param>
/// <param name="CanonicalRequest">The canonical request that was hashed.</param>
/// <param name="StringToSign">The string the signing key signed.</param>
/// <param name="Authorization">The <c>Authorization</c> header value.</param>
public readonly record struct SigV4Signature(
    string AmzDate,
    string SignedHeaders,
    string CanonicalRequest,
    string StringToSign,
    string Authorization);

/// <summary>Access key, secret and optional session token to sign with.</summary>
public readonly record struct SigV4Credentials(string AccessKey, string SecretKey, string? Token = null)
{
    /// <summary>Whether there is a session token to send and sign.</summary>
    public bool UseToken => !string.IsNullOrEmpty(Token);
}

/// <summary>
/// AWS Signature Version 4 (header form) for one region and service. Written here rather than
/// taken from AWSSDK.Core because the SDK's signer always signs <c>x-amz-content-sha256</c>, so it
/// cannot be checked against AWS's published test vectors, and its handler reads the clock itself.
/// Time comes from a <see cref="TimeProvider"/> so signatures are reproducible in tests.
/// </summary>
public sealed class SigV4Signer
{
    /// <summary>The algorithm name in the Authorization header.</summary>
    public const string Algorithm = SigV4Canonical.Algorithm;

    /// <summary>SHA-256 of an empty payload, lower-case hex.</summary>
    public const string EmptyPayloadHash = SigV4Canonical.EmptyPayloadHash;

    private readonly TimeProvider _time;

    // The derived key only changes with the day and the secret; one HMAC chain per day.
    private readonly SigV4SigningKeyCache _keys = new();

    public SigV4Signer(string region, string service, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(timeProvider);
        Region = region;
        Service = service;
        _time = timeProvider;
    }

    /// <summary>Region in the credential scope.</summary>
    public string Region { get; }

    /// <summary>Service in the credential scope (e.g. <c>kinesis</c>).</summary>
    public string Service { get; }

    /// <summary>
    /// Signs a request given as parts. <paramref name="headers"/> are the headers as sent (any case;
    /// a repeated name is joined with commas in order) and must include <c>host</c>; all of them are
    /// signed. <c>X-Amz-Date</c>, and <c>X-Amz-Security-Token</c> for session credentials, are added
    /// to the list so the caller sends exactly what was signed.
    /// </summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="path">Path as on the wire (not yet canonical).</param>
    /// <param name="query">Query string as on the wire, without <c>?</c>; empty when none.</param>
    /// <param name="headers">Headers to sign; gets the date and token headers added.</param>
    /// <param name="payloadHash">Lower-case hex SHA-256 of the body.</param>
    /// <param name="credentials">Access key, secret and optional session token.</param>
    /// <param name="normalizePath">Remove <c>.</c>, <c>..</c> and empty path segments (all services but S3).</param>
    public SigV4Signature Sign(
        string method,
        string path,
        string query,
        List<KeyValuePair<string, string>> headers,
        string payloadHash,
        SigV4Credentials credentials,
        bool normalizePath = true)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var dateStamp = amzDate[..8];
        RemoveHeader(headers, "x-amz-date");
        headers.Add(new("X-Amz-Date", amzDate));
        if (credentials.UseToken)
        {
            RemoveHeader(headers, "x-amz-security-token");
            headers.Add(new("X-Amz-Security-Token", credentials.Token!));
        }

        var canonicalHeaders = SigV4Canonical.CanonicalHeaders(headers, out var signedHeaders);
        var canonicalRequest = string.Concat(
            method.ToUpperInvariant(), "\n",
            SigV4Canonical.CanonicalUri(path, decodeFirst: false, normalizePath), "\n",
            SigV4Canonical.CanonicalQuery(query), "\n",
            canonicalHeaders, "\n",
            signedHeaders, "\n",
            payloadHash);
        var scope = SigV4Canonical.Scope(dateStamp, Region, Service);
        var stringToSign = SigV4Canonical.StringToSign(amzDate, scope, canonicalRequest);

        Span<byte> signature = stackalloc byte[32];
        HMACSHA256.HashData(_keys.KeyFor(credentials.SecretKey, dateStamp, Region, Service), Encoding.UTF8.GetBytes(stringToSign), signature);
        var authorization = string.Concat(
            Algorithm, " Credential=", credentials.AccessKey, "/", scope,
            ", SignedHeaders=", signedHeaders,
            ", Signature=", Convert.ToHexStringLower(signature));
        return new SigV4Signature(amzDate, signedHeaders, canonicalRequest, stringToSign, authorization);
    }

    /// <summary>
    /// Signs an <see cref="HttpRequestMessage"/> whose body is <paramref name="payload"/>: signs
    /// <c>host</c>, <c>content-type</c> and every <c>x-amz-*</c> header, then sets
    /// <c>Host</c>, <c>X-Amz-Date</c>, <c>X-Amz-Security-Token</c> and <c>Authorization</c>.
    /// Headers added after this call are not signed.
    /// </summary>
    public SigV4Signature Sign(HttpRequestMessage request, ReadOnlySpan<byte> payload, SigV4Credentials credentials)
    {
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        // Set Host explicitly so what is sent is what was signed (default ports are left out).
        var host = request.Headers.Host ?? uri.Authority;
        request.Headers.Host = host;
        var headers = new List<KeyValuePair<string, string>>(6) { new("host", host) };
        if (request.Content?.Headers.ContentType is { } contentType)
        {
            headers.Add(new("content-type", contentType.ToString()));
        }
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            if (name.StartsWith("x-amz-", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("x-amz-date", StringComparison.OrdinalIgnoreCase)
                && !name.Equals("x-amz-security-token", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var value in values)
                {
                    headers.Add(new(name, value));
                }
            }
        }

        var signature = Sign(request.Method.Method, uri.AbsolutePath, uri.Query.TrimStart('?'), headers, HashHex(payload), credentials);
        request.Headers.Remove("X-Amz-Date");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", signature.AmzDate);
        request.Headers.Remove("X-Amz-Security-Token");
        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
        return signature;
    }

    /// <summary>Lower-case hex SHA-256 of <paramref name="data"/>.</summary>
    public static string HashHex(ReadOnlySpan<byte> data) => SigV4Canonical.HashHex(data);

    private static void RemoveHeader(List<KeyValuePair<string, string>> headers, string name) =>
        headers.RemoveAll(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));
}
