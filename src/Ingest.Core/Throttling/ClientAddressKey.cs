using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Ingest.Core.Throttling;

/// <summary>
/// A client address as a 128-bit value, the key of <c>by: sourceIp</c> buckets, made without
/// allocating. IPv4 addresses (also IPv4-mapped IPv6) count one by one; IPv6 addresses count by
/// their /64 prefix, because one host or site usually owns a whole /64 and could otherwise
/// change address on every request to get a fresh bucket.
/// </summary>
internal readonly record struct ClientAddressKey(ulong High, ulong Low)
{
    public static ClientAddressKey From(IPAddress? address)
    {
        if (address is null)
        {
            return default;
        }
        Span<byte> bytes = stackalloc byte[16];
        bytes.Clear();
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            bytes[10] = 0xff;
            bytes[11] = 0xff;
            address.TryWriteBytes(bytes[12..], out _);
        }
        else
        {
            address.TryWriteBytes(bytes, out _);
            if (!address.IsIPv4MappedToIPv6)
            {
                bytes[8..].Clear();
            }
        }
        return new ClientAddressKey(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));
    }

    /// <summary>Text for Redis keys: the IPv4 address, or the IPv6 /64 prefix.</summary>
    public override string ToString()
    {
        if (High == 0 && (Low >> 32) == 0xffff)
        {
            var v4 = (uint)Low;
            return string.Create(CultureInfo.InvariantCulture, $"{v4 >> 24}.{(v4 >> 16) & 0xff}.{(v4 >> 8) & 0xff}.{v4 & 0xff}");
        }
        return string.Create(CultureInfo.InvariantCulture, $"{High >> 48:x}:{(High >> 32) & 0xffff:x}:{(High >> 16) & 0xffff:x}:{High & 0xffff:x}::/64");
    }
}
