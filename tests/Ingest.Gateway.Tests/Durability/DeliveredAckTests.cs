using System.Net;
using System.Text;
using System.Text.Json;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Durability;

/// <summary><c>ack: delivered</c>: 202 after the backend confirmed, 502 when it refused, 504/503 at the route timeout.</summary>
public sealed class DeliveredAckTests : IDisposable
{
    private readonly string _spill = Directory.CreateTempSubdirectory("ingest-delivered-spill-").FullName;
    private readonly RecordingTargetKind _backend = new();

    private Task<ConsoleGateway> StartAsync(string compat = "http-v2", string timeout = "5s") => ConsoleGateway.StartAsync($$"""
        compat: {{compat}}
        targets:
          q: { type: recording, batch: { linger: 1ms }, deadLetter: { type: file, path: "{{_spill}}" } }
        routes:
          - { route: POST /v1/events, target: q, auth: none, public: true, ack: delivered, timeout: {{timeout}} }
          - { route: POST /v1/batch, target: q, auth: none, public: true, ack: delivered, split: ndjson, contentTypes: [application/x-ndjson] }
        """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(_backend) });

    [Fact]
    public async Task The_202_comes_after_the_backend_confirmed_the_event()
    {
        await using var gateway = await StartAsync();

        var response = await gateway.PostJsonAsync("/v1/events", """{"temp":21}""");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse(response.Headers.GetValues("x-request-id").Single());
        // Already there when the client reads the answer: no polling.
        Assert.True(_backend.Delivered.ContainsKey(id));
    }

    [Theory]
    [InlineData("http-v2", "Internal Server Error")]
    [InlineData("rest-v1", "Internal server error")]
    public async Task A_refused_event_is_dead_lettered_and_answered_502(string compat, string message)
    {
        _backend.Refuse = e => Encoding.UTF8.GetString(e.Body.Span).Contains("poison", StringComparison.Ordinal);
        await using var gateway = await StartAsync(compat);

        var response = await gateway.PostJsonAsync("/v1/events", """{"poison":true}""");

        await Requests.StatusCodeTests.AssertError(response, 502, message);
        var id = response.Headers.GetValues("x-request-id").Single();
        Assert.Contains(id, string.Concat(Directory.GetFiles(_spill).Select(File.ReadAllText)), StringComparison.Ordinal);
        var log = (await gateway.AccessLogLinesAsync(1)).Last();
        Assert.Contains("dead-lettered", log, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("rest-v1", 504, "Endpoint request timed out")]
    [InlineData("http-v2", 503, "Service Unavailable")]
    public async Task No_confirmation_within_the_route_timeout_is_504_or_503_by_compat(string compat, int status, string message)
    {
        _backend.Close();
        await using var gateway = await StartAsync(compat, timeout: "300ms");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var response = await gateway.PostJsonAsync("/v1/events", "{}");

        await Requests.StatusCodeTests.AssertError(response, status, message);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(5));
        _backend.Open();
    }

    [Fact]
    public async Task Split_items_are_awaited_together_and_refused_ones_are_listed()
    {
        _backend.Refuse = e => Encoding.UTF8.GetString(e.Body.Span).Contains("poison", StringComparison.Ordinal);
        await using var gateway = await StartAsync();

        var mixed = await gateway.Client.PostAsync("/v1/batch", new StringContent("{\"a\":1}\n{\"poison\":2}\n{\"a\":3}\n", Encoding.UTF8, "application/x-ndjson"));
        var allBad = await gateway.Client.PostAsync("/v1/batch", new StringContent("{\"poison\":1}\n{\"poison\":2}\n", Encoding.UTF8, "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.Accepted, mixed.StatusCode);
        using var body = JsonDocument.Parse(await mixed.Content.ReadAsStringAsync());
        Assert.Equal(2, body.RootElement.GetProperty("accepted").GetInt32());
        var rejected = body.RootElement.GetProperty("rejected").EnumerateArray().Single();
        Assert.Equal(1, rejected.GetProperty("index").GetInt32());
        Assert.Equal("Internal Server Error", rejected.GetProperty("message").GetString());
        Assert.Equal(2, _backend.Delivered.Values.Count(e => Encoding.UTF8.GetString(e.Body.Span).Contains("\"a\"", StringComparison.Ordinal)));
        await Requests.StatusCodeTests.AssertError(allBad, 502, "Internal Server Error");
    }

    public void Dispose() => Directory.Delete(_spill, recursive: true);
}
