using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Ingest.Gateway.AccessLog;

/// <summary>
/// Formats one access-log line (a JSON object and <c>\n</c>) straight into UTF-8. Every DESIGN.md
/// field, and the WebSocket fields, is on every line, <c>null</c> when it does not apply, so log
/// pipelines see one schema. Written by hand rather than with <c>Utf8JsonWriter</c>: the field
/// names are constant bytes and most values need no escaping, which makes a line about four times
/// cheaper, and there is one line per request. Not thread-safe: one instance per writer thread.
/// </summary>
internal sealed class AccessLogFormatter
{
    // Fixed part of a line: field names and punctuation (~300 B), a Guid, the time, seven numbers,
    // two latencies and an IP address. Rounded up generously; strings are bounded separately.
    private const int FixedBytes = 1024;

    // Escaped in string values: what JSON requires (quote, backslash, C0 controls), and what other
    // tools may take for a line break or a terminal control (DEL, C1 controls, U+2028, U+2029).
    private static readonly SearchValues<char> MustEscape = EscapedChars();

    // requestTime changes once a second: formatted then, copied for every other line of that second.
    private readonly byte[] _requestTime = new byte[32];
    private int _requestTimeLength;
    private long _requestTimeSecond = long.MinValue;

    /// <summary>Appends the line for <paramref name="e"/> to <paramref name="output"/>; returns its length in bytes.</summary>
    public int Write(in AccessLogEntry e, IBufferWriter<byte> output)
    {
        var line = new Line(output.GetSpan(MaxLength(e)));
        line.Raw("{\"requestId\":\""u8);
        line.Guid(e.RequestId);
        line.Raw("\",\"clientRequestId\":"u8);
        line.String(e.ClientRequestId);
        line.Raw(",\"requestTime\":\""u8);
        line.Raw(RequestTime(e.RequestTimeMs));
        line.Raw("\",\"requestTimeEpoch\":"u8);
        line.Number(e.RequestTimeMs);
        line.Raw(",\"httpMethod\":"u8);
        line.String(e.HttpMethod);
        line.Raw(",\"path\":"u8);
        line.String(e.Path);
        line.Raw(",\"routeKey\":"u8);
        line.String(e.RouteKey);
        line.Raw(",\"stage\":"u8);
        line.String(e.Stage);
        line.Raw(",\"status\":"u8);
        line.Number(e.Status);
        line.Raw(",\"responseLength\":"u8);
        line.Number(e.ResponseLength);
        line.Raw(",\"latency\":"u8);
        line.Milliseconds(e.LatencyMs);
        line.Raw(",\"integrationLatency\":"u8);
        line.Milliseconds(e.IntegrationLatencyMs);
        line.Raw(",\"integrationStatus\":"u8);
        line.NumberOrNull(e.IntegrationStatus);
        line.Raw(",\"integrationError\":"u8);
        line.String(e.IntegrationError);
        line.Raw(",\"sourceIp\":"u8);
        line.IPAddress(e.SourceIp);
        line.Raw(",\"userAgent\":"u8);
        line.String(e.UserAgent);
        line.Raw(",\"apiKeyId\":"u8);
        line.String(e.ApiKeyId);
        line.Raw(",\"principal\":"u8);
        line.String(e.Principal);
        line.Raw(",\"events\":"u8);
        line.Number(e.Events);
        line.Raw(",\"firewallRule\":"u8);
        line.String(e.FirewallRule);
        line.Raw(",\"connectionId\":"u8);
        line.String(e.ConnectionId);
        line.Raw(",\"eventType\":"u8);
        line.String(e.EventType);
        line.Raw(",\"disconnectStatusCode\":"u8);
        line.NumberOrNull(e.DisconnectStatusCode);
        line.Raw("}\n"u8);
        output.Advance(line.Length);
        return line.Length;
    }

    /// <summary>An upper bound of the line's length: a string char takes at most 6 bytes (<c>\u00XX</c>; UTF-8 needs at most 3).</summary>
    private static int MaxLength(in AccessLogEntry e)
    {
        long chars = (long)Length(e.ClientRequestId) + Length(e.HttpMethod) + Length(e.Path) + Length(e.RouteKey) + Length(e.Stage)
            + Length(e.IntegrationError) + Length(e.UserAgent) + Length(e.ApiKeyId) + Length(e.Principal) + Length(e.FirewallRule)
            + Length(e.ConnectionId) + Length(e.EventType);
        return checked((int)(FixedBytes + (6 * chars)));

        static int Length(string? value) => value?.Length ?? 0;
    }

