using System.IO.Compression;
using Ingest.Core.Payload;
using Ingest.FuzzTests.Engine;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Payload;

/// <summary>
/// <see cref="BodyInflater"/> on truncated, corrupt and bomb-like gzip and deflate bodies: always
/// Ok, TooLarge or Invalid with a reason, never an exception; never more than the cap produced;
/// and what it inflates is what .NET's own decoders read from the same bytes.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class BodyInflaterFuzz(ITestOutputHelper output)
{
    private const int Cap = 64 * 1024;

    private static readonly string[] Dictionary = ["\u001f\u008b\u0008\u0000", "\u0078\u009c", "\u0078\u0001", "\u0078\u00da", "\u0003\u0000", "\u0000\u0000\u00ff\u00ff", "\u0001\u0000\u0000\u00ff\u00ff"];

    [Fact]
    public void Gzip_and_deflate_bodies_inflate_within_the_cap_or_are_refused_cleanly() =>
        FuzzRunner.RunAndAssert("inflate", Mutations.Inputs(Corpus.Load("inflate"), Mutations.RandomBytes, Dictionary), Check, output);

    [Fact]
    public void Seeds_cover_every_outcome()
    {
        var statuses = Corpus.Load("inflate").Seeds
            .SelectMany(s => new[] { BodyInflater.Inflate(s, ContentCoding.Gzip, Cap).Status, BodyInflater.Inflate(s, ContentCoding.Deflate, Cap).Status })
            .ToHashSet();
        Assert.Equal([InflateStatus.Ok, InflateStatus.TooLarge, InflateStatus.Invalid], statuses.Order());
    }

    internal static void Check(byte[] input)
    {
        foreach (var coding in (ReadOnlySpan<ContentCoding>)[ContentCoding.Gzip, ContentCoding.Deflate])
        {
            var result = BodyInflater.Inflate(input, coding, Cap);
            switch (result.Status)
            {
                case InflateStatus.Ok:
                    var body = result.Body ?? throw new PropertyBrokenException($"{coding}: Ok without a body");
                    PropertyBrokenException.Check(body.Length <= Cap && body.Length == result.InflatedBytes, $"{coding}: Ok with {body.Length} bytes, InflatedBytes {result.InflatedBytes}");
                    var reference = Reference(input, coding) ?? throw new PropertyBrokenException($"{coding}: inflated {body.Length} bytes from data .NET's decoder refuses");
                    PropertyBrokenException.Check(reference.AsSpan().SequenceEqual(body), $"{coding}: inflated {body.Length} bytes, .NET's decoder {reference.Length}");
                    break;
                case InflateStatus.TooLarge:
                    PropertyBrokenException.Check(result.Body is null && result.InflatedBytes <= Cap + 1 && result.Reason is not null, $"{coding}: TooLarge after {result.InflatedBytes} bytes");
                    break;
                default:
                    PropertyBrokenException.Check(result.Body is null && !string.IsNullOrEmpty(result.Reason), $"{coding}: Invalid without a reason");
                    break;
            }
        }
    }

    /// <summary>
    /// .NET's decoders: gzip (every member); for deflate zlib when the data starts with a zlib
    /// header (CM 8, checksum divisible by 31), else raw deflate, as clients send both. Null when
    /// the decoder refuses the data or it inflates past the cap.
    /// </summary>
    private static byte[]? Reference(byte[] input, ContentCoding coding)
    {
        try
        {
            using var source = new MemoryStream(input);
            var zlib = input.Length >= 2 && (input[0] & 0x0F) == 8 && (input[0] >> 4) <= 7 && ((input[0] << 8) | input[1]) % 31 == 0;
            using Stream decoder = coding == ContentCoding.Gzip ? new GZipStream(source, CompressionMode.Decompress)
                : zlib ? new ZLibStream(source, CompressionMode.Decompress)
                : new DeflateStream(source, CompressionMode.Decompress);
            using var inflated = new MemoryStream();
            var buffer = new byte[8192];
            int read;
            while ((read = decoder.Read(buffer)) > 0)
            {
                inflated.Write(buffer, 0, read);
                if (inflated.Length > Cap)
                {
                    return null;
                }
            }
            return inflated.ToArray();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }
}
