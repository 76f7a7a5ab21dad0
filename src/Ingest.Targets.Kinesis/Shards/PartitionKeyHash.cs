using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// Where Kinesis puts a record: the MD5 of its partition key (UTF-8), read as a 128-bit unsigned
/// big-endian integer, or the record's explicit hash key (a decimal in 0..2^128-1) when it has one.
/// The shard whose hash key range holds that number receives the record.
/// </summary>
public static class PartitionKeyHash
{
    /// <summary>The hash key of a partition key.</summary>
    public static UInt128 Of(string partitionKey)
    {
        // Keys are at most 256 UTF-16 characters, so 768 bytes of UTF-8.
        var max = Encoding.UTF8.GetMaxByteCount(partitionKey.Length);
        byte[]? rented = null;
        var bytes = max <= 1024 ? stackalloc byte[max] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var length = Encoding.UTF8.GetBytes(partitionKey, bytes);
            Span<byte> digest = stackalloc byte[MD5.HashSizeInBytes];
#pragma warning disable CA5351 // MD5 is what Kinesis maps keys with; it is not used for security here.
            MD5.HashData(bytes[..length], digest);
#pragma warning restore CA5351
            return new UInt128(
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest),
                System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(digest[8..]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Parses an explicit hash key or a shard range bound: a decimal in 0..2^128-1.</summary>
    public static bool TryParse(string? text, out UInt128 value) =>
        UInt128.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value);

    /// <summary>The hash key Kinesis uses for a record: the explicit one when set, else the MD5 of the key.</summary>
    public static UInt128 For(string partitionKey, string? explicitHashKey) =>
        explicitHashKey is not null && TryParse(explicitHashKey, out var value) ? value : Of(partitionKey);
}
