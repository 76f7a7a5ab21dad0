using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.S3.Model;
using Ingest.Gateway.Cli;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Deployments;
using Ingest.TestSupport.S3;

namespace Ingest.Gateway.Tests.Integration.Caching;

/// <summary>
/// Response caches end to end: a real gateway in front of the s3 target and the fauxqs S3 stand-in,
/// with the object reads S3 really served counted at the HTTP layer. One bucket per test; each
/// test takes one to three seconds.
/// </summary>
[Trait("Category", "Standins")]
public sealed class ResponseCacheGatewayTests : IAsyncLifetime
{
    private const string Endpoint = S3TestBucket.Endpoint;
    private readonly S3TestBucket _bucket = new("cache");
    private int _reads;

    /// <summary>GET requests S3 answered for the gateway so far.</summary>
    private int Reads => Volatile.Read(ref _reads);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _bucket.DisposeAsync();

    private GatewayOptions Counting() => new() { WrapHttpHandler = (_, inner) => new ReadCounter(inner, () => Interlocked.Increment(ref _reads)) };

    private string Routes(string cache = """{ keys: ["path:proxy", "query:lang"] }""") => $$"""
        aws:
          accessKeyId: test
          secretAccessKey: test
          endpoints: { s3: "{{Endpoint}}" }
          createMissing: true
        targets:
          items: { type: s3, bucket: {{_bucket.Name}} }
        routes:
          - { route: "ANY /v1/items/{proxy+}", target: items, auth: [none], public: true, cache: {{cache}} }
        """;

    private static async Task PutAsync(HttpClient client, string path, string json)
    {
        using var response = await client.PutAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(response.Headers.Contains("X-Cache"));
    }

    private static async Task<(string? Cache, string Body)> GetAsync(HttpClient client, string path, string? cacheControl = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (cacheControl is not null)
        {
            request.Headers.TryAddWithoutValidation("Cache-Control", cacheControl);
        }
        using var response = await client.SendAsync(request);
        return (response.Headers.TryGetValues("X-Cache", out var values) ? values.Single() : null, await response.Content.ReadAsStringAsync());
    }

    private static async Task<int> FlushAsync(HttpClient admin, string query = "")
    {
        using var response = await admin.PostAsync("/admin/flush-cache" + query, null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("flushed").GetInt32();
    }

    [Fact]
    public async Task Identical_requests_hit_other_key_values_miss_flush_empties_and_metrics_count_both()
    {
        await using var gateway = await ConsoleGateway.StartAsync("cache: { maxBytes: 1048576, ttl: 300s }\n" + Routes(), Counting());
        var client = gateway.Client;
        await PutAsync(client, "/v1/items/a.json", """{"item":"a"}""");
        await PutAsync(client, "/v1/items/b.json", """{"item":"b"}""");

        Assert.Equal(("Miss", """{"item":"a"}"""), await GetAsync(client, "/v1/items/a.json?lang=en"));
        Assert.Equal(("Hit", """{"item":"a"}"""), await GetAsync(client, "/v1/items/a.json?lang=en&utm_source=mail"));
        Assert.Equal(1, Reads);
        Assert.Equal(("Miss", """{"item":"b"}"""), await GetAsync(client, "/v1/items/b.json?lang=en"));
        Assert.Equal(("Miss", """{"item":"a"}"""), await GetAsync(client, "/v1/items/a.json?lang=de"));
        Assert.Equal(("Hit", """{"item":"a"}"""), await GetAsync(client, "/v1/items/a.json?lang=de"));
        Assert.Equal(3, Reads);

        Assert.Equal(3, await FlushAsync(gateway.Admin));
        Assert.Equal(("Miss", """{"item":"a"}"""), await GetAsync(client, "/v1/items/a.json?lang=en"));
        Assert.Equal(4, Reads);

        (string, string)[] labels = [("route", "ANY /v1/items/{proxy+}")];
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_cache_misses_total", labels) >= 4);
        Assert.Equal(2, scrape.Sum("ingest_cache_hits_total", labels));
        Assert.Equal(4, scrape.Sum("ingest_cache_misses_total", labels));

        // A hit calls no backend: its access-log line has no integration status.
        var lines = await gateway.AccessLogLinesAsync(4);
        using var miss = JsonDocument.Parse(lines[2]);
        using var hit = JsonDocument.Parse(lines[3]);
        Assert.Equal(200, miss.RootElement.GetProperty("integrationStatus").GetInt32());
        Assert.Equal(200, hit.RootElement.GetProperty("status").GetInt32());
        Assert.True(!hit.RootElement.TryGetProperty("integrationStatus", out var status) || status.ValueKind == JsonValueKind.Null);
    }

    [Fact]
    public async Task Binary_answers_come_from_the_cache_bit_exact()
    {
        await using var gateway = await ConsoleGateway.StartAsync("cache: {}\n" + Routes(), Counting());
        var bytes = RandomNumberGenerator.GetBytes(256 * 1024);
        await _bucket.Client.PutBucketAsync(_bucket.Name);
        await _bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket.Name, Key = "blob.bin", InputStream = new MemoryStream(bytes), ContentType = "application/octet-stream", UseChunkEncoding = false });

