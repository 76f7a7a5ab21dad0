using System.IO.Compression;

namespace Ingest.Core.Tests.Payload;

/// <summary>Decompression bombs for tests.</summary>
internal static class Bombs
{
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
