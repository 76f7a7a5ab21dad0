using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.SQS;
using Amazon.SQS.Model;
using Ingest.IntegrationTests.Delivery;
using Ingest.TestSupport.Auth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Ingest.IntegrationTests.ClaimCheck;

/// <summary>
/// Oversize events through a real gateway into the SQS and S3 of the fauxqs stand-in: the pointer in
/// the queue, the object in the bucket. Each test takes a few seconds.
/// </summary>
[Trait("Category", "Standins")]
public class ClaimCheckTests(ITestOutputHelper output)
{
    private const string Endpoint = "http://127.0.0.1:4566";

    [Fact]
    public async Task Oversize_event_becomes_a_pointer_in_sqs_and_a_byte_identical_object_in_s3()
    {
        var (queue, plainQueue, bucket) = ($"it-{Guid.NewGuid():N}", $"it-{Guid.NewGuid():N}", $"it-claims-{Guid.NewGuid():N}"[..40]);
        await using var app = await StartAsync(Endpoint, $$"""
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms }, claimCheck: { bucket: {{bucket}}, prefix: "big/" } }
              plain: { type: sqs, queue: {{plainQueue}}, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true, maxBodyBytes: 4194304, headers: [x-device], contentTypes: [application/json, application/octet-stream] }
              - { route: POST /v1/plain, target: plain, auth: none, public: true, maxBodyBytes: 4194304, contentTypes: [application/octet-stream] }
            """);
        using var client = new HttpClient { BaseAddress = DeliveryGateway.PublicUri(app) };
        // 1.5 MiB of binary: above the SQS 1 MiB message limit even before base64.
        var body = RandomNumberGenerator.GetBytes(1536 * 1024);
        var small = """{"temp":21}"""u8.ToArray();

        var big = await client.SendAsync(Post("/v1/events", body, "application/octet-stream"));
        var normal = await client.SendAsync(Post("/v1/events", small, "application/json"));
        var withoutClaimCheck = await client.SendAsync(Post("/v1/plain", body, "application/octet-stream"));

        Assert.Equal(HttpStatusCode.Accepted, big.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, normal.StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, withoutClaimCheck.StatusCode);
        var bigId = Guid.Parse(big.Headers.GetValues("x-request-id").Single());
        var normalId = Guid.Parse(normal.Headers.GetValues("x-request-id").Single());

        var messages = await ReceiveAsync(queue, 2);
        Assert.Equal(2, messages.Count);
        var pointerMessage = messages.Single(m => m.MessageAttributes["ingest-event-id"].StringValue == bigId.ToString());
        var normalMessage = messages.Single(m => m.MessageAttributes["ingest-event-id"].StringValue == normalId.ToString());
        Assert.Equal("""{"temp":21}""", normalMessage.Body);

        // The pointer keeps the event's envelope and names the object.
        Assert.Equal("POST /v1/events", pointerMessage.MessageAttributes["ingest-route"].StringValue);
        Assert.Equal("application/octet-stream", pointerMessage.MessageAttributes["content-type"].StringValue);
        Assert.Equal("sensor-7", pointerMessage.MessageAttributes["ingest-h-x-device"].StringValue);
        using var pointer = JsonDocument.Parse(pointerMessage.Body);
        var claim = pointer.RootElement.GetProperty("claimCheck");
        Assert.Equal(bucket, claim.GetProperty("bucket").GetString());
        Assert.Equal($"big/{bigId:D}", claim.GetProperty("key").GetString());
        Assert.Equal(body.Length, claim.GetProperty("bytes").GetInt64());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(body)), claim.GetProperty("sha256").GetString());
        Assert.Equal("application/octet-stream", claim.GetProperty("contentType").GetString());

        using var s3 = S3Client(Endpoint);
        using var stored = await s3.GetObjectAsync(bucket, $"big/{bigId:D}");
        using var copy = new MemoryStream();
        await stored.ResponseStream.CopyToAsync(copy);
        Assert.Equal(body, copy.ToArray());
        Assert.Equal(bigId.ToString("D"), stored.Metadata["x-amz-meta-ingest-event-id"]);
        output.WriteLine($"pointer {pointerMessage.Body.Length} bytes for a {body.Length}-byte event; object {copy.Length} bytes");
    }

    [Fact]
    public async Task Events_above_the_threshold_go_to_s3_even_when_the_target_would_take_them()
    {
        var (queue, bucket) = ($"it-{Guid.NewGuid():N}", $"it-claims-{Guid.NewGuid():N}"[..40]);
        await using var app = await StartAsync(Endpoint, $$"""
            targets:
              q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms }, claimCheck: { bucket: {{bucket}}, thresholdBytes: 1000 } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true }
            """);
        using var client = new HttpClient { BaseAddress = DeliveryGateway.PublicUri(app) };
        var body = Encoding.UTF8.GetBytes($"{{\"pad\":\"{new string('x', 1200)}\"}}");

        var response = await client.SendAsync(Post("/v1/events", body, "application/json"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = Guid.Parse(response.Headers.GetValues("x-request-id").Single());
        var message = (await ReceiveAsync(queue, 1)).Single();
        Assert.Equal($"claims/{id:D}", JsonDocument.Parse(message.Body).RootElement.GetProperty("claimCheck").GetProperty("key").GetString());
        using var s3 = S3Client(Endpoint);
        using var stored = await s3.GetObjectAsync(bucket, $"claims/{id:D}");
        using var copy = new MemoryStream();
        await stored.ResponseStream.CopyToAsync(copy);
        Assert.Equal(body, copy.ToArray());
    }

    [Fact]
    public async Task S3_unreachable_is_503_s3_refusing_is_502_and_no_pointer_is_sent()
    {
        var queue = $"it-{Guid.NewGuid():N}";
        // A port nothing listens on: connection refused (transient); a fake S3 that answers 403 AccessDenied (a refusal).
        await using var refusing = await FakeServer.StartAsync(async context =>
        {
            context.Response.StatusCode = 403;
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>1</RequestId></Error>");
        });
        var closedPort = FreePort();
        await using var down = await StartAsync($"sqs: \"{Endpoint}\", s3: \"http://127.0.0.1:{closedPort}\"", Targets(queue), endpointsYaml: true);
        await using var denied = await StartAsync($"sqs: \"{Endpoint}\", s3: \"{refusing.BaseUrl}\"", Targets(queue), endpointsYaml: true);
        var body = RandomNumberGenerator.GetBytes(1100 * 1024);

        using var downClient = new HttpClient { BaseAddress = DeliveryGateway.PublicUri(down) };
        using var deniedClient = new HttpClient { BaseAddress = DeliveryGateway.PublicUri(denied) };
        var unavailable = await downClient.SendAsync(Post("/v1/events", body, "application/octet-stream"));
        var refused = await deniedClient.SendAsync(Post("/v1/events", body, "application/octet-stream"));
        var marker = await downClient.SendAsync(Post("/v1/events", """{"after":1}"""u8.ToArray(), "application/json"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, unavailable.StatusCode);
        Assert.Equal("1", unavailable.Headers.GetValues("Retry-After").Single());
        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        Assert.Equal("Internal server error", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString());
        Assert.True(refusing.Hits > 0);
        // Only the marker arrives: no pointer to a missing object was queued.
        var messages = await ReceiveAsync(queue, 1, extraWait: TimeSpan.FromSeconds(1));
        Assert.Equal(marker.Headers.GetValues("x-request-id").Single(), messages.Single().MessageAttributes["ingest-event-id"].StringValue);
    }

    private static string Targets(string queue) => $$"""
        targets:
          q: { type: sqs, queue: {{queue}}, batch: { linger: 5ms }, timeout: 3s, claimCheck: { bucket: claims-bucket } }
        routes:
          - { route: POST /v1/events, target: q, auth: none, public: true, maxBodyBytes: 4194304, contentTypes: [application/json, application/octet-stream] }
        """;

    private static Task<WebApplication> StartAsync(string endpointOrEndpoints, string yaml, bool endpointsYaml = false) =>
        DeliveryGateway.StartAsync(endpointsYaml ? endpointOrEndpoints : $"sqs: \"{endpointOrEndpoints}\", s3: \"{endpointOrEndpoints}\"", yaml);

    private static HttpRequestMessage Post(string path, byte[] body, string contentType)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new(contentType);
        request.Headers.Add("x-device", "sensor-7");
        return request;
    }

    private static AmazonS3Client S3Client(string endpoint) =>
        new(new BasicAWSCredentials("test", "test"), new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });

    /// <summary>Receives until <paramref name="expected"/> messages arrived (deadline 20 s), then waits <paramref name="extraWait"/> for any more.</summary>
    private static async Task<List<Message>> ReceiveAsync(string queue, int expected, TimeSpan? extraWait = null)
    {
        using var sqs = new AmazonSQSClient(new BasicAWSCredentials("test", "test"), new AmazonSQSConfig { ServiceURL = Endpoint, AuthenticationRegion = "us-east-1" });
        var url = (await sqs.GetQueueUrlAsync(queue)).QueueUrl;
        var messages = new List<Message>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        DateTime? settle = null;
        while (DateTime.UtcNow < deadline && (settle is null || DateTime.UtcNow < settle))
        {
            var batch = await sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = url, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, MessageAttributeNames = ["All"] });
            messages.AddRange(batch.Messages ?? []);
            if (messages.Count >= expected && settle is null)
            {
                settle = DateTime.UtcNow + (extraWait ?? TimeSpan.Zero);
            }
        }
        return messages;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
