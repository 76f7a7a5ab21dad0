using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ingest.Core.Aws;

/// <summary>
/// The pieces of AWS Signature Version 4 that signing and verifying share: canonical URI, query
/// and header values, payload hash, the string to sign and the derived signing key.
/// </summary>
public static class SigV4Canonical
{
    /// <summary>The algorithm name in the Authorization header and presigned query.</summary>
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The payload hash of a request whose body is not signed.</summary>
    public const string UnsignedPayload = "UNSIGNED-PAYLOAD";

    /// <summary>SHA-256 of an empty payload, lower-case hex.</summary>
    public const string EmptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    /// <summary>
    /// Canonical URI of a path as sent on the wire. With <paramref name="decodeFirst"/> each segment
    /// is percent-decoded before it is encoded (single encoding, as S3 and the test suite do);
    /// without, the wire form is encoded again (the double encoding of the other AWS services).
    /// With <paramref name="normalize"/>, <c>.</c>, <c>..</c> and empty segments are resolved first.
    /// </summary>
    public static string CanonicalUri(string rawPath, bool decodeFirst, bool normalize)
    {
        if (string.IsNullOrEmpty(rawPath) || rawPath == "/")
        {
            return "/";
        }
        var segments = rawPath.Split('/');
        var kept = new List<string>(segments.Length);
        foreach (var raw in segments)
        {
            var segment = decodeFirst ? Uri.UnescapeDataString(raw) : raw;
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
        var builder = new StringBuilder(rawPath.Length + 16);
        if (normalize)
        {
            foreach (var segment in kept)
            {
                builder.Append('/');
                UriEncode(builder, segment);
            }
            if (kept.Count == 0 || rawPath.EndsWith('/'))
            {
                builder.Append('/');
            }
            return builder.ToString();
        }
        // Not normalized: the segments as sent (the first is empty for a path starting with '/').
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

    /// <summary>Splits a raw query string (without <c>?</c>) into decoded name/value pairs, in order.</summary>
    public static List<KeyValuePair<string, string>> ParseQuery(string rawQuery)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        if (string.IsNullOrEmpty(rawQuery))
        {
            return pairs;
        }
        foreach (var part in rawQuery.Split('&'))
        {
            if (part.Length == 0)
            {
                continue;
            }
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals];
            var value = equals < 0 ? "" : part[(equals + 1)..];
            pairs.Add(new(Uri.UnescapeDataString(name), Uri.UnescapeDataString(value)));
        }
        return pairs;
    }

    /// <summary>Canonical query of a raw query string (without <c>?</c>): names and values decoded, re-encoded, sorted.</summary>
    public static string CanonicalQuery(string rawQuery) =>
        string.IsNullOrEmpty(rawQuery) ? "" : CanonicalQuery(ParseQuery(rawQuery));

    /// <summary>Canonical query of decoded pairs: each encoded, sorted by name then value.</summary>
    public static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> pairs)
    {
        var encoded = new List<(string Name, string Value)>();
        foreach (var (name, value) in pairs)
        {
            encoded.Add((Encode(name), Encode(value)));
        }
        encoded.Sort(static (a, b) =>
        {
            var byName = string.CompareOrdinal(a.Name, b.Name);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });
        var builder = new StringBuilder();
        foreach (var (name, value) in encoded)
        {
            if (builder.Length > 0)
            {
                builder.Append('&');
            }
            builder.Append(name).Append('=').Append(value);
        }
        return builder.ToString();
    }

    /// <summary>
    /// Canonical headers block of headers as sent (each line <c>name:value\n</c>, sorted by
    /// lower-case name; values trimmed, whitespace runs collapsed to one space, repeated names
    /// joined by commas in order). <paramref name="signedHeaders"/> gets the names joined by <c>;</c>.
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
                AppendHeaderValue(existing, value);
            }
            else
            {
                var builder = new StringBuilder(value.Length);
                AppendHeaderValue(builder, value);
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

    /// <summary>Appends a header value trimmed of whitespace, inner whitespace runs collapsed to one space.</summary>
    public static void AppendHeaderValue(StringBuilder builder, ReadOnlySpan<char> value)
    {
        value = value.Trim();
        var previousWasSpace = false;
        foreach (var c in value)
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

    /// <summary>The credential scope of one day, region and service.</summary>
    public static string Scope(string dateStamp, string region, string service) =>
        $"{dateStamp}/{region}/{service}/aws4_request";

    /// <summary>The string to sign for a canonical request.</summary>
    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        string.Concat(Algorithm, "\n", amzDate, "\n", scope, "\n", HashHex(Encoding.UTF8.GetBytes(canonicalRequest)));

    /// <summary>HMAC chain from the secret to the key of one day, region and service.</summary>
    public static byte[] SigningKey(string secret, string dateStamp, string region, string service)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(dateStamp));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>Lower-case hex SHA-256 (the payload hash of a body).</summary>
    public static string HashHex(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return Convert.ToHexStringLower(hash);
    }

    /// <summary>RFC 3986 encoding as SigV4 wants it: unreserved characters kept, the rest %XX of UTF-8.</summary>
    public static string Encode(string value)
    {
        var builder = new StringBuilder(value.Length + 8);
        UriEncode(builder, value);
        return builder.ToString();
    }

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
}