    private ReadOnlySpan<byte> RequestTime(long unixMs)
    {
        var second = Math.DivRem(unixMs, 1000, out var ms);
        if (ms < 0)
        {
            second--;
        }
        if (second != _requestTimeSecond)
        {
            // AWS's format: 25/Nov/2026:21:14:44 +0000 (always UTC).
            DateTimeOffset.FromUnixTimeSeconds(second).TryFormat(_requestTime, out _requestTimeLength, "dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture);
            _requestTimeSecond = second;
        }
        return _requestTime.AsSpan(0, _requestTimeLength);
    }

    private static SearchValues<char> EscapedChars()
    {
        var chars = new List<char> { '"', '\\', '\u2028', '\u2029' };
        for (var c = '\u0000'; c < '\u0020'; c++)
        {
            chars.Add(c);
        }
        for (var c = '\u007f'; c <= '\u009f'; c++)
        {
            chars.Add(c);
        }
        return SearchValues.Create(chars.ToArray());
    }

    /// <summary>A cursor over the span the line is written into.</summary>
    private ref struct Line(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Length { get; private set; }

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_buffer[Length..]);
            Length += bytes.Length;
        }

        public void Guid(Guid value)
        {
            value.TryFormat(_buffer[Length..], out var written);
            Length += written;
        }

        public void Number(long value)
        {
            Utf8Formatter.TryFormat(value, _buffer[Length..], out var written);
            Length += written;
        }

        public void NumberOrNull(int? value)
        {
            if (value is { } number)
            {
                Number((long)number);
            }
            else
            {
                Raw("null"u8);
            }
        }

        /// <summary>Milliseconds rounded to the microsecond, without trailing zeros (<c>0.759</c>, <c>12.5</c>, <c>3</c>).</summary>
        public void Milliseconds(double? value)
        {
            // A double can be NaN or infinite, which JSON cannot write; elapsed times never are, but a bad line must not stop the log.
            if (value is not { } ms || !double.IsFinite(ms) || Math.Abs(ms) > 1e15)
            {
                Raw("null"u8);
                return;
            }
            var micros = (long)Math.Round(ms * 1000);
            if (micros < 0)
            {
                Raw("-"u8);
                micros = -micros;
            }
            var whole = Math.DivRem(micros, 1000, out var fraction);
            Number(whole);
            if (fraction == 0)
            {
                return;
            }
            var digits = 3;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                digits--;
            }
            Raw("."u8);
            Utf8Formatter.TryFormat(fraction, _buffer[Length..], out var written, new StandardFormat('D', (byte)digits));
            Length += written;
        }

        public void IPAddress(System.Net.IPAddress? address)
        {
            if (address is null)
            {
                Raw("null"u8);
                return;
            }
            // Formats into the line: IPAddress.ToString would allocate a string for every new connection.
            Raw("\""u8);
            address.TryFormat(_buffer[Length..], out var written);
            Length += written;
            Raw("\""u8);
        }

        /// <summary>A JSON string: UTF-8, with <see cref="MustEscape"/> escaped; a lone surrogate becomes U+FFFD.</summary>
        public void String(string? value)
        {
            if (value is null)
            {
                Raw("null"u8);
                return;
            }
            Raw("\""u8);
            var rest = value.AsSpan();
            while (true)
            {
                // Runs end only at the escaped chars, never inside a surrogate pair.
                var next = rest.IndexOfAny(MustEscape);
                Length += Encoding.UTF8.GetBytes(next < 0 ? rest : rest[..next], _buffer[Length..]);
                if (next < 0)
                {
                    break;
                }
                Escape(rest[next]);
                rest = rest[(next + 1)..];
            }
            Raw("\""u8);
        }

        private void Escape(char c)
        {
            switch (c)
            {
                case '"':
                    Raw("\\\""u8);
                    break;
                case '\\':
                    Raw("\\\\"u8);
                    break;
                case '\n':
                    Raw("\\n"u8);
                    break;
                case '\r':
                    Raw("\\r"u8);
                    break;
                case '\t':
                    Raw("\\t"u8);
                    break;
                default:
                    Raw("\\u"u8);
                    Utf8Formatter.TryFormat((ushort)c, _buffer[Length..], out var written, new StandardFormat('x', 4));
                    Length += written;
                    break;
            }
        }
    }
}
