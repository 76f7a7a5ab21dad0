using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ingest.Core.Security;

/// <summary>
/// A compiled list of CIDR ranges (IPv4 and IPv6). Matching compares masked integers: no
/// allocation, and an IPv4-mapped IPv6 address (<c>::ffff:10.1.2.3</c>, what a dual-stack
/// listener reports) is judged as the IPv4 address it carries, so the same client gets the same
/// answer whatever listener it came through.
/// </summary>
public sealed class CidrList
{
    private readonly (uint Network, uint Mask, int Rule)[] _v4;
    private readonly (UInt128 Network, UInt128 Mask, int Rule)[] _v6;

    private CidrList(string[] rules, (uint, uint, int)[] v4, (UInt128, UInt128, int)[] v6)
    {
        Rules = rules;
        _v4 = v4;
        _v6 = v6;
    }

    public static CidrList Empty { get; } = new([], [], []);

    /// <summary>The ranges as written, in order; <see cref="IndexOf(IPAddress)"/> answers an index into it.</summary>
    public IReadOnlyList<string> Rules { get; }

    public bool IsEmpty => Rules.Count == 0;

    /// <summary>Compiles validated ranges; throws <see cref="FormatException"/> on one that does not parse.</summary>
    public static CidrList Compile(IEnumerable<string> ranges)
    {
        var rules = ranges.ToArray();
        if (rules.Length == 0)
        {
            return Empty;
        }
        var v4 = new List<(uint, uint, int)>();
        var v6 = new List<(UInt128, UInt128, int)>();
        for (var i = 0; i < rules.Length; i++)
        {
            if (!TryParse(rules[i], out var address, out var prefix, out var error))
            {
                throw new FormatException(error);
            }
            if (address.AddressFamily == AddressFamily.InterNetwork)
            {
                var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
                v4.Add((ToUInt32(address) & mask, mask, i));
            }
            else if (address.IsIPv4MappedToIPv6 && prefix >= 96)
            {
                // ::ffff:10.0.0.0/104 is 10.0.0.0/8.
                var mask = prefix == 96 ? 0u : uint.MaxValue << (128 - prefix);
                v4.Add((ToUInt32(address.MapToIPv4()) & mask, mask, i));
            }
            else
            {
                var mask = prefix == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefix);
                v6.Add((ToUInt128(address) & mask, mask, i));
            }
        }
        return new CidrList(rules, v4.ToArray(), v6.ToArray());
    }

    /// <summary>Index of the first range containing <paramref name="address"/>, or -1.</summary>
    public int IndexOf(IPAddress address)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return IndexOfV4(ToUInt32(address));
        }
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return -1;
        }
        var value = ToUInt128(address);
        if ((value >> 32) == 0xFFFF)
        {
            return IndexOfV4((uint)value);
        }
        foreach (var (network, mask, rule) in _v6)
        {
            if ((value & mask) == network)
            {
                return rule;
            }
        }
        return -1;
    }

    public bool Contains(IPAddress address) => IndexOf(address) >= 0;

    private int IndexOfV4(uint value)
    {
        foreach (var (network, mask, rule) in _v4)
        {
            if ((value & mask) == network)
            {
                return rule;
            }
        }
        return -1;
    }

    /// <summary>
    /// Parses <c>10.0.0.0/8</c>, <c>2001:db8::/32</c> or a single address (a /32 or /128).
    /// Host bits set past the prefix (<c>10.0.0.1/8</c>) are refused: usually a typo.
    /// </summary>
    public static bool TryParse(string text, out IPAddress address, out int prefix, out string error)
    {
        address = IPAddress.None;
        prefix = 0;
        var span = text.AsSpan().Trim();
        var slash = span.IndexOf('/');
        var addressPart = slash >= 0 ? span[..slash] : span;
        if (!IPAddress.TryParse(addressPart, out var parsed) || addressPart.Contains('%') || HasPort(addressPart, parsed) || !IsCanonicalForm(addressPart, parsed))
        {
            error = $"'{text}' is not an IP address or CIDR range. Write e.g. 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32";
            return false;
        }
        var bits = parsed.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        prefix = bits;
        if (slash >= 0 && (!int.TryParse(span[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out prefix) || prefix > bits))
        {
            error = $"'{text}': the prefix length must be a number from 0 to {bits}";
            return false;
        }
        var network = Mask(parsed, prefix);
        if (!network.Equals(parsed))
        {
            error = $"'{text}' has bits set past the /{prefix} prefix. Write {network}/{prefix} (the range), or {parsed}/{bits} (the one address)";
            return false;
        }
        address = parsed;
        error = "";
        return true;
    }

    private static bool HasPort(ReadOnlySpan<char> text, IPAddress parsed) =>
        // IPAddress.TryParse accepts "[::1]:80" and "1.2.3.4:80"-like forms on some inputs; a range has no port.
        text.Contains('[') || (parsed.AddressFamily == AddressFamily.InterNetwork && text.Contains(':'));

    /// <summary>IPv4 only as four decimal parts: IPAddress.TryParse also takes "10" or "10.1" (inet_aton forms).</summary>
    internal static bool IsCanonicalForm(ReadOnlySpan<char> text, IPAddress parsed)
    {
        if (parsed.AddressFamily != AddressFamily.InterNetwork)
        {
            return true;
        }
        if (text.Count('.') != 3)
        {
            return false;
        }
        foreach (var c in text)
        {
            if (c != '.' && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
            var bytes = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(bytes, ToUInt32(address) & mask);
            return new IPAddress(bytes);
        }
        var mask6 = prefix == 0 ? UInt128.Zero : UInt128.MaxValue << (128 - prefix);
        var bytes6 = new byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bytes6, ToUInt128(address) & mask6);
        return new IPAddress(bytes6);
    }

    private static uint ToUInt32(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[4];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    private static UInt128 ToUInt128(IPAddress address)
    {
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        return BinaryPrimitives.ReadUInt128BigEndian(bytes);
    }
}
