using System.IO.Compression;

namespace Ingest.TestSupport.Payload;

/// <summary>Decompression bombs for tests.</summary>
internal static class Bombs
{
    /// <summary>
    /// 809 bytes of Brotli that inflate to 1 GiB of zeros (BrotliEncoder quality 7, window 24,
    /// 1024 x 1 MiB of zeros; regenerate with that recipe).
    /// </summary>
    public static byte[] Brotli1GiB => Convert.FromBase64String(Brotli1GiBBase64);

    private const string Brotli1GiBBase64 =
        "z///fwAkAOKxQHLv//n//w+ABEAcFoDu/T////8BkACIwwLQvf/n//8/ABIAcVgAuvf//P//B0ACIA4LQPf+n////wBIAMRhAeje" +
        "//P//x8ACYA4LADd+3/+//8DIAEQhwWge//P//9/ACQA4rAAdO//+f//D4AEQBwWgO79P////wGQAIjDAtC9/+f//z8AEgBxWAC6" +
        "9//8//8HQAIgDgtA9/6f////AEgAxGEB6N7/8///HwAJgDgsAN37f/7//wMgARCHBaB7/8///38AJADisAB07//5//8PgARAHBaA" +
        "7v0/////AZAAiMMC0L3/5///PwASAHFYALr3//z//wdAAiAOC0D3/p////8ASADEYQHo3v/z//8fAAmAOCwA3ft//v//AyABEIcF" +
        "oHv/z///fwAkAOKwAHTv//n//w+ABEAcFoDu/T////8BkACIwwLQvf/n//8/ABIAcVgAuvf//P//B0ACIA4LQPf+n////wBIAMRh" +
        "Aeje//P//x8ACYA4LADd+3/+//8DIAEQhwWge//P//9/ACQA4rAAdO//+f//D4AEQBwWgO79P////wGQAIjDAtC9/+f//z8AEgBx" +
        "WAC69//8//8HQAIgDgtA9/6f////AEgAxGEB6N7/8///HwAJgDgsAN37f/7//wMgARCHBaB7/8///38AJADisAB07//5//8PgARA" +
        "HBaA7v0/////AZAAiMMC0L3/5///PwASAHFYALr3//z//wdAAiAOC0D3/p////8ASADEYQHo3v/z//8fAAmAOCwA3ft//v//AyAB" +
        "EIcFoHv/z///fwAkAOKwAHTv//n//w+ABEAcFoDu/T////8BkACIwwLQvf/n//8/ABIAcVgAuvf//P//B0ACIA4LQPf+n////wBI" +
        "AMRhAeje//P//x8ACYA4LADd+3/+//8DIAEQhwWge//P//9/ACQA4rAAdO//+f//D4AEQBwWgO79P////wGQAIjDAtC9/+f//z8A" +
        "EgBxWAC69//8//8HQAIgDgtA9/6f////AEgAxGEB6N7/8///HwAJgDgsAN37f/7//wMgARCHBaB7/z8=";

    /// <summary>1024 gzip members of 1 MiB of zeros each: about 1 MB that inflates to 1 GiB (deflate cannot do better than ~1:1032).</summary>
    public static byte[] Gzip1GiB()
    {
        var member = Gzip(new byte[1 << 20]);
        var bomb = new byte[member.Length * 1024];
        for (var i = 0; i < 1024; i++)
        {
            member.CopyTo(bomb, i * member.Length);
        }
        return bomb;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }
        return output.ToArray();
    }
}
