using System.IO.Compression;
using System.Text;
using Ingest.Core.Payload;

namespace Ingest.Core.Tests.Payload;

public class BodyInflaterTests
{
    private static readonly byte[] Json = Encoding.UTF8.GetBytes("""{"device":"d-1","temp":21.5,"tags":["a","b"]}""");

    [Theory]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Deflate)]
    public void Round_trips_each_coding(ContentCoding coding)
    {
        var result = BodyInflater.Inflate(Compress(Json, coding), coding, 1024);

        Assert.Equal(InflateStatus.Ok, result.Status);
        Assert.Equal(Json, result.Body);
    }

    [Fact]
    public void Takes_raw_deflate_too_and_several_gzip_members()
    {
        var raw = Compress(Json, ContentCoding.Deflate, raw: true);
        Assert.Equal(Json, BodyInflater.Inflate(raw, ContentCoding.Deflate, 1024).Body);

        var twoMembers = Bombs.Gzip(Json).Concat(Bombs.Gzip(Json)).ToArray();
        Assert.Equal(Json.Concat(Json).ToArray(), BodyInflater.Inflate(twoMembers, ContentCoding.Gzip, 1024).Body);
    }

    [Fact]
    public void Gzip_header_fields_name_and_comment_are_skipped()
    {
        var gzip = Bombs.Gzip(Json);
        // FNAME + FCOMMENT: "a.json\0" and "hi\0" after the 10-byte header.
        var withFields = gzip[..10].Concat("a.json\0hi\0"u8.ToArray()).Concat(gzip[10..]).ToArray();
        withFields[3] |= 8 | 16;

        Assert.Equal(Json, BodyInflater.Inflate(withFields, ContentCoding.Gzip, 1024).Body);
    }

    [Theory]
    [InlineData(ContentCoding.Gzip)]
    [InlineData(ContentCoding.Deflate)]
    public void Truncated_data_is_invalid_at_every_cut(ContentCoding coding)
    {
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"{{\"n\":{i}}}\n")));
        var compressed = Compress(data, coding);

        foreach (var cut in new[] { 0, 1, 2, 5, 11, compressed.Length / 2, compressed.Length - 5, compressed.Length - 1 })
        {
            var result = BodyInflater.Inflate(compressed.AsMemory(0, cut), coding, 1 << 20);
            Assert.True(result.Status == InflateStatus.Invalid, $"{coding} cut at {cut} of {compressed.Length}: {result.Status}");
            Assert.False(string.IsNullOrEmpty(result.Reason));
        }
    }

    [Fact]
    public void Corrupt_gzip_is_invalid_not_an_exception()
    {
        var gzip = Bombs.Gzip(Encoding.UTF8.GetBytes(new string('x', 5000) + "abc"));
        var flippedData = (byte[])gzip.Clone();
        flippedData[12] ^= 0xFF;
        var flippedCrc = (byte[])gzip.Clone();
        flippedCrc[^6] ^= 0x01;

        Assert.Equal(InflateStatus.Invalid, BodyInflater.Inflate(flippedData, ContentCoding.Gzip, 1 << 20).Status);
        Assert.Equal(InflateStatus.Invalid, BodyInflater.Inflate(flippedCrc, ContentCoding.Gzip, 1 << 20).Status);
        Assert.Equal(InflateStatus.Invalid, BodyInflater.Inflate("not gzip at all"u8.ToArray(), ContentCoding.Gzip, 1 << 20).Status);
        Assert.Equal(InflateStatus.Invalid, BodyInflater.Inflate(Bombs.Gzip(Json).Concat("junk"u8.ToArray()).ToArray(), ContentCoding.Gzip, 1 << 20).Status);
    }

    [Fact]
    public void Gzip_bomb_stops_one_byte_past_the_cap()
    {
        var bomb = Bombs.Gzip1GiB();
        const long cap = 256 * 1024;

        var result = BodyInflater.Inflate(bomb, ContentCoding.Gzip, cap);

        Assert.Equal(InflateStatus.TooLarge, result.Status);
        Assert.Null(result.Body);
        Assert.InRange(result.InflatedBytes, cap + 1, cap + 64 * 1024);
        Assert.Contains("inflates past 262144 bytes", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Body_exactly_at_the_cap_is_accepted()
    {
        var data = new byte[4096];
        Random.Shared.NextBytes(data);

        Assert.Equal(InflateStatus.Ok, BodyInflater.Inflate(Bombs.Gzip(data), ContentCoding.Gzip, 4096).Status);
        Assert.Equal(InflateStatus.TooLarge, BodyInflater.Inflate(Bombs.Gzip(data), ContentCoding.Gzip, 4095).Status);
    }

    [Theory]
    [InlineData(null, ContentCoding.Identity)]
    [InlineData("identity", ContentCoding.Identity)]
    [InlineData("GZIP", ContentCoding.Gzip)]
    [InlineData("x-gzip", ContentCoding.Gzip)]
    [InlineData("deflate", ContentCoding.Deflate)]
    [InlineData(" br ", ContentCoding.Unsupported)]
    [InlineData("zstd", ContentCoding.Unsupported)]
    [InlineData("gzip, br", ContentCoding.Unsupported)]
    [InlineData("gzip, identity", ContentCoding.Gzip)]
    public void Parses_content_encoding(string? header, ContentCoding expected) =>
        Assert.Equal(expected, ContentCodings.Parse(header is null ? default : new Microsoft.Extensions.Primitives.StringValues(header)));

    internal static byte[] Compress(byte[] data, ContentCoding coding, bool raw = false)
    {
        using var output = new MemoryStream();
        using (Stream compressor = coding switch
        {
            ContentCoding.Gzip => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            ContentCoding.Deflate when raw => new DeflateStream(output, CompressionLevel.Optimal, leaveOpen: true),
            _ => new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true),
        })
        {
            compressor.Write(data);
        }
        return output.ToArray();
    }
}
