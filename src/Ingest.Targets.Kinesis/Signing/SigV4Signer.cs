using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;

namespace Ingest.Targets.Kinesis;

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

/// <summary>
/// AWS Signature Version 4 (header form) for one region and service. Written here rather than
/// taken from AWSSDK.Core because the SDK's signer always signs <c>x-amz-content-sha256</c>, so it
/// cannot be checked against AWS's published test vectors, and its handler reads the clock itself.
/// Time comes from a <see cref="TimeProvider"/> so signatures are reproducible in tests.
/// </summary>
public sealed class SigV4Signer
{
    /// <summary>The algorithm name in the Authorization header.</summary>
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>SHA-256 of an empty payload, lower-case hex.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private readonly TimeProvider _time;

    // The derived key only changes with the day and the secret; one batch call per key lookup.
    private volatile SigningKey? _lastKey;

    public SigV4Signer(string region, string service, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrEmpty(region);
        ArgumentException.ThrowIfNullOrEmpty(service);
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
        ImmutableCredentials credentials,
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
            headers.Add(new("X-Amz-Security-Token", credentials.Token));
        }

        var canonicalHeaders = CanonicalHeaders(headers, out var signedHeaders);
        var canonicalRequest = string.Concat(
            method.ToUpperInvariant(), "\n",
            CanonicalUri(path, normalizePath), "\n",
            CanonicalQuery(query), "\n",
            canonicalHeaders, "\n",
            signedHeaders, "\n",
            payloadHash);
        var scope = $"{dateStamp}/{Region}/{Service}/aws4_request";
        var stringToSign = string.Concat(
            Algorithm, "\n", amzDate, "\n", scope, "\n", HashHex(Encoding.UTF8.GetBytes(canonicalRequest)));

        Span<byte> signature = stackalloc byte[32];
        HMACSHA256.HashData(KeyFor(credentials.SecretKey, dateStamp), Encoding.UTF8.GetBytes(stringToSign), signature);
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
    public SigV4Signature Sign(HttpRequestMessage request, ReadOnlySpan<byte> payload, ImmutableCredentials credentials)
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
    public static string HashHex(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>
    /// Canonical URI: each segment URI-encoded (RFC 3986 unreserved characters kept). With
    /// <paramref name="normalize"/>, <c>.</c>, <c>..</c> and empty segments are resolved first.
    /// The path is taken as sent, so an escaped path gets encoded a second time, as AWS expects.
    /// </summary>
    public static string CanonicalUri(string path, bool normalize)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "/";
        }
        var segments = path.Split('/');
        var kept = new List<string>(segments.Length);
        foreach (var segment in segments)
        {
            if (!normalize)
            {
                kept.Add(segment);
            }
            else if (segment == "..")
            {
                if (kept.Count > 0)
                {
                    kept.RemoveAt(kept.Count - 1);
                }
            }
            else if (segment.Length > 0 && segment != ".")
            {
                kept.Add(segment);
            }
        }
        var builder = new StringBuilder(path.Length + 8);
        if (normalize)
        {
            foreach (var segment in kept)
            {
                builder.Append('/');
                UriEncode(builder, segment);
            }
            if (kept.Count == 0 || path.EndsWith('/'))
            {
                builder.Append('/');
            }
            return builder.ToString();
        }
        for (var i = 0; i < kept.Count; i++)
        {
            if (i > 0)
            {
                builder.Append('/');
            }
            UriEncode(builder, kept[i]);
        }
        return builder.Length == 0 ? "/" : builder.ToString();
    }

    /// <summary>Canonical query: names and values decoded, re-encoded, sorted by name then value.</summary>
    public static string CanonicalQuery(string query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return "";
        }
        var pairs = new List<(string Name, string Value)>();
        foreach (var part in query.Split('&'))
        {
            if (part.Length == 0)
            {
                continue;
            }
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals];
            var value = equals < 0 ? "" : part[(equals + 1)..];
            pairs.Add((Encode(Uri.UnescapeDataString(name)), Encode(Uri.UnescapeDataString(value))));
        }
        pairs.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        var builder = new StringBuilder(query.Length + 16);
        foreach (var (name, value) in pairs)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }
            builder.Append(name).Append('=').Append(value);
        }
        return builder.ToString();

        static string Encode(string s)
        {
            var b = new StringBuilder(s.Length);
            UriEncode(b, s);
            return b.ToString();
        }
    }

    /// <summary>
    /// Canonical headers block (each line <c>name:value\n</c>, sorted by lower-case name; values
    /// trimmed, whitespace runs collapsed to one space, repeated names joined by commas).
    /// </summary>
    public static string CanonicalHeaders(IEnumerable<KeyValuePair<string, string>> headers, out string signedHeaders)
    {
        var byName = new SortedDictionary<string, StringBuilder>(StringComparer.Ordinal);
        foreach (var (name, value) in headers)
        {
            var key = name.Trim().ToLowerInvariant();
            if (byName.TryGetValue(key, out var existing))
            {
                existing.Append(',');
                AppendCanonicalValue(existing, value);
            }
            else
            {
                var builder = new StringBuilder(value.Length);
                AppendCanonicalValue(builder, value);
                byName[key] = builder;
            }
        }
        var block = new StringBuilder(256);
        var signed = new StringBuilder(64);
        foreach (var (name, value) in byName)
        {
            block.Append(name).Append(':').Append(value).Append('\n');
            if (signed.Length > 0)
            {
                signed.Append(';');
            }
            signed.Append(name);
        }
        signedHeaders = signed.ToString();
        return block.ToString();
    }

    private static void AppendCanonicalValue(StringBuilder builder, string value)
    {
        var span = value.AsSpan().Trim();
        var previousWasSpace = false;
        foreach (var c in span)
        {
            if (char.IsWhiteSpace(c))
            {
                if (!previousWasSpace)
                {
                    builder.Append(' ');
                }
                previousWasSpace = true;
                continue;
            }
            builder.Append(c);
            previousWasSpace = false;
        }
    }

    // RFC 3986 encoding as SigV4 wants it: unreserved kept, everything else %XX of its UTF-8 bytes.
    private static void UriEncode(StringBuilder builder, string value)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '.' or '_' or '~')
            {
                builder.Append(c);
                continue;
            }
            var length = char.IsHighSurrogate(c) && i + 1 < value.Length
                ? Encoding.UTF8.GetBytes(value.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(value.AsSpan(i, 1), utf8);
            for (var j = 0; j < length; j++)
            {
                builder.Append('%').Append(utf8[j].ToString("X2", CultureInfo.InvariantCulture));
            }
        }
    }

    private static void RemoveHeader(List<KeyValuePair<string, string>> headers, string name) =>
        headers.RemoveAll(h => h.Key.Equals(name, StringComparison.OrdinalIgnoreCase));

    private byte[] KeyFor(string secret, string dateStamp)
    {
        var last = _lastKey;
        if (last is not null && last.DateStamp == dateStamp && last.Secret == secret)
        {
            return last.Key;
        }
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(dateStamp));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(Region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(Service));
        key = HMACSHA256.HashData(key, "aws4_request"u8);
        _lastKey = new SigningKey(dateStamp, secret, key);
        return key;
    }

    private sealed record SigningKey(string DateStamp, string Secret, byte[] Key);
}
