using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ingest.Core.Idempotency;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Ingest.Gateway.Tests.Idempotency;

/// <summary>Idempotency-Key on a real gateway: what is answered and what reaches the target.</summary>
public class IdempotencyKeyTests(ITestOutputHelper output)
{
    private static readonly string Config = $$"""
        apiKeys:
          - { id: fleet-a, sha256: {{Sha256("key-a")}} }
          - { id: fleet-b, sha256: {{Sha256("key-b")}} }
        targets:
          rec: { type: recording, batch: { linger: 1ms } }
        routes:
          - { route: POST /v1/events, target: rec, auth: none, public: true, idempotency: { header: Idempotency-Key, window: 10m } }
          - { route: POST /v1/keyed, target: rec, auth: [apiKey], idempotency: { window: 10m } }
          - { route: POST /v1/batch, target: rec, auth: none, public: true, split: ndjson, contentTypes: [application/x-ndjson], idempotency: { window: 10m } }
          - { route: POST /v1/delivered, target: rec, auth: none, public: true, ack: delivered, timeout: 20s, idempotency: { window: 10m } }
        """;

    [Fact]
    public async Task Same_key_twice_delivers_one_event_and_replays_the_first_answer()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var first = await gateway.Client.SendAsync(Post("/v1/events", """{"temp":21}""", "order-1"));
        var second = await gateway.Client.SendAsync(Post("/v1/events", """{"temp":21}""", "order-1"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal(firstBody, await second.Content.ReadAsStringAsync());
        var requestId = first.Headers.GetValues("x-request-id").Single();
        Assert.Equal(requestId, second.Headers.GetValues("x-request-id").Single());
        Assert.Equal(requestId, JsonDocument.Parse(firstBody).RootElement.GetProperty("requestId").GetString());
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal("application/json", second.Content.Headers.ContentType?.MediaType);

        await Poll.UntilAsync(() => !backend.Delivered.IsEmpty, TimeSpan.FromSeconds(10));
        // A third event without a key shows the pipeline delivered everything it was given.
        var marker = await gateway.Client.SendAsync(Post("/v1/events", "{}", key: null));
        await Poll.UntilAsync(() => backend.Delivered.Count >= 2, TimeSpan.FromSeconds(10));
        Assert.Equal(2, backend.Delivered.Count);
        Assert.Equal([Guid.Parse(requestId), Guid.Parse(marker.Headers.GetValues("x-request-id").Single())], backend.Delivered.Keys.Order());
    }

    [Fact]
    public async Task Different_keys_are_two_requests()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var first = await gateway.Client.SendAsync(Post("/v1/events", """{"n":1}""", "key-1"));
        var second = await gateway.Client.SendAsync(Post("/v1/events", """{"n":1}""", "key-2"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.NotEqual(first.Headers.GetValues("x-request-id").Single(), second.Headers.GetValues("x-request-id").Single());
        Assert.False(second.Headers.Contains("Idempotent-Replayed"));
        await Poll.UntilAsync(() => backend.Delivered.Count == 2, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Keys_are_scoped_by_api_key()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var a = await gateway.Client.SendAsync(Post("/v1/keyed", "{}", "shared-key", apiKey: "key-a"));
        var b = await gateway.Client.SendAsync(Post("/v1/keyed", "{}", "shared-key", apiKey: "key-b"));
        var aAgain = await gateway.Client.SendAsync(Post("/v1/keyed", "{}", "shared-key", apiKey: "key-a"));

        Assert.Equal(HttpStatusCode.Accepted, b.StatusCode);
        Assert.NotEqual(a.Headers.GetValues("x-request-id").Single(), b.Headers.GetValues("x-request-id").Single());
        Assert.Equal(a.Headers.GetValues("x-request-id").Single(), aAgain.Headers.GetValues("x-request-id").Single());
        await Poll.UntilAsync(() => backend.Delivered.Count == 2, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Answer_is_forgotten_after_the_window()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend, time));

        var first = await gateway.Client.SendAsync(Post("/v1/events", "{}", "late-retry"));
        time.Advance(TimeSpan.FromMinutes(9));
        var withinWindow = await gateway.Client.SendAsync(Post("/v1/events", "{}", "late-retry"));
        time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(1));
        var afterWindow = await gateway.Client.SendAsync(Post("/v1/events", "{}", "late-retry"));

        var firstId = first.Headers.GetValues("x-request-id").Single();
        Assert.Equal(firstId, withinWindow.Headers.GetValues("x-request-id").Single());
        Assert.Equal(HttpStatusCode.Accepted, afterWindow.StatusCode);
        Assert.NotEqual(firstId, afterWindow.Headers.GetValues("x-request-id").Single());
        Assert.False(afterWindow.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Concurrent_duplicates_deliver_one_event_and_are_answered_with_it_or_409()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 32 }) { BaseAddress = gateway.Client.BaseAddress };

        var (replayed, conflicts) = (0, 0);
        for (var round = 0; round < 20; round++)
        {
            var key = $"burst-{round}";
            var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => client.SendAsync(Post("/v1/events", """{"x":1}""", key))));

