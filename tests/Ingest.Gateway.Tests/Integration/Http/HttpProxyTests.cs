using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.Http;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Tests.Integration.Http;

/// <summary>The http target end to end: a real gateway in front of real Kestrel backends (each test &lt; 5 s).</summary>
public class HttpProxyTests
{
    private static async Task<JsonElement> LastLogLineAsync(TestGateway gateway, int count)
    {
        var lines = await gateway.AccessLogLinesAsync(count);
        using var document = JsonDocument.Parse(lines[count - 1]);
        return document.RootElement.Clone();
    }

    [Fact]
    public async Task Path_parameters_and_the_query_string_reach_the_backend_and_its_answer_comes_back()
    {
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            context.Response.StatusCode = 201;
            context.Response.ContentType = "text/plain";
            context.Response.Headers["X-Backend"] = "yes";
            await context.Response.WriteAsync($"item {context.Request.RouteValues.Count} {context.Request.Path.Value}");
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            targets:
              items: { type: http, url: "{{backend.Url}}/store/items/{id}?fixed=1" }
            routes:
              - { route: "GET /v1/items/{id}", target: items, auth: [none], public: true }
            """);

        using var response = await gateway.Client.GetAsync("/v1/items/a%20b%C3%A9?x=2&y=%2F");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("item 0 /store/items/a bé", await response.Content.ReadAsStringAsync());
        Assert.Equal("yes", response.Headers.GetValues("X-Backend").Single());
        Assert.Equal("/store/items/a%20b%C3%A9?fixed=1&x=2&y=%2F", Assert.Single(backend.Requests).Target);
        var log = await LastLogLineAsync(gateway, 1);
        Assert.Equal(201, log.GetProperty("status").GetInt32());
        Assert.Equal(201, log.GetProperty("integrationStatus").GetInt32());
        Assert.True(log.GetProperty("integrationLatency").GetDouble() > 0);
        Assert.Equal(0, log.GetProperty("events").GetInt32());
    }

    [Fact]
    public async Task The_greedy_parameter_is_appended_to_a_url_without_placeholders()
    {
        await using var backend = await HttpBackend.StartAsync(context => context.Response.WriteAsync("ok"));
        await using var gateway = await TestGateway.StartAsync($$"""
            targets:
              files: { type: http, url: "{{backend.Url}}/base" }
            routes:
              - { route: "ANY /files/{proxy+}", target: files, auth: [none], public: true }
            """);

        using var get = await gateway.Client.GetAsync("/files/a/b%20c/d.txt?q=1");
        using var delete = await gateway.Client.DeleteAsync("/files/x");

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Equal(
            [("GET", "/base/a/b%20c/d.txt?q=1"), ("DELETE", "/base/x")],
            backend.Requests.Select(r => (r.Method, r.Target)).ToArray());
    }

    [Fact]
    public async Task Headers_are_set_removed_and_forwarded_both_ways()
    {
        await using var backend = await HttpBackend.StartAsync(context =>
        {
            context.Response.Headers["X-Internal"] = "secret-topology";
            context.Response.Headers["x-request-id"] = "backend-id";
            return context.Response.WriteAsync("ok");
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            stages:
              - { name: prod, variables: { version: "7" } }
            targets:
              api:
                type: http
                url: "{{backend.Url}}/api"
                requestHeaders: { set: { X-Api-Version: "${stageVariables.version}" }, remove: [X-Client-Secret] }
                responseHeaders: { set: { X-Served-By: gateway }, remove: [X-Internal] }
            routes:
              - { route: "GET /v1/ping", target: api, auth: [none], public: true }
            """);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/prod/v1/ping");
        request.Headers.Add("X-Client-Secret", "s3cr3t");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        request.Headers.Add("X-Kept", "kept");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Requests).Headers;
        Assert.Equal("7", seen["X-Api-Version"]);
        Assert.False(seen.ContainsKey("X-Client-Secret"));
        Assert.Equal("kept", seen["X-Kept"]);
        Assert.Equal("203.0.113.9, 127.0.0.1", seen["X-Forwarded-For"]);
        Assert.Equal("http", seen["X-Forwarded-Proto"]);
        Assert.Equal(gateway.Client.BaseAddress!.Authority, seen["X-Forwarded-Host"]);
        Assert.Equal($"127.0.0.1:{backend.Port}", seen["Host"]);
        Assert.Equal(response.Headers.GetValues("traceparent").Single(), seen["traceparent"]);
        Assert.Equal("gateway", response.Headers.GetValues("X-Served-By").Single());
        Assert.False(response.Headers.Contains("X-Internal"));
        Assert.NotEqual("backend-id", response.Headers.GetValues("x-request-id").Single());
        Assert.True(Guid.TryParse(response.Headers.GetValues("x-request-id").Single(), out _));
    }

    [Theory]
    [InlineData("rest-v1", 504, "Endpoint request timed out")]
    [InlineData("http-v2", 503, "Service Unavailable")]
    public async Task A_backend_slower_than_the_route_timeout_gets_the_compat_answer(string compat, int status, string message)
    {
        using var release = new CancellationTokenSource();
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            // Answers only when the gateway gives up (or after 10 s, which fails the test's latency check).
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            compat: {{compat}}
            targets:
              slow: { type: http, url: "{{backend.Url}}/slow", timeout: 5s }
            routes:
              - { route: "POST /v1/slow", target: slow, auth: [none], public: true, timeout: 300ms }
            """);

        var started = DateTime.UtcNow;
        using var response = await gateway.Client.PostAsync("/v1/slow", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "the route timeout (300 ms) wins over the target's 5 s");
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal($$"""{"message":"{{message}}"}""", await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.Contains("x-request-id"));
        var log = await LastLogLineAsync(gateway, 1);
        Assert.Contains("timeout", log.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rest-v1", "Internal server error")]
    [InlineData("http-v2", "Internal Server Error")]
    public async Task An_unreachable_backend_is_a_502(string compat, string message)
    {
        await using var gateway = await TestGateway.StartAsync($$"""
            compat: {{compat}}
            targets:
              gone: { type: http, url: "http://127.0.0.1:{{HttpBackend.ClosedPort()}}/x" }
            routes:
              - { route: "GET /v1/gone", target: gone, auth: [none], public: true }
            """);

        using var response = await gateway.Client.GetAsync("/v1/gone");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal($$"""{"message":"{{message}}"}""", await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.Contains("x-request-id"));
        var log = await LastLogLineAsync(gateway, 1);
        Assert.Equal(502, log.GetProperty("status").GetInt32());
        Assert.Contains("ConnectionError", log.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_backend_response_is_a_502()
    {
        await using var garbage = await GarbageServer.StartAsync("NOT HTTP AT ALL\r\n\r\n"u8.ToArray());
        await using var gateway = await TestGateway.StartAsync($$"""
            targets:
              broken: { type: http, url: "http://127.0.0.1:{{garbage.Port}}/" }
            routes:
              - { route: "GET /v1/broken", target: broken, auth: [none], public: true }
            """);

        using var response = await gateway.Client.GetAsync("/v1/broken");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("""{"message":"Internal Server Error"}""", await response.Content.ReadAsStringAsync());
        var log = await LastLogLineAsync(gateway, 1);
        Assert.Contains("Request", log.GetProperty("integrationError").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_binary_body_goes_and_comes_back_bit_exact()
    {
        var body = new byte[64 * 1024];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)(i * 7 + (i >> 8));
        }
        byte[]? received = null;
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            using var copy = new MemoryStream();
            await context.Request.Body.CopyToAsync(copy);
            received = copy.ToArray();
            context.Response.ContentType = "image/png";
            await context.Response.Body.WriteAsync(received.Reverse().ToArray());
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            binaryMediaTypes: ["image/*", application/octet-stream]
            targets:
              images: { type: http, url: "{{backend.Url}}/images" }
            routes:
              - { route: "PUT /v1/images", target: images, auth: [none], public: true, contentTypes: ["image/png"] }
            """);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("image/png");

        using var response = await gateway.Client.PutAsync("/v1/images", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, received);
        Assert.Equal(body.Reverse().ToArray(), await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task A_20_MB_body_streams_both_ways_without_being_buffered()
    {
        const int size = 20 * 1024 * 1024;
        const int firstPart = 1024 * 1024;
        var payload = RandomNumberGenerator.GetBytes(size);
        var backendGotFirstPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var clientGotFirstPart = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        byte[]? uploadHash = null;
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            if (context.Request.Method == "POST")
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    total += read;
                    if (total >= firstPart)
                    {
                        backendGotFirstPart.TrySetResult();
                    }
                }
                uploadHash = hash.GetHashAndReset();
                await context.Response.WriteAsync(total.ToString(System.Globalization.CultureInfo.InvariantCulture));
                return;
            }
            // Download: the rest is sent only once the client has the first megabyte, which a buffering proxy never delivers.
            context.Response.ContentLength = size;
            await context.Response.Body.WriteAsync(payload.AsMemory(0, firstPart));
            await context.Response.Body.FlushAsync();
            await clientGotFirstPart.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await context.Response.Body.WriteAsync(payload.AsMemory(firstPart));
        });
        await using var gateway = await TestGateway.StartAsync($$"""
            targets:
              blobs: { type: http, url: "{{backend.Url}}/blobs" }
            routes:
              - { route: "POST /v1/blobs", target: blobs, auth: [none], public: true, maxBodyBytes: 33554432, contentTypes: [application/octet-stream] }
              - { route: "GET /v1/blobs", target: blobs, auth: [none], public: true }
            """);

        // Upload: the client holds back everything after the first megabyte until the backend has that megabyte.
        using var upload = new StreamContent(new GatedStream(payload, firstPart, backendGotFirstPart.Task));
        upload.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        upload.Headers.ContentLength = size;
        using var posted = await gateway.Client.PostAsync("/v1/blobs", upload).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        Assert.Equal(size.ToString(System.Globalization.CultureInfo.InvariantCulture), await posted.Content.ReadAsStringAsync());
        Assert.Equal(SHA256.HashData(payload), uploadHash);

        using var got = await gateway.Client.GetAsync("/v1/blobs", HttpCompletionOption.ResponseHeadersRead).WaitAsync(TimeSpan.FromSeconds(20));
        await using var stream = await got.Content.ReadAsStreamAsync();
        using var downloaded = new MemoryStream();
        var chunk = new byte[81920];
        int n;
        while ((n = await stream.ReadAsync(chunk).AsTask().WaitAsync(TimeSpan.FromSeconds(20))) > 0)
        {
            downloaded.Write(chunk, 0, n);
            if (downloaded.Length >= firstPart)
            {
                clientGotFirstPart.TrySetResult();
            }
        }
        Assert.Equal(SHA256.HashData(payload), SHA256.HashData(downloaded.ToArray()));
    }

    [Fact]
    public async Task With_two_destinations_and_one_killed_clients_see_no_errors()
    {
        await using var a = await HttpBackend.StartAsync(context => context.Response.WriteAsync("a"));
        await using var b = await HttpBackend.StartAsync(context => context.Response.WriteAsync("b"));
        var calls = new CallCounter();
        await using var gateway = await TestGateway.StartAsync($$"""
            targets:
              pool:
                type: http
                destinations: ["{{a.Url}}/", "{{b.Url}}/"]
                loadBalancing: roundRobin
                healthCheck: { path: /health, interval: 1s, timeout: 500ms }
            routes:
              - { route: "GET /v1/pool", target: pool, auth: [none], public: true }
            """, new Ingest.Gateway.Hosting.GatewayOptions { WrapHttpHandler = (_, inner) => new CountingHandler(calls) { InnerHandler = inner } });

        var before = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => gateway.Client.GetStringAsync("/v1/pool")));
        Assert.Contains("a", before);
        Assert.Contains("b", before);

        await b.StopAsync();
        // Right after the kill: refused connections are retried on the other destination.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 50; i++)
        {
            using var response = await gateway.Client.GetAsync("/v1/pool");
            statuses.Add(response.StatusCode);
        }
        // After one health-check interval the prober has marked b down: no call goes to it any more.
        await Poll.UntilAsync(() => calls.FailedProbes(b.Port) > 0, TimeSpan.FromSeconds(5));
        var callsToB = calls.Requests(b.Port);
        for (var i = 0; i < 100; i++)
        {
            using var response = await gateway.Client.GetAsync("/v1/pool");
            statuses.Add(response.StatusCode);
            Assert.Equal("a", await response.Content.ReadAsStringAsync());
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(callsToB, calls.Requests(b.Port));
    }

    [Fact]
    public async Task Test_invoke_calls_the_backend_and_reports_its_status_and_latency()
    {
        await using var backend = await HttpBackend.StartAsync(context =>
        {
            context.Response.StatusCode = 418;
            return context.Response.WriteAsync("teapot");
        });
        await using var gateway = await Admin.ConsoleGateway.StartAsync($$"""
            targets:
              tea: { type: http, url: "{{backend.Url}}/tea" }
            routes:
              - { route: "POST /v1/tea", target: tea, auth: [none], public: true }
            """);

        using var response = await gateway.Admin.PostAsync("/admin/test-invoke", new StringContent("""{"method":"POST","path":"/v1/tea","headers":{"content-type":"application/json"},"body":{"cups":2}}""", Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        Assert.Equal(418, root.GetProperty("status").GetInt32());
        Assert.Equal("teapot", root.GetProperty("body").GetString());
        Assert.Equal(418, root.GetProperty("integration").GetProperty("status").GetInt32());
        Assert.True(root.GetProperty("integration").GetProperty("latencyMs").GetDouble() > 0);
        Assert.Equal("POST", Assert.Single(backend.Requests).Method);
    }

    /// <summary>Serves <c>content</c>, then gives the rest only once <c>gate</c> completes.</summary>
    private sealed class GatedStream(byte[] content, int firstPart, Task gate) : Stream
    {
        private int _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => content.Length;

        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_position == firstPart)
            {
                await gate.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
            }
            var limit = _position < firstPart ? firstPart : content.Length;
            var count = Math.Min(buffer.Length, limit - _position);
            content.AsMemory(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>Counts what the gateway sends per backend port: calls, and health probes that failed.</summary>
    private sealed class CallCounter
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(int Port, bool Probe, bool Failed), int> _counts = new();

        public void Add(int port, bool probe, bool failed) => _counts.AddOrUpdate((port, probe, failed), 1, (_, n) => n + 1);

        public int Requests(int port) => _counts.Where(c => c.Key.Port == port && !c.Key.Probe).Sum(c => c.Value);

        public int FailedProbes(int port) => _counts.TryGetValue((port, true, true), out var n) ? n : 0;
    }

    private sealed class CountingHandler(CallCounter counter) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var probe = request.RequestUri!.AbsolutePath == "/health";
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                counter.Add(request.RequestUri.Port, probe, failed: probe && !response.IsSuccessStatusCode);
                return response;
            }
            catch
            {
                counter.Add(request.RequestUri.Port, probe, failed: true);
                throw;
            }
        }
    }

    /// <summary>A TCP server that answers every connection with fixed bytes and closes it.</summary>
    private sealed class GarbageServer : IAsyncDisposable
    {
        private readonly System.Net.Sockets.TcpListener _listener;
        private readonly Task _loop;

        private GarbageServer(System.Net.Sockets.TcpListener listener, byte[] answer)
        {
            _listener = listener;
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    System.Net.Sockets.TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception e) when (e is System.Net.Sockets.SocketException or ObjectDisposedException)
                    {
                        return;
                    }
                    using (client)
                    {
                        var stream = client.GetStream();
                        var request = new byte[4096];
                        _ = await stream.ReadAsync(request);
                        await stream.WriteAsync(answer);
                    }
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public static Task<GarbageServer> StartAsync(byte[] answer)
        {
            var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return Task.FromResult(new GarbageServer(listener, answer));
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            await _loop;
        }
    }
}
