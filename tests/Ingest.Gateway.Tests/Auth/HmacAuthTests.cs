using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Ingest.Gateway.Tests.Requests;
using static Ingest.Gateway.Tests.Auth.AuthGateway;

namespace Ingest.Gateway.Tests.Auth;

public class HmacAuthTests
{
    private const string Secret = "device-42-secret-0123456789";

    private static readonly string Config = $$"""
        hmacKeys: [{ id: device-42, secret: "{{Secret}}" }]
        routes: [{ route: POST /v1/telemetry, target: sink, auth: [hmac] }]
        """;

    private static HttpRequestMessage Signed(string body, string? signature = null, long? timestamp = null)
    {
        var ts = (timestamp ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds()).ToString(CultureInfo.InvariantCulture);
        signature ??= Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(ts + "\n" + body)));
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/telemetry") { Content = Json(body) };
        request.Headers.Add("x-ingest-key-id", "device-42");
        request.Headers.Add("x-ingest-timestamp", ts);
        request.Headers.Add("x-ingest-signature", signature);
        return request;
    }

    [Fact]
    public async Task Signed_request_is_accepted_with_the_device_as_principal()
    {
        await using var gateway = await StartAsync(Config);
        var request = Signed("""{"temp":21}""");
        var signature = request.Headers.GetValues("x-ingest-signature").Single();

        var response = await gateway.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, signature, Secret);
        Assert.Equal("device-42", Field(log, "principal"));
    }

    [Fact]
    public async Task Replayed_request_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);
        var first = Signed("""{"temp":22}""");
        var replay = Signed("""{"temp":22}""", first.Headers.GetValues("x-ingest-signature").Single(), long.Parse(first.Headers.GetValues("x-ingest-timestamp").Single(), CultureInfo.InvariantCulture));

        Assert.Equal(HttpStatusCode.Accepted, (await gateway.Client.SendAsync(first)).StatusCode);
        await StatusCodeTests.AssertError(await gateway.Client.SendAsync(replay), 403, "Forbidden");
    }

    [Fact]
    public async Task Bad_signature_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Signed("{}", signature: new string('a', 64)));

        await StatusCodeTests.AssertError(response, 403, "Forbidden");
    }

    [Fact]
    public async Task Old_timestamp_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.SendAsync(Signed("{}", timestamp: DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds()));

        await StatusCodeTests.AssertError(response, 403, "Forbidden");
    }

    [Fact]
    public async Task Unsigned_request_is_403_forbidden()
    {
        await using var gateway = await StartAsync(Config);

        await StatusCodeTests.AssertError(await gateway.Client.PostAsync("/v1/telemetry", Json("{}")), 403, "Forbidden");
    }
}
