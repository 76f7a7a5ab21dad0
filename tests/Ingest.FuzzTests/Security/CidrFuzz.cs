using System.Net;
using System.Net.Sockets;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Ingest.Core.Security;
using Ingest.FuzzTests.Engine;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Security;

/// <summary>
/// CIDR ranges (<see cref="CidrList.TryParse"/>, <see cref="CidrList.Compile"/>): a range parses
/// or says why, never throws; a parsed range holds its own address, writes back to itself, and a
/// list compiled from it contains that address.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class CidrFuzz(ITestOutputHelper output)
{
    private static readonly string[] Dictionary = ["/", "/0", "/32", "/33", "/128", "/-1", "/08", "::", "::ffff:", "%eth0", ":80", "[", "]", ".", "0x7f", "127.1", "1.2.3.4.5", "fe80::1%1", "2001:db8::", "10.0.0.0", " ", "\t"];

    [Fact]
    public void Cidr_ranges_parse_or_say_why_and_contain_their_address() =>
        FuzzRunner.RunAndAssert("cidr", Mutations.Inputs(Corpus.Load("cidr"), Mutations.TextFrom("0123456789abcdefABCDEF.:/%[] x"), Dictionary), Check, output);

    internal static void Check(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        if (!CidrList.TryParse(text, out var address, out var prefix, out var error))
        {
            PropertyBrokenException.Check(!string.IsNullOrEmpty(error), "refused without a reason");
            PropertyBrokenException.Check(Throws(() => CidrList.Compile([text])) is FormatException, "Compile accepts what TryParse refuses");
            return;
        }
        var bits = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        PropertyBrokenException.Check(prefix >= 0 && prefix <= bits, $"prefix {prefix} outside 0..{bits}");
        PropertyBrokenException.Check(CidrList.Compile([text]).Contains(address), $"{text} does not contain its own address {address}");
        var written = $"{address}/{prefix}";
        PropertyBrokenException.Check(CidrList.TryParse(written, out var again, out var againPrefix, out _) && again.Equals(address) && againPrefix == prefix, $"{text} written back as {written} does not parse to itself");
    }

    /// <summary>Any address with any prefix, masked to the network: parses, and holds every address of the range it was built from.</summary>
    [Property(MaxTest = 3000)]
    public Property Masked_networks_parse_and_contain_their_hosts() =>
        Prop.ForAll(Arb.From(Networks), network =>
        {
            var (bytes, prefix, host) = network;
            var masked = Mask(bytes, prefix);
            var text = $"{new IPAddress(masked)}/{prefix}";
            var inside = (byte[])masked.Clone();
            for (var i = 0; i < inside.Length; i++)
            {
                inside[i] |= (byte)(host[i] & ~MaskByte(i, prefix));
            }
            return (CidrList.TryParse(text, out _, out var parsedPrefix, out _) && parsedPrefix == prefix && CidrList.Compile([text]).Contains(new IPAddress(inside)))
                .Label(text);
        });

    private static Gen<(byte[] Bytes, int Prefix, byte[] Host)> Networks =>
        from v6 in Gen.Elements(false, true)
        from bytes in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), v6 ? 16 : 4)
        from host in Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b), v6 ? 16 : 4)
        from prefix in Gen.Choose(0, v6 ? 128 : 32)
        select (bytes, prefix, host);

    private static byte MaskByte(int index, int prefix) =>
        (byte)(prefix >= (index + 1) * 8 ? 0xFF : prefix <= index * 8 ? 0 : 0xFF << (8 - (prefix - (index * 8))));

    private static byte[] Mask(byte[] bytes, int prefix)
    {
        var masked = (byte[])bytes.Clone();
        for (var i = 0; i < masked.Length; i++)
        {
            masked[i] &= MaskByte(i, prefix);
        }
        return masked;
    }

    private static Exception? Throws(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
