using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Configuration;

namespace Ingest.Core.Auth;

/// <summary>
/// The configured API keys, held only as SHA-256 hashes. A presented key is hashed on the stack
/// and looked up by its hash: no allocation, and the comparison of hashes takes the same time
/// whichever bytes differ. (Timing of the lookup can at most tell an attacker about the hash of
/// their own guess, which does not help find a key.)
/// </summary>
public sealed class ApiKeyStore
{
    /// <summary>Longest key considered; longer values are refused without hashing.</summary>
    public const int MaxKeyLength = 512;

    private readonly FrozenDictionary<Sha256Key, string> _idsByHash;

    private ApiKeyStore(FrozenDictionary<Sha256Key, string> idsByHash) => _idsByHash = idsByHash;

    /// <summary>Keys with a malformed hash (refused by validation) are skipped.</summary>
    public static ApiKeyStore Create(IEnumerable<ApiKeyOptions> keys)
    {
        var byHash = new Dictionary<Sha256Key, string>();
        foreach (var key in keys)
        {
            if (Sha256Key.TryParseHex(key.Sha256, out var hash))
            {
                byHash.TryAdd(hash, key.Id);
            }
        }
        return new ApiKeyStore(byHash.ToFrozenDictionary());
    }

    public int Count => _idsByHash.Count;

    /// <summary>Finds the id of a presented key. Allocation-free.</summary>
    public bool TryFind(ReadOnlySpan<char> key, [NotNullWhen(true)] out string? id)
    {
        id = null;
        if (key.IsEmpty || key.Length > MaxKeyLength)
        {
            return false;
        }
        Span<byte> utf8 = stackalloc byte[key.Length * 3];
        var length = Encoding.UTF8.GetBytes(key, utf8);
        Span<byte> hash = stackalloc byte[Sha256Key.Size];
        SHA256.HashData(utf8[..length], hash);
        return _idsByHash.TryGetValue(new Sha256Key(hash), out id);
    }

    /// <summary>Lower-case hex SHA-256 of a key, the form <c>apiKeys[].sha256</c> takes.</summary>
    public static string HashHex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
}
