using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Ingest.IntegrationTests.Throttling;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.Idempotency;

/// <summary>
/// Idempotency keys shared by two gateway instances through the Redis stand-in (127.0.0.1:6390,
/// a unique key prefix per test), delivering to the SQS stand-in. Each test takes a few seconds.
/// </summary>
[Trait("Category", "Standins")]
public class SharedIdempotencyTests(ITestOutputHelper output)
{
    private const string RedisEndpoint = "127.0.0.1:6390";
    private const string SqsEndpoint = "http://127.0.0.1:4566";

    [Fact]
    public async Task Retry_on_the_other_instance_gets_the_first_answer_and_one_message_is_queued()
    {
        var (queue, prefix) = ($"it-{Guid.NewGuid():N}", $"it-{Guid.NewGuid():N}:");
        await using var first = await StartAsync(RedisEndpoint, prefix, queue);
        await using var second = await StartAsync(RedisEndpoint, prefix, queue);
        using var a = new HttpClient { BaseAddress = PublicUri(first) };
        using var b = new HttpClient { BaseAddress = PublicUri(second) };

        var original = await a.SendAsync(Post("order-42"));
        var retry = await b.SendAsync(Post("order-42"));
        var other = await b.SendAsync(Post("order-43"));

        Assert.Equal(HttpStatusCode.Accepted, original.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        var id = original.Headers.GetValues("x-request-id").Single();
        Assert.Equal(id, retry.Headers.GetValues("x-request-id").Single());
        Assert.Equal(await original.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.NotEqual(id, other.Headers.GetValues("x-request-id").Single());

        var ids = await ReceiveIdsAsync(queue, 2, extraWait: TimeSpan.FromSeconds(1));
        Assert.Equal(new[] { id, other.Headers.GetValues("x-request-id").Single() }.Order(), ids.Order());

        // The answer lives in Redis for the window, under the configured prefix.
        await using var redis = await ConnectionMultiplexer.ConnectAsync(RedisEndpoint);
        var server = redis.GetServer(RedisEndpoint);
        var keys = server.Keys(pattern: $"{prefix}idem:*").ToList();
        Assert.Equal(2, keys.Count);
        var ttl = await redis.GetDatabase().KeyTimeToLiveAsync(keys[0]);
        Assert.InRange(ttl!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        output.WriteLine($"answer TTL in Redis: {ttl.Value.TotalSeconds:0} s");
    }

    [Fact]
    public async Task Concurrent_duplicates_on_both_instances_queue_exactly_one_message()
    {
        var (queue, prefix) = ($"it-{Guid.NewGuid():N}", $"it-{Guid.NewGuid():N}:");
        await using var first = await StartAsync(RedisEndpoint, prefix, queue);
        await using var second = await StartAsync(RedisEndpoint, prefix, queue);
        using var a = new HttpClient { BaseAddress = PublicUri(first) };
        using var b = new HttpClient { BaseAddress = PublicUri(second) };
        const int rounds = 10;
        var acceptedIds = new List<string>();

        for (var round = 0; round < rounds; round++)
        {
            var key = $"burst-{round}";
            var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => (i % 2 == 0 ? a : b).SendAsync(Post(key))));
            var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
            Assert.Equal(responses.Length, accepted.Count + responses.Count(r => r.StatusCode == HttpStatusCode.Conflict));
            Assert.Single(accepted.Select(r => r.Headers.GetValues("x-request-id").Single()).Distinct());
            acceptedIds.Add(accepted[0].Headers.GetValues("x-request-id").Single());
        }

        var ids = await ReceiveIdsAsync(queue, rounds, extraWait: TimeSpan.FromSeconds(1));
        Assert.Equal(acceptedIds.Order(), ids.Order());
    }

    [Fact]
    public async Task Redis_down_local_falls_back_to_the_instance_table_and_deny_answers_503()
    {
        await using var redis = await RedisServerProcess.StartNewAsync();
        var (queue, prefix) = ($"it-{Guid.NewGuid():N}", $"it-{Guid.NewGuid():N}:");
        await using var local = await StartAsync(redis.Endpoint, prefix, queue, "local");
        await using var deny = await StartAsync(redis.Endpoint, prefix, queue, "deny");
        using var localClient = new HttpClient { BaseAddress = PublicUri(local) };
        using var denyClient = new HttpClient { BaseAddress = PublicUri(deny) };
        Assert.Equal(HttpStatusCode.Accepted, (await denyClient.SendAsync(Post("before"))).StatusCode);

        await redis.StopAsync();
        var fallback = await localClient.SendAsync(Post("while-down"));
        var fallbackRetry = await localClient.SendAsync(Post("while-down"));
        var denied = await denyClient.SendAsync(Post("while-down-2"));

        Assert.Equal(HttpStatusCode.Accepted, fallback.StatusCode);
        Assert.Equal(fallback.Headers.GetValues("x-request-id").Single(), fallbackRetry.Headers.GetValues("x-request-id").Single());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, denied.StatusCode);
        Assert.Equal("1", denied.Headers.GetValues("Retry-After").Single());
        var ids = await ReceiveIdsAsync(queue, 2, extraWait: TimeSpan.FromSeconds(1));
        Assert.Equal(2, ids.Count);
    }

    private static HttpRequestMessage Post(string key)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("""{"order":42}""", Encoding.UTF8, "application/json") };
        request.Headers.Add("Idempotency-Key", key);
        return request;
    }

    private static Uri PublicUri(WebApplication app) => new($"http://{app.Services.GetRequiredService<GatewayEndpoints>().PublicEndPoints[0]}");

    private static async Task<WebApplication> StartAsync(string redis, string prefix, string queue, string onFailure = "local")
    {
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: off }
            aws: { region: us-east-1, accessKeyId: test, secretAccessKey: test, endpoints: { sqs: "{{SqsEndpoint}}" }, createMissing: true }
            redis: { endpoint: "{{redis}}", onFailure: {{onFailure}}, keyPrefix: "{{prefix}}", timeout: 2s }
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true, idempotency: { header: Idempotency-Key, window: 10m } }
            """);
        var app = GatewayHost.Build(config);
        await app.StartAsync();
        return app;
    }

    /// <summary>Event ids of the messages in <paramref name="queue"/>: until <paramref name="expected"/> arrived (deadline 20 s), then <paramref name="extraWait"/> longer.</summary>
    private static async Task<List<string>> ReceiveIdsAsync(string queue, int expected, TimeSpan? extraWait = null)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = SqsEndpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var ids = new List<string>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        DateTime? settle = null;
        while (DateTime.UtcNow < deadline && (settle is null || DateTime.UtcNow < settle))
        {
            var batch = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] });
            ids.AddRange((batch.Messages ?? []).Select(m => m.MessageAttributes["ingest-event-id"].StringValue));
            if (ids.Count >= expected && settle is null)
            {
                settle = DateTime.UtcNow + (extraWait ?? TimeSpan.Zero);
            }
        }
        return ids;
    }
}