            var accepted = responses.Where(r => r.StatusCode == HttpStatusCode.Accepted).ToList();
            var inProgress = responses.Where(r => r.StatusCode == HttpStatusCode.Conflict).ToList();
            Assert.Equal(responses.Length, accepted.Count + inProgress.Count);
            Assert.NotEmpty(accepted);
            Assert.Single(accepted.Select(r => r.Headers.GetValues("x-request-id").Single()).Distinct());
            Assert.Single(accepted, r => !r.Headers.Contains("Idempotent-Replayed"));
            (replayed, conflicts) = (replayed + accepted.Count - 1, conflicts + inProgress.Count);
            foreach (var conflict in inProgress)
            {
                await StatusCodeTests.AssertError(conflict, 409, "A request with this Idempotency-Key is in progress");
                Assert.Equal("1", conflict.Headers.GetValues("Retry-After").Single());
            }
        }
        output.WriteLine($"20 rounds of 16 concurrent duplicates: {replayed} replayed, {conflicts} answered 409");
        await Poll.UntilAsync(() => backend.Delivered.Count >= 20, TimeSpan.FromSeconds(10));
        // One more event proves nothing else was on its way.
        await gateway.Client.SendAsync(Post("/v1/events", "{}", key: null));
        await Poll.UntilAsync(() => backend.Delivered.Count >= 21, TimeSpan.FromSeconds(10));
        Assert.Equal(21, backend.Delivered.Count);
    }

    [Fact]
    public async Task Duplicate_while_the_first_request_runs_gets_409_then_the_first_answer()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));
        backend.Close();

        // ack: delivered keeps the first request running while the backend holds its batch.
        var first = gateway.Client.SendAsync(Post("/v1/delivered", "{}", "slow-1"));
        var keys = gateway.App.Services.GetRequiredService<IdempotencyTables>().Table("POST /v1/delivered", 100_000);
        await Poll.UntilAsync(() => keys.Count == 1, TimeSpan.FromSeconds(10));
        var duplicate = await gateway.Client.SendAsync(Post("/v1/delivered", "{}", "slow-1"));
        Assert.False(first.IsCompleted);
        backend.Open();
        var answer = await first;
        var replay = await gateway.Client.SendAsync(Post("/v1/delivered", "{}", "slow-1"));

        await StatusCodeTests.AssertError(duplicate, 409, "A request with this Idempotency-Key is in progress");
        Assert.Equal("1", duplicate.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.Accepted, answer.StatusCode);
        Assert.Equal(answer.Headers.GetValues("x-request-id").Single(), replay.Headers.GetValues("x-request-id").Single());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(backend.Delivered);
    }

    [Fact]
    public async Task Refused_answers_are_not_remembered_so_the_retry_runs()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var refused = await gateway.Client.SendAsync(Post("/v1/events", "{}", "retry-me", contentType: "text/plain"));
        var retried = await gateway.Client.SendAsync(Post("/v1/events", "{}", "retry-me"));
        var replayed = await gateway.Client.SendAsync(Post("/v1/events", "{}", "retry-me"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        Assert.False(retried.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Split_answer_with_rejected_items_is_replayed_whole()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var first = await gateway.Client.SendAsync(Post("/v1/batch", "{\"a\":1}\n{\"b\":2}\n", "batch-1", contentType: "application/x-ndjson"));
        var second = await gateway.Client.SendAsync(Post("/v1/batch", "{\"a\":1}\n{\"b\":2}\n", "batch-1", contentType: "application/x-ndjson"));

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(2, JsonDocument.Parse(await second.Content.ReadAsStringAsync()).RootElement.GetProperty("accepted").GetInt32());
        await Poll.UntilAsync(() => backend.Delivered.Count >= 2, TimeSpan.FromSeconds(10));
        await gateway.Client.SendAsync(Post("/v1/events", "{}", key: null));
        await Poll.UntilAsync(() => backend.Delivered.Count >= 3, TimeSpan.FromSeconds(10));
        Assert.Equal(3, backend.Delivered.Count);
    }

    [Fact]
    public async Task Key_longer_than_255_characters_is_400_and_nothing_is_queued()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await TestGateway.StartAsync(Config, With(backend));

        var tooLong = await gateway.Client.SendAsync(Post("/v1/events", "{}", new string('k', 256)));
        var longest = await gateway.Client.SendAsync(Post("/v1/events", "{}", new string('k', 255)));

        await StatusCodeTests.AssertError(tooLong, 400, "Idempotency-Key must be 1 to 255 characters");
        Assert.Equal(HttpStatusCode.Accepted, longest.StatusCode);
        await Poll.UntilAsync(() => backend.Delivered.Count == 1, TimeSpan.FromSeconds(10));
        Assert.Equal(Guid.Parse(longest.Headers.GetValues("x-request-id").Single()), backend.Delivered.Keys.Single());
    }

    private static GatewayOptions With(RecordingTargetKind kind, TimeProvider? time = null) => new()
    {
        ConfigureServices = services => services.AddSingleton<ITargetKind>(kind),
        TimeProvider = time ?? TimeProvider.System,
    };

    private static HttpRequestMessage Post(string path, string body, string? key, string? apiKey = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8, contentType) };
        request.Content.Headers.ContentType!.CharSet = null;
        if (key is not null)
        {
            request.Headers.Add("Idempotency-Key", key);
        }
        if (apiKey is not null)
        {
            request.Headers.Add("x-api-key", apiKey);
        }
        return request;
    }

    private static string Sha256(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
