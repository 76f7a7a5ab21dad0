using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using Ingest.Core.Integration;
using Ingest.Targets.S3.Objects;
using static Ingest.Targets.Tests.S3.S3TestKit;

namespace Ingest.Targets.Tests.S3;

/// <summary>The s3 target against the fauxqs S3 stand-in; each test has its own bucket and takes well under a second.</summary>
[Trait("Category", "Standins")]
public sealed class S3ObjectTargetTests : IAsyncLifetime
{
    private readonly S3TestKit _kit = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _kit.DisposeAsync();

    [Fact]
    public async Task A_mebibyte_of_random_bytes_is_stored_and_read_back_bit_exact_with_its_content_type()
    {
        var target = _kit.Target();
        var bytes = RandomNumberGenerator.GetBytes(1 << 20);

        var put = await target.InvokeAsync(Request("PUT", pathParameters: Proxy("blobs/random.bin"), body: bytes, contentType: "application/octet-stream"), default);

        Assert.Equal(IntegrationFailure.None, put.Failure);
        Assert.Equal(200, put.StatusCode);
        var answer = JsonDocument.Parse(put.Body).RootElement;
        Assert.Equal(_kit.Bucket, answer.GetProperty("bucket").GetString());
        Assert.Equal("blobs/random.bin", answer.GetProperty("key").GetString());
        var etag = answer.GetProperty("etag").GetString();
#pragma warning disable CA5351 // S3's ETag of a single-part upload is the MD5 of the bytes: checked, not used for security.
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(bytes)), etag);
#pragma warning restore CA5351
        Assert.Equal($"\"{etag}\"", Header(put, "ETag"));

        using (var stored = await _kit.Client.GetObjectAsync(_kit.Bucket, "blobs/random.bin"))
        {
            Assert.Equal("application/octet-stream", stored.Headers.ContentType);
            Assert.Equal(SHA256.HashData(bytes), await SHA256.HashDataAsync(stored.ResponseStream));
        }

        var get = await target.InvokeAsync(Request("GET", pathParameters: Proxy("blobs/random.bin")), default);

        Assert.Equal(200, get.StatusCode);
        Assert.Equal(200, get.IntegrationStatus);
        Assert.Equal("application/octet-stream", get.ContentType);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(get.Body.Span));
        Assert.Equal($"\"{etag}\"", Header(get, "ETag"));
        Assert.NotNull(Header(get, "Last-Modified"));
    }

    [Fact]
    public async Task A_text_object_keeps_its_content_type_with_charset_and_its_exact_bytes()
    {
        var target = _kit.Target();
        var text = Encoding.UTF8.GetBytes("Grüße, 世界 \r\n\0 end");

        await target.InvokeAsync(Request("POST", pathParameters: Proxy("notes/hello.txt"), body: text, contentType: "text/plain; charset=utf-8"), default);
        var get = await target.InvokeAsync(Request("GET", pathParameters: Proxy("notes/hello.txt")), default);

        Assert.Equal("text/plain; charset=utf-8", get.ContentType);
        Assert.Equal(text, get.Body.ToArray());
    }

    [Fact]
    public async Task The_key_template_takes_path_parameters()
    {
        var target = _kit.Target(key: "uploads/{tenant}/{id}.json");
        var parameters = new Dictionary<string, string> { ["tenant"] = "acme", ["id"] = "d 1" };

        await target.InvokeAsync(Request("PUT", "PUT /v1/{tenant}/{id}", parameters, """{"a":1}"""u8.ToArray(), "application/json"), default);

        using var stored = await _kit.Client.GetObjectAsync(_kit.Bucket, "uploads/acme/d 1.json");
        Assert.Equal("application/json", stored.Headers.ContentType);
        Assert.Equal("""{"a":1}""", await new StreamReader(stored.ResponseStream).ReadToEndAsync());
    }

    [Fact]
    public async Task A_missing_object_is_404_not_found_and_delete_is_204()
    {
        var target = _kit.Target();
        await target.InvokeAsync(Request("PUT", pathParameters: Proxy("gone.txt"), body: "x"u8.ToArray(), contentType: "text/plain"), default);

        var delete = await target.InvokeAsync(Request("DELETE", pathParameters: Proxy("gone.txt")), default);
        var get = await target.InvokeAsync(Request("GET", pathParameters: Proxy("gone.txt")), default);
        var head = await target.InvokeAsync(Request("HEAD", pathParameters: Proxy("gone.txt")), default);

        Assert.Equal(204, delete.StatusCode);
        Assert.Equal(IntegrationFailure.None, get.Failure);
        Assert.Equal(404, get.StatusCode);
        Assert.Equal(404, get.IntegrationStatus);
        Assert.Equal("application/json", get.ContentType);
        Assert.Equal("""{"message":"Not Found"}""", Encoding.UTF8.GetString(get.Body.Span));
        Assert.Equal(404, head.StatusCode);
    }

    [Fact]
    public async Task Head_answers_the_object_headers_and_length_without_a_body()
    {
        var target = _kit.Target();
        await target.InvokeAsync(Request("PUT", pathParameters: Proxy("img.png"), body: [0x89, 0x50, 0x4e, 0x47], contentType: "image/png"), default);

        var direct = Request("HEAD", pathParameters: Proxy("img.png"));
        var written = await target.InvokeAsync(direct, default);
        var buffered = await target.InvokeAsync(Request("HEAD", pathParameters: Proxy("img.png"), bufferResponse: true), default);

        Assert.True(written.Written);
        var response = direct.Context.Http.Response;
        Assert.Equal(200, response.StatusCode);
        Assert.Equal("image/png", response.ContentType);
        Assert.Equal(4, response.ContentLength);
        Assert.Equal(0, response.Body.Length);
        Assert.False(string.IsNullOrEmpty(response.Headers.ETag));
        Assert.Equal(200, buffered.StatusCode);
        Assert.Equal("image/png", buffered.ContentType);
        Assert.True(buffered.Body.IsEmpty);
        Assert.NotNull(Header(buffered, "ETag"));
    }

    [Theory]
    [InlineData("../secret")]
    [InlineData("a/../../b")]
    [InlineData("a/./b")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("/abs")]
    [InlineData("bad\u0001char")]
    public async Task Unsafe_keys_are_refused_with_400_before_s3_is_called(string key)
    {
        // The endpoint is a closed port: an S3 call would fail as unreachable, not answer 400.
        var target = _kit.Target(endpoint: $"http://127.0.0.1:{ClosedPort()}");

        var result = await target.InvokeAsync(Request("PUT", pathParameters: Proxy(key), body: "x"u8.ToArray()), default);

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal(400, result.StatusCode);
        Assert.Equal(0, result.IntegrationStatus);
        Assert.StartsWith("Invalid object key", JsonDocument.Parse(result.Body).RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Other_methods_are_405_with_allow()
    {
        var result = await _kit.Target().InvokeAsync(Request("PATCH", pathParameters: Proxy("a")), default);

        Assert.Equal(405, result.StatusCode);
        Assert.Equal("GET, HEAD, PUT, POST, DELETE", Header(result, "Allow"));
    }

    [Fact]
    public async Task Without_create_missing_a_missing_bucket_is_an_invalid_response_naming_it()
    {
        var target = _kit.Target(createMissing: false);

        var result = await target.InvokeAsync(Request("PUT", pathParameters: Proxy("a.txt"), body: "x"u8.ToArray()), default);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.Equal(404, result.IntegrationStatus);
        Assert.Contains(_kit.Bucket, result.Reason, StringComparison.Ordinal);
        Assert.Contains("NoSuchBucket", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_unreachable()
    {
        var target = _kit.Target(endpoint: $"http://127.0.0.1:{ClosedPort()}");

        var result = await target.InvokeAsync(Request("GET", pathParameters: Proxy("a.txt")), default);

        Assert.Equal(IntegrationFailure.Unreachable, result.Failure);
        Assert.Contains("S3 GetObject", result.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_backend_that_hangs_past_the_route_timeout_is_a_timeout()
    {
        var target = _kit.Target(wrap: (_, inner) => new HangingHandler(inner));
        using var routeTimeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await target.InvokeAsync(Request("GET", pathParameters: Proxy("a.txt")), routeTimeout.Token);

        Assert.Equal(IntegrationFailure.Timeout, result.Failure);
    }

    [Fact]
    public async Task Objects_above_the_buffer_limit_stream_to_the_client_or_are_refused_where_the_answer_must_be_whole()
    {
        // 10 MiB + 1 byte: the smallest object that takes the streaming path.
        var target = _kit.Target();
        var bytes = RandomNumberGenerator.GetBytes(S3ObjectTarget.MaxBufferedBytes + 1);
        await target.InvokeAsync(Request("PUT", pathParameters: Proxy("big.bin"), body: bytes, contentType: "application/octet-stream"), default);

        var streamed = Request("GET", pathParameters: Proxy("big.bin"));
        var written = await target.InvokeAsync(streamed, default);
        var refused = await target.InvokeAsync(Request("GET", pathParameters: Proxy("big.bin"), bufferResponse: true), default);

        Assert.True(written.Written);
        var response = streamed.Context.Http.Response;
        Assert.Equal(200, response.StatusCode);
        Assert.Equal(bytes.Length, response.ContentLength);
        Assert.Equal("application/octet-stream", response.ContentType);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(((MemoryStream)response.Body).ToArray()));
        Assert.Equal(IntegrationFailure.InvalidResponse, refused.Failure);
    }

    private static string? Header(IntegrationResult result, string name) =>
        result.Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value.ToString()).FirstOrDefault();

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private sealed class HangingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }
}
