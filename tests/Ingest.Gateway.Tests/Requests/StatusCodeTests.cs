using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Requests;

/// <summary>The status table of DESIGN.md, against a real Kestrel.</summary>
public class StatusCodeTests
{
    private static string Config(string compat) => $$"""
        compat: {{compat}}
        targets:
          sink: { type: blackhole }
        routes:
          - { route: POST /v1/events, target: sink, auth: none, public: true }
          - { route: "POST /v1/devices/{id}/events", target: sink, auth: none, public: true, maxBodyBytes: 100 }
          - { route: "ANY /any/{proxy+}", target: sink, auth: none, public: true, contentTypes: ["application/json", "application/x-ndjson"] }
        """;

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Accepted_event_gets_202_with_the_request_id_of_its_header()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));

        var response = await gateway.Client.PostAsync("/v1/events", Json("""{"temp":21}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var requestId = body.RootElement.GetProperty("requestId").GetString();
        Assert.Equal(1, body.RootElement.GetProperty("accepted").GetInt32());
        Assert.Equal(requestId, response.Headers.GetValues("x-request-id").Single());
        Assert.Equal(7, Guid.Parse(requestId!).Version);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-01$", response.Headers.GetValues("traceparent").Single());
    }

    [Theory]
    [InlineData("http-v2", "/v1/nothing", "POST", 404, "Not Found")]
    [InlineData("rest-v1", "/v1/nothing", "POST", 403, "Missing Authentication Token")]
    [InlineData("http-v2", "/v1/events", "GET", 405, "Method Not Allowed")]
    [InlineData("rest-v1", "/v1/events", "GET", 403, "Missing Authentication Token")]
    public async Task Unknown_routes_and_methods_follow_the_compat_mode(string compat, string path, string method, int status, string message)
    {
        await using var gateway = await TestGateway.StartAsync(Config(compat));

        var response = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Json("{}") });

        await AssertError(response, status, message);
        Assert.True(response.Headers.Contains("x-request-id"));
        if (status == 405)
        {
            Assert.Equal("POST", response.Content.Headers.Allow.Single());
        }
    }

    [Fact]
    public async Task Declared_body_over_the_limit_is_refused_before_it_is_read()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));
        using var client = new TcpClient();
        await client.ConnectAsync((IPEndPoint)new Uri(gateway.Client.BaseAddress!.ToString()).ToEndPoint());
        var stream = client.GetStream();

        // Headers only: the gateway must answer without waiting for the 10 MB it was promised.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /v1/devices/7/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"));
        var answer = await ReadHeadAsync(stream);

        Assert.StartsWith("HTTP/1.1 413", answer, StringComparison.Ordinal);
        Assert.Contains("Request Entity Too Large", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chunked_body_over_the_limit_is_cut_while_streaming()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));
        var content = new StreamContent(new MemoryStream(new byte[5000]));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/devices/7/events") { Content = content };
        request.Headers.TransferEncodingChunked = true;

        var response = await gateway.Client.SendAsync(request);

        await AssertError(response, 413, "Request Entity Too Large");
    }

    [Fact]
    public async Task Content_type_outside_the_allow_list_gets_415()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));

        var response = await gateway.Client.PostAsync("/v1/events", new StringContent("x", Encoding.UTF8, "text/plain"));

        await AssertError(response, 415, "Unsupported Media Type");
    }

    [Fact]
    public async Task Greedy_route_takes_any_method_and_content_type_parameters()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));

        var put = await gateway.Client.PutAsync("/any/a/b/c", new StringContent("{}", Encoding.UTF8, "application/x-ndjson"));
        var post = await gateway.Client.PostAsync("/any/x", Json("{}"));

        Assert.Equal(HttpStatusCode.Accepted, put.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
    }

    [Fact]
    public async Task Continues_the_callers_trace_and_logs_its_request_id()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = Json("{}") };
        request.Headers.Add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
        request.Headers.Add("x-request-id", "client-42");

        var response = await gateway.Client.SendAsync(request);

        var traceParent = response.Headers.GetValues("traceparent").Single();
        Assert.StartsWith("00-0af7651916cd43dd8448eb211c80319c-", traceParent, StringComparison.Ordinal);
        Assert.NotEqual("b7ad6b7169203331", traceParent[36..52]);
        var line = Assert.Single(await gateway.AccessLogLinesAsync(1));
        using var log = JsonDocument.Parse(line);
        Assert.Equal("client-42", log.RootElement.GetProperty("clientRequestId").GetString());
        Assert.Equal(response.Headers.GetValues("x-request-id").Single(), log.RootElement.GetProperty("requestId").GetString());
        Assert.Equal(202, log.RootElement.GetProperty("status").GetInt32());
        Assert.Equal("POST /v1/events", log.RootElement.GetProperty("routeKey").GetString());
    }

    [Fact]
    public async Task Every_rejection_is_access_logged_with_its_status()
    {
        await using var gateway = await TestGateway.StartAsync(Config("http-v2"));

        await gateway.Client.PostAsync("/v1/nothing", Json("{}"));
        await gateway.Client.GetAsync("/v1/events");
        await gateway.Client.PostAsync("/v1/events", new StringContent("x", Encoding.UTF8, "text/plain"));
        await gateway.Client.PostAsync("/v1/devices/1/events", Json(new string('a', 500)));

        var statuses = (await gateway.AccessLogLinesAsync(4))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("status").GetInt32())
            .ToArray();
        Assert.Equal([404, 405, 415, 413], statuses);
    }

    internal static async Task AssertError(HttpResponseMessage response, int status, string message)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(message, body.RootElement.GetProperty("message").GetString());
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }
            text.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
        return text.ToString();
    }
}

internal static class UriExtensions
{
    public static EndPoint ToEndPoint(this Uri uri) => new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
}
