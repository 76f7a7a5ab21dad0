using System.Net;
using System.Text.Json;
using Ingest.Gateway.Tests.Deployments;
using Ingest.TestSupport.Http;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Tests.Integration.Http;

/// <summary>Http targets across deployments: kept when unchanged, replaced when changed, never cut under a request (&lt; 5 s).</summary>
public class HttpDeploymentTests
{
    private static string Config(string url, string extraRoute = "") => $$"""
        targets:
          api: { type: http, url: "{{url}}/api" }
        routes:
          - { route: "GET /v1/x", target: api, auth: [none], public: true }
        {{extraRoute}}
        """;

    private static async Task<JsonElement> DeployAsync(DeploymentGateway gateway, string body)
    {
        using var response = await gateway.DeployAsync(body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    [Fact]
    public async Task An_unchanged_target_is_kept_and_a_changed_one_replaced_after_its_in_flight_request_finished()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var a = await HttpBackend.StartAsync(async context =>
        {
            if (context.Request.Query.ContainsKey("slow"))
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            }
            await context.Response.WriteAsync("a");
        });
        await using var b = await HttpBackend.StartAsync(context => context.Response.WriteAsync("b"));
        await using var gateway = await DeploymentGateway.StartAsync(Config(a.Url));

        var kept = await DeployAsync(gateway, Config(a.Url, """  - { route: "GET /v1/y", target: api, auth: [none], public: true }"""));
        Assert.Equal(["api"], kept.GetProperty("kept").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("a", await gateway.Client.GetStringAsync("/v1/y"));

        // A request is inside target api (on a) when the deployment replaces it with one on b.
        var inFlight = gateway.Client.GetStringAsync("/v1/x?slow=1");
        await Infrastructure.Poll.UntilAsync(() => a.Requests.Any(r => r.Target.Contains("slow", StringComparison.Ordinal)), TimeSpan.FromSeconds(5));
        var replaced = await DeployAsync(gateway, Config(b.Url));
        Assert.Equal(["api"], replaced.GetProperty("started").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["api"], replaced.GetProperty("retired").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("b", await gateway.Client.GetStringAsync("/v1/x"));

        release.SetResult();
        Assert.Equal("a", await inFlight.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_chunked_body_over_the_route_limit_is_cut_with_413_while_streaming()
    {
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            await context.Request.Body.CopyToAsync(Stream.Null);
            await context.Response.WriteAsync("read all");
        });
        await using var gateway = await DeploymentGateway.StartAsync($$"""
            targets:
              api: { type: http, url: "{{backend.Url}}/upload" }
            routes:
              - { route: "POST /v1/upload", target: api, auth: [none], public: true, maxBodyBytes: 1024, contentTypes: [application/octet-stream] }
            """);
        using var body = new StreamContent(new MemoryStream(new byte[64 * 1024]));
        body.Headers.ContentType = new("application/octet-stream");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/upload") { Content = body };
        request.Headers.TransferEncodingChunked = true;

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("""{"message":"Request Entity Too Large"}""", await response.Content.ReadAsStringAsync());
    }
}
