using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.S3;

namespace Ingest.Gateway.Tests.Integration.S3;

/// <summary>
/// The s3 target end to end: a real gateway in front of the fauxqs S3 stand-in (127.0.0.1:4566),
/// one bucket per test; each test takes about a second.
/// </summary>
[Trait("Category", "Standins")]
public sealed class S3GatewayTests : IAsyncLifetime
{
    private const string Endpoint = S3TestBucket.Endpoint;
    private readonly S3TestBucket _bucket = new("s3g");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _bucket.DisposeAsync();

    private string Yaml(string endpoint = Endpoint, string compat = "http-v2", string extraRoute = "") => $$"""
        compat: {{compat}}
        aws:
          accessKeyId: test
          secretAccessKey: test
          endpoints: { s3: "{{endpoint}}" }
          createMissing: true
        binaryMediaTypes: ["application/octet-stream", "image/*"]
        targets:
          files: { type: s3, bucket: {{_bucket.Name}} }
          uploads: { type: s3, bucket: {{_bucket.Name}}, key: "uploads/{device}/{name}" }
        routes:
          - route: ANY /files/{proxy+}
            target: files
            auth: [none]
            public: true
            maxBodyBytes: 2097152
            contentTypes: ["application/octet-stream", "image/png", "text/plain", "application/json"]
            {{extraRoute}}
          - route: PUT /v1/devices/{device}/uploads/{name}
            target: uploads
            auth: [none]
            public: true
            contentTypes: ["application/json"]
        """;

    [Fact]
    public async Task A_mebibyte_of_random_bytes_round_trips_bit_exact_through_the_gateway()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());
        var bytes = RandomNumberGenerator.GetBytes(1 << 20);
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var put = await gateway.Client.PutAsync("/files/blobs/random.bin", content);
        using var get = await gateway.Client.GetAsync("/files/blobs/random.bin");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var answer = JsonDocument.Parse(await put.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(_bucket.Name, answer.GetProperty("bucket").GetString());
        Assert.Equal("blobs/random.bin", answer.GetProperty("key").GetString());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("application/octet-stream", get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(bytes.Length, get.Content.Headers.ContentLength);
        Assert.Equal($"\"{answer.GetProperty("etag").GetString()}\"", get.Headers.ETag?.Tag);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await get.Content.ReadAsByteArrayAsync()));

        // What S3 holds is the same bytes, not a base64 or re-encoded copy.
        using var stored = await _bucket.Client.GetObjectAsync(_bucket.Name, "blobs/random.bin");
        Assert.Equal(SHA256.HashData(bytes), await SHA256.HashDataAsync(stored.ResponseStream));

        var lines = await gateway.AccessLogLinesAsync(2);
        using var log = JsonDocument.Parse(lines[1]);
        Assert.Equal(200, log.RootElement.GetProperty("integrationStatus").GetInt32());
        Assert.Equal(bytes.Length, log.RootElement.GetProperty("responseLength").GetInt64());
    }

    [Fact]
    public async Task Binary_and_text_objects_keep_their_content_types_and_bytes()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());
        byte[] png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x80];
        var text = "Grüße, 世界\r\n";

        using var putPng = await gateway.Client.PutAsync("/files/img/a.png", Content(png, "image/png"));
        using var putText = await gateway.Client.PostAsync("/files/notes/a.txt", new StringContent(text, Encoding.UTF8, "text/plain"));
        using var getPng = await gateway.Client.GetAsync("/files/img/a.png");
        using var getText = await gateway.Client.GetAsync("/files/notes/a.txt");

        Assert.Equal(HttpStatusCode.OK, putPng.StatusCode);
        Assert.Equal(HttpStatusCode.OK, putText.StatusCode);
        Assert.Equal("image/png", getPng.Content.Headers.ContentType?.ToString());
        Assert.Equal(png, await getPng.Content.ReadAsByteArrayAsync());
        Assert.Equal("text/plain; charset=utf-8", getText.Content.Headers.ContentType?.ToString());
        Assert.Equal(text, await getText.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_key_template_places_objects_by_path_parameters()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());

        using var put = await gateway.Client.PutAsync("/v1/devices/d-7/uploads/reading.json", new StringContent("""{"t":21}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var stored = await _bucket.Client.GetObjectAsync(_bucket.Name, "uploads/d-7/reading.json");
        Assert.Equal("""{"t":21}""", await new StreamReader(stored.ResponseStream).ReadToEndAsync());
        Assert.StartsWith("application/json", stored.Headers.ContentType, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_objects_are_404_delete_is_204_and_head_sends_the_object_length()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());
        await gateway.Client.PutAsync("/files/doc.bin", Content(new byte[300], "application/octet-stream"));

        using var head = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/files/doc.bin"));
        using var delete = await gateway.Client.DeleteAsync("/files/doc.bin");
        using var missing = await gateway.Client.GetAsync("/files/doc.bin");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(300, head.Content.Headers.ContentLength);
        Assert.Equal("application/octet-stream", head.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("""{"message":"Not Found"}""", await missing.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/files/a%2F..%2F..%2Fsecret")]
    [InlineData("/files/%2E%2E%2Fsecret")]
    [InlineData("/files/a%2F.%2Fb")]
    public async Task Dot_segments_smuggled_in_an_encoded_key_are_400(string path)
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());

        using var response = await gateway.Client.GetAsync(path);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'.' and '..' segments", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_s3_is_502()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        await using var gateway = await TestGateway.StartAsync(Yaml(endpoint: $"http://127.0.0.1:{port}"));

        using var response = await gateway.Client.GetAsync("/files/a.txt");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var lines = await gateway.AccessLogLinesAsync(1);
        using var log = JsonDocument.Parse(lines[0]);
        Assert.Contains("S3 GetObject", log.RootElement.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http-v2", HttpStatusCode.ServiceUnavailable)]
    [InlineData("rest-v1", HttpStatusCode.GatewayTimeout)]
    public async Task S3_hanging_past_the_route_timeout_is_a_timeout(string compat, HttpStatusCode expected)
    {
        var options = new GatewayOptions { WrapHttpHandler = (_, inner) => new HangingHandler(inner) };
        await using var gateway = await TestGateway.StartAsync(Yaml(compat: compat, extraRoute: "timeout: 300ms"), options);

        using var response = await gateway.Client.GetAsync("/files/a.txt");

        Assert.Equal(expected, response.StatusCode);
    }

    private static ByteArrayContent Content(byte[] bytes, string contentType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return content;
    }

    private sealed class HangingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("not reached");
        }
    }
}
