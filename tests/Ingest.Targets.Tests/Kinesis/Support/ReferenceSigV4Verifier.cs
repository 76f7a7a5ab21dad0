using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Ingest.Targets.Tests.Kinesis.Support;

/// <summary>
/// Server-side SigV4 check written independently of the production signer (plain strings, the
/// steps exactly as the AWS documentation lists them), so the two can catch each other's mistakes.
/// </summary>
internal static partial class ReferenceSigV4Verifier
{
    /// <summary>Returns null when the signature is right, else why not.</summary>
    /// <param name="method">HTTP method.</param>
    /// <param name="path">Request path as received.</param>
    /// <param name="query">Query without '?'.</param>
    /// <param name="header">Header value by lower-case name (repeated headers joined by ','), or null.</param>
    /// <param name="body">Request body.</param>
    /// <param name="region">Region the scope must name.</param>
    /// <param name="service">Service the scope must name.</param>
    /// <param name="secretFor">Secret of an access key id, or null when the key is unknown.</param>
    /// <param name="mustSign">Headers that must be among the signed ones.</param>
    /// <param name="now">Current time for the clock-skew check (5 minutes), or null to skip it.</param>
    public static string? Verify(
        string method,
        string path,
        string query,
        Func<string, string?> header,
        byte[] body,
        string region,
        string service,
        Func<string, string?> secretFor,
        IEnumerable<string> mustSign,
        DateTimeOffset? now)
    {
        var authorization = header("authorization");
        if (authorization is null)
        {
            return "missing Authorization";
        }
        var match = AuthorizationPattern().Match(authorization);
        if (!match.Success)
        {
            return "malformed Authorization: " + authorization;
        }
        var accessKey = match.Groups["key"].Value;
        var date = match.Groups["date"].Value;
        var scopeRegion = match.Groups["region"].Value;
        var scopeService = match.Groups["service"].Value;
        var signedHeaders = match.Groups["signed"].Value;
        var signature = match.Groups["sig"].Value;
        if (scopeRegion != region || scopeService != service)
        {
            return $"credential scope {scopeRegion}/{scopeService}, expected {region}/{service}";
        }
        var secret = secretFor(accessKey);
        if (secret is null)
        {
            return "unknown access key " + accessKey;
        }
        var amzDate = header("x-amz-date");
        if (amzDate is null || !amzDate.StartsWith(date, StringComparison.Ordinal))
        {
            return "X-Amz-Date missing or not matching the scope date";
        }
        if (now is { } clock)
        {
            var signedAt = DateTimeOffset.ParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            if ((clock - signedAt).Duration() > TimeSpan.FromMinutes(5))
            {
                return "Signature expired";
            }
        }
        var names = signedHeaders.Split(';');
        foreach (var required in mustSign.Append("host").Append("x-amz-date"))
        {
            if (!names.Contains(required))
            {
                return $"{required} is not signed (SignedHeaders={signedHeaders})";
            }
        }

        var canonical = new StringBuilder();
        canonical.Append(method).Append('\n');
        canonical.Append(string.Join('/', path.Split('/').Select(Uri.EscapeDataString))).Append('\n');
        canonical.Append(string.Join('&', query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .Select(p => (Name: Uri.EscapeDataString(Uri.UnescapeDataString(p[0])), Value: Uri.EscapeDataString(Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""))))
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value))).Append('\n');
        foreach (var name in names)
        {
            var value = header(name);
            if (value is null)
            {
                return $"signed header {name} is missing";
            }
            canonical.Append(name).Append(':').Append(Whitespace().Replace(value.Trim(), " ")).Append('\n');
        }
        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Hex(SHA256.HashData(body)));

        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), date);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        var expected = Hex(Hmac(key, stringToSign));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature))
            ? null
            : "The request signature we calculated does not match the signature you provided.";
    }

    private static byte[] Hmac(byte[] key, string data)
    {
        using var hmac = new HMACSHA256(key);
        return hmac.ComputeHash(Encoding.UTF8.GetBytes(data));
    }

    private static string Hex(byte[] bytes) => string.Concat(bytes.Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));

    [GeneratedRegex(@"^AWS4-HMAC-SHA256 Credential=(?<key>[^/]+)/(?<date>\d{8})/(?<region>[^/]+)/(?<service>[^/]+)/aws4_request, ?SignedHeaders=(?<signed>[a-z0-9;-]+), ?Signature=(?<sig>[0-9a-f]{64})$")]
    private static partial Regex AuthorizationPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
