using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Auth;

/// <summary>
/// <c>auth: hmac</c>: a device signs <c>timestamp + "\n" + body</c> with its secret (HMAC-SHA256)
/// and sends <c>x-ingest-key-id</c>, <c>x-ingest-timestamp</c> (Unix seconds) and
/// <c>x-ingest-signature</c> (hex or base64). Timestamps outside the replay window and signatures
/// seen before are refused. Every failure is 403 Forbidden, like an API key, so the answer does not
/// tell which part was wrong; the access log has the reason.
/// </summary>
internal sealed class HmacAuth(
    FrozenDictionary<string, byte[]> secrets,
    HmacOptions options,
    ReplayCache replays,
    TimeProvider time,
    ILogger logger) : AuthStep
{
    public const string KeyIdHeader = "x-ingest-key-id";
    public const string TimestampHeader = "x-ingest-timestamp";
    public const string SignatureHeader = "x-ingest-signature";

    public override bool NeedsBody => true;

    public override ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Check(context));

    private Rejection? Check(RequestContext context)
    {
        var headers = context.Http.Request.Headers;
        if (!headers.TryGetValue(KeyIdHeader, out var ids) || ids.Count != 1
            || !headers.TryGetValue(TimestampHeader, out var timestamps) || timestamps.Count != 1
            || !headers.TryGetValue(SignatureHeader, out var signatures) || signatures.Count != 1)
        {
            return AuthRejections.HmacMissing;
        }
        if (!secrets.TryGetValue(ids[0]!, out var secret))
        {
            return AuthRejections.HmacUnknownDevice;
        }
        var timestamp = timestamps[0]!;
        if (timestamp.Length > 19
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            return AuthRejections.HmacStale;
        }
        var signedAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        if ((time.GetUtcNow() - signedAt).Duration() > options.ReplayWindow)
        {
            return AuthRejections.HmacStale;
        }
        Span<byte> provided = stackalloc byte[32];
        if (!TryDecodeSignature(signatures[0]!, provided))
        {
            return AuthRejections.HmacMalformed;
        }

        Span<byte> expected = stackalloc byte[32];
        using (var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret))
        {
            Span<byte> ascii = stackalloc byte[20];
            var length = Encoding.ASCII.GetBytes(timestamp, ascii);
            hmac.AppendData(ascii[..length]);
            hmac.AppendData("\n"u8);
            hmac.AppendData(context.Body ?? []);
            hmac.GetHashAndReset(expected);
        }
        if (!CryptographicOperations.FixedTimeEquals(expected, provided))
        {
            return AuthRejections.HmacBadSignature;
        }

        switch (replays.TryRecord(new Sha256Key(expected), signedAt + options.ReplayWindow, options.ReplayCacheEntries))
        {
            case ReplayCache.Result.Replay:
                return AuthRejections.HmacReplay;
            case ReplayCache.Result.Full:
                AuthLog.ReplayCacheFull(logger, replays.Count);
                return AuthRejections.HmacReplayCacheFull;
        }
        context.Principal = ids[0];
        return null;
    }

    /// <summary>64 hex characters, or base64 / base64url (padded or not) of 32 bytes.</summary>
    internal static bool TryDecodeSignature(string text, Span<byte> signature)
    {
        if (text.Length == 64)
        {
            return Convert.FromHexString(text, signature, out _, out var written) == System.Buffers.OperationStatus.Done && written == 32;
        }
        if (text.Length is 43 or 44)
        {
            Span<char> base64 = stackalloc char[44];
            text.AsSpan().CopyTo(base64);
            for (var i = 0; i < text.Length; i++)
            {
                base64[i] = base64[i] switch { '-' => '+', '_' => '/', var c => c };
            }
            if (text.Length == 43)
            {
                base64[43] = '=';
            }
            return Convert.TryFromBase64Chars(base64, signature, out var written) && written == 32;
        }
        return false;
    }
}