        using var miss = await gateway.Client.GetAsync("/v1/items/blob.bin");
        using var hit = await gateway.Client.GetAsync("/v1/items/blob.bin");

        Assert.Equal("Miss", miss.Headers.GetValues("X-Cache").Single());
        Assert.Equal("Hit", hit.Headers.GetValues("X-Cache").Single());
        Assert.Equal("application/octet-stream", hit.Content.Headers.ContentType?.MediaType);
        Assert.Equal(miss.Headers.ETag, hit.Headers.ETag);
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await miss.Content.ReadAsByteArrayAsync()));
        Assert.Equal(SHA256.HashData(bytes), SHA256.HashData(await hit.Content.ReadAsByteArrayAsync()));
        Assert.Equal(1, Reads);
    }

    [Fact]
    public async Task Error_answers_are_never_cached_and_writes_pass_through()
    {
        await using var gateway = await ConsoleGateway.StartAsync("cache: { ttl: 60s }\n" + Routes(), Counting());

        using (await gateway.Client.GetAsync("/v1/items/missing.json"))
        using (var second = await gateway.Client.GetAsync("/v1/items/missing.json"))
        {
            Assert.Equal(HttpStatusCode.NotFound, second.StatusCode);
            Assert.Equal("Miss", second.Headers.GetValues("X-Cache").Single());
        }
        Assert.Equal(2, Reads);

        // The object now exists: the earlier 404 was not kept.
        await PutAsync(gateway.Client, "/v1/items/missing.json", """{"now":"here"}""");
        Assert.Equal(("Miss", """{"now":"here"}"""), await GetAsync(gateway.Client, "/v1/items/missing.json"));
        await PutAsync(gateway.Client, "/v1/items/missing.json", """{"now":"changed"}""");
        Assert.Equal(("Hit", """{"now":"here"}"""), await GetAsync(gateway.Client, "/v1/items/missing.json"));
        Assert.Equal(3, Reads);
    }

    [Fact]
    public async Task Max_age_zero_refreshes_the_entry_only_where_the_route_allows_bypass()
    {
        await using var strict = await ConsoleGateway.StartAsync("cache: {}\n" + Routes(), Counting());
        await PutAsync(strict.Client, "/v1/items/a.json", """{"v":1}""");
        Assert.Equal(("Miss", """{"v":1}"""), await GetAsync(strict.Client, "/v1/items/a.json"));
        await PutAsync(strict.Client, "/v1/items/a.json", """{"v":2}""");
        Assert.Equal(("Hit", """{"v":1}"""), await GetAsync(strict.Client, "/v1/items/a.json", "max-age=0"));

        await using var lenient = await ConsoleGateway.StartAsync("cache: {}\n" + Routes("{ allowBypass: true }"), Counting());
        await PutAsync(lenient.Client, "/v1/items/b.json", """{"v":1}""");
        Assert.Equal(("Miss", """{"v":1}"""), await GetAsync(lenient.Client, "/v1/items/b.json"));
        await PutAsync(lenient.Client, "/v1/items/b.json", """{"v":2}""");
        Assert.Equal(("Hit", """{"v":1}"""), await GetAsync(lenient.Client, "/v1/items/b.json"));
        Assert.Equal(("Miss", """{"v":2}"""), await GetAsync(lenient.Client, "/v1/items/b.json", "no-cache, max-age=0"));
        Assert.Equal(("Hit", """{"v":2}"""), await GetAsync(lenient.Client, "/v1/items/b.json"));
        Assert.Equal(3, Reads);
    }

    [Fact]
    public async Task Each_stage_has_its_own_cache_and_one_stage_can_be_flushed_from_the_admin_api_and_the_cli()
    {
        const string Stages = """
            stages:
              - { name: prod, cache: { ttl: 300s } }
              - { name: dev, cache: { ttl: 300s } }
            """;
        await using var gateway = await ConsoleGateway.StartAsync(Stages + "\n" + Routes(), Counting());
        var client = gateway.Client;
        await PutAsync(client, "/prod/v1/items/a.json", """{"item":"a"}""");
        await GetAsync(client, "/prod/v1/items/a.json");
        await GetAsync(client, "/dev/v1/items/a.json");
        Assert.Equal("Hit", (await GetAsync(client, "/prod/v1/items/a.json")).Cache);
        Assert.Equal("Hit", (await GetAsync(client, "/dev/v1/items/a.json")).Cache);
        Assert.Equal(2, Reads);

        Assert.Equal(1, await FlushAsync(gateway.Admin, "?stage=prod"));
        Assert.Equal("Miss", (await GetAsync(client, "/prod/v1/items/a.json")).Cache);
        Assert.Equal("Hit", (await GetAsync(client, "/dev/v1/items/a.json")).Cache);
        using (var unknown = await gateway.Admin.PostAsync("/admin/flush-cache?stage=staging", null))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        var scrape = await gateway.ScrapeUntilAsync(s => s.Sum("ingest_cache_hits_total", ("stage", "dev")) >= 2);
        Assert.Equal(2, scrape.Sum("ingest_cache_hits_total", ("stage", "dev")));
        Assert.Equal(1, scrape.Sum("ingest_cache_hits_total", ("stage", "prod")));

        var config = Path.Combine(Path.GetTempPath(), $"ingest-cache-cli-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(config, $$"""
            admin: { listen: "{{gateway.AdminBase.Authority}}", token: "{{ConsoleGateway.Token}}" }
            {{Stages}}
            {{Routes()}}
            """);
        try
        {
            var output = new StringWriter(CultureInfo.InvariantCulture);
            var error = new StringWriter(CultureInfo.InvariantCulture);
            var exit = await IngestCommands.Create().Parse(["flush-cache", "--config", config, "--stage", "dev"])
                .InvokeAsync(new System.CommandLine.InvocationConfiguration { Output = output, Error = error });

            Assert.True(exit == 0, error.ToString());
            Assert.Contains("Flushed 1 cache entry of stage dev.", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(config);
        }
        Assert.Equal("Miss", (await GetAsync(client, "/dev/v1/items/a.json")).Cache);
        Assert.Equal("Hit", (await GetAsync(client, "/prod/v1/items/a.json")).Cache);
        Assert.Equal(4, Reads);
    }

    [Fact]
    public async Task Entries_outlive_a_deployment_that_leaves_the_route_as_it_was()
    {
        var body = "cache: { ttl: 300s }\n" + Routes();
        await using var gateway = await DeploymentGateway.StartAsync(body);
        await PutAsync(gateway.Client, "/v1/items/a.json", """{"v":1}""");
        Assert.Equal(("Miss", """{"v":1}"""), await GetAsync(gateway.Client, "/v1/items/a.json"));
        await _bucket.Client.PutObjectAsync(new PutObjectRequest { BucketName = _bucket.Name, Key = "a.json", ContentBody = """{"v":2}""", UseChunkEncoding = false });

        using (var deployed = await gateway.DeployAsync(body + "\n  - { route: \"GET /v1/other/{proxy+}\", target: items, auth: [none], public: true }"))
        {
            Assert.True(deployed.IsSuccessStatusCode, await deployed.Content.ReadAsStringAsync());
        }

        Assert.Equal(2, gateway.Runtime.Current.RouteList.Count);
        Assert.Equal(("Hit", """{"v":1}"""), await GetAsync(gateway.Client, "/v1/items/a.json"));
    }

    /// <summary>Counts the object reads (GET) that reach S3.</summary>
    private sealed class ReadCounter(HttpMessageHandler inner, Action read) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get)
            {
                read();
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
