using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Random = System.Random;

namespace Ingest.FuzzTests.Engine;

/// <summary>
/// FsCheck generators of fuzz inputs: seeds as they are, seeds with one to eight mutations (bit
/// flips, byte sets, deletions, insertions, truncation, repetition of a range, splicing with
/// another seed, dictionary tokens), and inputs a target generates from scratch. FsCheck draws the
/// choices, so a run is reproducible from its seed; the mutations themselves use a
/// <see cref="Random"/> seeded by FsCheck.
/// </summary>
public static class Mutations
{
    /// <summary>Longest input produced: parsers see request-sized data, not gigabytes.</summary>
    public const int MaxLength = 64 * 1024;

    private static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, 0xC0, 0xEF, 0xBB, 0xBF, (byte)'\n', (byte)'\r', (byte)'\t', (byte)' ', (byte)'"', (byte)'\\', (byte)'{', (byte)'}', (byte)'[', (byte)']', (byte)':', (byte)',', (byte)'/', (byte)'%', (byte)'=', (byte)'-', (byte)'0', (byte)'9'];

    /// <summary>Seeds, mutated seeds and generated inputs (weights 1 : 7 : 2).</summary>
    public static Gen<byte[]> Inputs(Corpus corpus, Gen<byte[]> generated, params string[] dictionary)
    {
        var tokens = dictionary.Select(Encoding.UTF8.GetBytes).ToArray();
        var seeds = corpus.Seeds;
        var mutated =
            from index in Gen.Choose(0, seeds.Length - 1)
            from rounds in Gen.Choose(1, 8)
            from seed in Gen.Choose(0, int.MaxValue)
            select Mutate(seeds[index], seeds, tokens, rounds, new Random(seed));
        return Gen.Frequency(
            (1, Gen.Elements(seeds)),
            (7, mutated),
            (2, generated));
    }

    /// <summary>Random bytes, up to FsCheck's size times 8.</summary>
    public static Gen<byte[]> RandomBytes =>
        Gen.Sized(size => from length in Gen.Choose(0, Math.Max(1, size * 8))
                          from seed in Gen.Choose(0, int.MaxValue)
                          select Fill(length, new Random(seed)));

    /// <summary>Random text from an alphabet, up to FsCheck's size times 4 characters.</summary>
    public static Gen<byte[]> TextFrom(string alphabet) =>
        Gen.Sized(size => from length in Gen.Choose(0, Math.Max(1, size * 4))
                          from seed in Gen.Choose(0, int.MaxValue)
                          select Encoding.UTF8.GetBytes(Text(alphabet, length, new Random(seed))));

    public static byte[] Mutate(byte[] input, byte[][] seeds, byte[][] tokens, int rounds, Random random)
    {
        var data = new List<byte>(input);
        for (var round = 0; round < rounds; round++)
        {
            switch (random.Next(tokens.Length > 0 ? 10 : 9))
            {
                case 0 when data.Count > 0: // flip a bit
                    var at = random.Next(data.Count);
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1 when data.Count > 0: // set an interesting byte
                    data[random.Next(data.Count)] = InterestingBytes[random.Next(InterestingBytes.Length)];
                    break;
                case 2 when data.Count > 0: // delete a range
                    var start = random.Next(data.Count);
                    data.RemoveRange(start, random.Next(1, Math.Min(32, data.Count - start) + 1));
                    break;
                case 3: // insert random bytes
                    data.InsertRange(random.Next(data.Count + 1), Fill(random.Next(1, 9), random));
                    break;
                case 4 when data.Count > 0: // truncate
                    var keep = random.Next(data.Count);
                    data.RemoveRange(keep, data.Count - keep);
                    break;
                case 5 when data.Count > 0: // repeat a range
                    var from = random.Next(data.Count);
                    var length = random.Next(1, Math.Min(64, data.Count - from) + 1);
                    var chunk = data.GetRange(from, length);
                    var copies = random.Next(1, random.Next(2) == 0 ? 4 : 200);
                    for (var c = 0; c < copies && data.Count + length <= MaxLength; c++)
                    {
                        data.InsertRange(from, chunk);
                    }
                    break;
                case 6: // splice: a prefix of this input and a suffix of another seed
                    var other = seeds[random.Next(seeds.Length)];
                    var cut = random.Next(data.Count + 1);
                    var otherCut = random.Next(other.Length + 1);
                    data.RemoveRange(cut, data.Count - cut);
                    data.AddRange(other.AsSpan(otherCut).ToArray());
                    break;
                case 7: // copy a range of another seed into this one
                    var donor = seeds[random.Next(seeds.Length)];
                    if (donor.Length > 0)
                    {
                        var donorStart = random.Next(donor.Length);
                        var donorLength = random.Next(1, Math.Min(128, donor.Length - donorStart) + 1);
                        data.InsertRange(random.Next(data.Count + 1), donor.AsSpan(donorStart, donorLength).ToArray());
                    }
                    break;
                case 8 when data.Count > 1: // swap two bytes
                    var a = random.Next(data.Count);
                    var b = random.Next(data.Count);
                    (data[a], data[b]) = (data[b], data[a]);
                    break;
                case 9: // insert a dictionary token
                    data.InsertRange(random.Next(data.Count + 1), tokens[random.Next(tokens.Length)]);
                    break;
            }
            if (data.Count > MaxLength)
            {
                data.RemoveRange(MaxLength, data.Count - MaxLength);
            }
        }
        return [.. data];
    }

    private static byte[] Fill(int length, Random random)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string Text(string alphabet, int length, Random random)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }
        return new string(chars);
    }
}
