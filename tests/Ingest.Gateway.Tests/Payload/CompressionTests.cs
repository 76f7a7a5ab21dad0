using System.IO.Compression;
using System.Net.Http.Headers;
using System.Text;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Payload;

/// <summary>Content-Encoding against a real Kestrel: inflated with a cap, corrupt and truncated data refused.</summary>
public class CompressionTests
{
    private const string Config = """
        targets: { rec: { type: recording } }
        routes:
          - { route: POST /v1/events, target: rec, auth: none, public: true, validate: json, maxBodyBytes: 4096, maxInflatedBytes: 65536 }
        """;

    private static readonly byte[] Event = Encoding.UTF8.GetBytes("""{"device":"d-1","temp":21.5}""");

    private static GatewayOptions With(RecordingTargetKind kind) => new()
    {
        ConfigureServices = services => services.AddSingleton<ITargetKind>(kind),
    };

    internal static ByteArrayContent Encoded(byte[] body, string? encoding, string contentType = "application/json")
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (encoding is not null)
        {
            content.Headers.ContentEncoding.Add(encoding);
        }
        return content;
    }

    internal static byte[] Compress(byte[] data, string encoding)
    {
        using var output = new MemoryStream();
        using (Stream compressor = encoding switch
        {
            "gzip" => new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true),
            _ => new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true),
        })
        {
            compressor.Write(data);
        }
        return output.ToArray();
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Compressed_event_is_accepted_and_delivered_inflated(string encoding)
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var response = await gateway.Client.PostAsync("/v1/events", Encoded(Compress(Event, encoding), encoding));

        Assert.Equal(202, (int)response.StatusCode);
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(Event, backend.Delivered.Values.Single().Body.ToArray());
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    public async Task Truncated_compressed_body_gets_400_naming_the_encoding(string encoding)
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));
        var compressed = Compress(Event, encoding);

        var response = await gateway.Client.PostAsync("/v1/events", Encoded(compressed[..^3], encoding));

        await StatusCodeTests.AssertError(response, 400, $"Invalid request body: {encoding}");
        Assert.Empty(backend.Delivered);
    }

    [Fact]
    public async Task Corrupt_gzip_and_plain_text_labelled_gzip_get_400()
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));
        var corrupt = Compress(Event, "gzip");
        corrupt[12] ^= 0xFF;

        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/events", Encoded(corrupt, "gzip")), 400, "Invalid request body: gzip");
        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/events", Encoded(Event, "gzip")), 400, "Invalid request body: gzip");
    }

    [Theory]
    [InlineData("zstd")]
    [InlineData("br")]
    [InlineData("gzip, deflate")]
    public async Task Unknown_or_stacked_content_encoding_gets_415(string encoding)
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));
        var content = Encoded(Event, null);
        content.Headers.TryAddWithoutValidation("Content-Encoding", encoding);

        var response = await gateway.Client.PostAsync("/v1/events", content);

        await StatusCodeTests.AssertError(response, 415, "Unsupported Media Type");
    }

    [Fact]
    public async Task Body_that_inflates_past_the_cap_gets_413()
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));

        // 100 KB of JSON compresses far below maxBodyBytes (4096) but inflates past maxInflatedBytes (65536).
        var big = Encoding.UTF8.GetBytes("[" + string.Join(",", Enumerable.Repeat("0", 50_000)) + "]");
        var response = await gateway.Client.PostAsync("/v1/events", Encoded(Compress(big, "gzip"), "gzip"));

        await StatusCodeTests.AssertError(response, 413, "Request Entity Too Large");
    }

    [Fact]
    public async Task Invalid_json_after_inflating_gets_400_with_the_path()
    {
        await using var gateway = await TestGateway.StartAsync(Config, With(new RecordingTargetKind()));

        var response = await gateway.Client.PostAsync("/v1/events", Encoded(Compress("""{"temp": tru}"""u8.ToArray(), "gzip"), "gzip"));

        await StatusCodeTests.AssertError(response, 400, "Invalid request body: $.temp");
    }
}
