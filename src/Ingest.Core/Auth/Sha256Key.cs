using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Ingest.Core.Auth;

/// <summary>
/// A SHA-256 value as four machine words: a dictionary key that needs no allocation and whose
/// equality does not stop at the first differing byte (constant time).
/// </summary>
public readonly struct Sha256Key : IEquatable<Sha256Key>
{
    /// <summary>Bytes in a SHA-256 value.</summary>
    public const int Size = 32;

    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    /// <summary>Takes the 32 bytes of a hash (or any 32-byte value such as an HMAC).</summary>
    public Sha256Key(ReadOnlySpan<byte> hash)
    {
        if (hash.Length != Size)
        {
            throw new ArgumentException("A SHA-256 value has 32 bytes.", nameof(hash));
        }
        _a = BinaryPrimitives.ReadUInt64LittleEndian(hash);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(hash[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(hash[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(hash[24..]);
    }

    /// <summary>The SHA-256 of <paramref name="data"/>.</summary>
    public static Sha256Key Of(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[Size];
        SHA256.HashData(data, hash);
        return new Sha256Key(hash);
    }

    /// <summary>Parses 64 hex characters; false for anything else.</summary>
    public static bool TryParseHex(ReadOnlySpan<char> hex, out Sha256Key key)
    {
        key = default;
        Span<byte> bytes = stackalloc byte[Size];
        if (hex.Length != Size * 2 || Convert.FromHexString(hex, bytes, out _, out var written) != System.Buffers.OperationStatus.Done || written != Size)
        {
            return false;
        }
        key = new Sha256Key(bytes);
        return true;
    }

    /// <summary>Compares all 32 bytes, always (no early exit).</summary>
    public bool Equals(Sha256Key other) => ((_a ^ other._a) | (_b ^ other._b) | (_c ^ other._c) | (_d ^ other._d)) == 0;

    public override bool Equals(object? obj) => obj is Sha256Key other && Equals(other);

    // The value is already uniformly distributed: any 32 bits of it make a good hash code.
    public override int GetHashCode() => (int)_a;

    public static bool operator ==(Sha256Key left, Sha256Key right) => left.Equals(right);

    public static bool operator !=(Sha256Key left, Sha256Key right) => !left.Equals(right);
}
