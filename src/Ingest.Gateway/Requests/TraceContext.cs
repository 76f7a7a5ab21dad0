using System.Security.Cryptography;

namespace Ingest.Gateway.Requests;

/// <summary>W3C trace context: continue a caller's trace or start one.</summary>
internal static class TraceContext
{
    /// <summary>
    /// Returns the traceparent for this hop: the caller's trace id with a new span id when
    /// <paramref name="incoming"/> is valid, else a new trace.
    /// </summary>
    public static string Next(string? incoming)
    {
        Span<byte> random = stackalloc byte[24];
        RandomNumberGenerator.Fill(random);
        Span<char> text = stackalloc char[55];
        "00-".CopyTo(text);
        if (IsValid(incoming))
        {
            incoming.AsSpan(3, 32).CopyTo(text[3..]);
        }
        else
        {
            Convert.TryToHexStringLower(random[..16], text[3..35], out _);
        }
        text[35] = '-';
        Convert.TryToHexStringLower(random[16..], text[36..52], out _);
        "-01".CopyTo(text[52..]);
        return new string(text);
    }

    /// <summary>version 00, 32 hex trace id (not all zero), 16 hex parent id, 2 hex flags.</summary>
    public static bool IsValid(string? value)
    {
        if (value is null || value.Length != 55 || !value.StartsWith("00-", StringComparison.Ordinal) || value[35] != '-' || value[52] != '-')
        {
            return false;
        }
        var traceId = value.AsSpan(3, 32);
        return IsLowerHex(traceId) && traceId.ContainsAnyExcept('0') && IsLowerHex(value.AsSpan(36, 16)) && IsLowerHex(value.AsSpan(53, 2));
    }

    private static bool IsLowerHex(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }
}
