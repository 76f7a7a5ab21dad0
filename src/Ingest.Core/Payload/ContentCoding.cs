using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Payload;

/// <summary>The request's <c>Content-Encoding</c>, as far as the gateway undoes it.</summary>
public enum ContentCoding : byte
{
    /// <summary>No header, or <c>identity</c>.</summary>
    Identity,

    /// <summary><c>gzip</c> or <c>x-gzip</c> (RFC 1952; several members allowed).</summary>
    Gzip,

    /// <summary><c>deflate</c>: zlib-wrapped (RFC 1950) as HTTP means it, or raw deflate as some clients send.</summary>
    Deflate,

    /// <summary>
    /// Anything else, or more than one coding: 415. <c>br</c> is deliberately here: the Brotli
    /// decoder fills a ring buffer of up to 16 MiB (the stream's window) before it hands out the
    /// first byte, so an 809-byte request costs 16 MiB of native memory and work however small
    /// the cap is. gzip and deflate decode within a 32 KiB window.
    /// </summary>
    Unsupported,
}

public static class ContentCodings
{
    public static ContentCoding Parse(StringValues header)
    {
        if (header.Count == 0)
        {
            return ContentCoding.Identity;
        }
        var result = ContentCoding.Identity;
        foreach (var line in header)
        {
            var rest = (line ?? "").AsSpan();
            while (true)
            {
                var comma = rest.IndexOf(',');
                var token = (comma >= 0 ? rest[..comma] : rest).Trim();
                var coding = ParseToken(token);
                if (coding != ContentCoding.Identity)
                {
                    if (result != ContentCoding.Identity)
                    {
                        // Stacked codings (gzip, deflate) are legal HTTP but no client sends them to an ingest API.
                        return ContentCoding.Unsupported;
                    }
                    result = coding;
                }
                if (comma < 0)
                {
                    break;
                }
                rest = rest[(comma + 1)..];
            }
        }
        return result;
    }

    /// <summary>The name used in messages: <c>gzip</c>, <c>deflate</c>.</summary>
    public static string Name(ContentCoding coding) => coding switch
    {
        ContentCoding.Gzip => "gzip",
        ContentCoding.Deflate => "deflate",
        ContentCoding.Identity => "identity",
        _ => "unsupported",
    };

    private static ContentCoding ParseToken(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty || token.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            return ContentCoding.Identity;
        }
        if (token.Equals("gzip", StringComparison.OrdinalIgnoreCase) || token.Equals("x-gzip", StringComparison.OrdinalIgnoreCase))
        {
            return ContentCoding.Gzip;
        }
        return token.Equals("deflate", StringComparison.OrdinalIgnoreCase) ? ContentCoding.Deflate : ContentCoding.Unsupported;
    }
}
