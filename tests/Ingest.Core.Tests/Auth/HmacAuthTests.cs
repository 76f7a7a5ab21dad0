using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Auth;
using Ingest.Core.Requests;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Auth;

public class HmacAuthTests
{
    private const string DeviceSecret = "device-42-secret-0123456789";
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private readonly FakeTimeProvider _time = new(Now);
    private readonly RouteAuthenticator _auth;

    public HmacAuthTests()
    {
        _auth = AuthTestContext.Compile($$"""
            hmacKeys: [{ id: device-42, secret: "{{DeviceSecret}}" }]
            hmac: { replayWindow: 5m }
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /v1/events, target: sink, auth: [hmac] }]
            """, _time);
    }

    internal static string Sign(string secret, string timestamp, byte[] body, bool base64 = false)
    {
        var data = Encoding.ASCII.GetBytes(timestamp + "\n").Concat(body).ToArray();
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), data);
        return base64 ? Convert.ToBase64String(mac) : Convert.ToHexStringLower(mac);
    }

    private async Task<(Rejection? Rejection, RequestContext Context)> SendAsync(byte[] body, string? timestamp = null, string? signature = null, string id = "device-42")
    {
        timestamp ??= _time.GetUtcNow().ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        signature ??= Sign(DeviceSecret, timestamp, body);
        var context = AuthTestContext.Request(
            AuthTestContext.Http("POST", "/v1/events", body, ("x-ingest-key-id", id), ("x-ingest-timestamp", timestamp), ("x-ingest-signature", signature)),
            body);
        return (await _auth.AuthenticateAsync(context, default), context);
    }

    [Fact]
    public async Task Valid_signature_passes_and_names_the_device()
    {
        Assert.True(_auth.NeedsBody);

        var (rejection, context) = await SendAsync("""{"t":1}"""u8.ToArray());

        Assert.Null(rejection);
        Assert.Equal("device-42", context.Principal);
    }

    [Fact]
    public async Task Base64_signature_passes()
    {
        var body = """{"t":2}"""u8.ToArray();
        var timestamp = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (rejection, _) = await SendAsync(body, timestamp, Sign(DeviceSecret, timestamp, body, base64: true));

        Assert.Null(rejection);
    }

    [Fact]
    public async Task Same_signature_twice_is_a_replay()
    {
        var body = """{"t":3}"""u8.ToArray();
        var timestamp = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Null((await SendAsync(body, timestamp)).Rejection);
        _time.Advance(TimeSpan.FromMinutes(4));
        var (replay, context) = await SendAsync(body, timestamp);

        Assert.Equal((403, "Forbidden"), (replay!.Status, replay.Message));
        Assert.Contains("replay", replay.LogReason, StringComparison.Ordinal);
        Assert.Null(context.Principal);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    public async Task Timestamp_outside_the_window_is_refused(int offsetSeconds)
    {
        var timestamp = (Now.ToUnixTimeSeconds() + offsetSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);

        var (rejection, _) = await SendAsync("{}"u8.ToArray(), timestamp);

        Assert.Equal((403, "Forbidden"), (rejection!.Status, rejection.Message));
        Assert.Contains("window", rejection.LogReason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Changed_body_fails()
    {
        var timestamp = Now.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var signature = Sign(DeviceSecret, timestamp, """{"amount":1}"""u8.ToArray());

        var (rejection, _) = await SendAsync("""{"amount":9}"""u8.ToArray(), timestamp, signature);

        Assert.Equal(403, rejection!.Status);
        Assert.Contains("does not match", rejection.LogReason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("device-43", null)]
    [InlineData("device-42", "not-a-signature")]
    [InlineData("device-42", "00")]
    public async Task Unknown_device_or_malformed_signature_is_forbidden(string id, string? signature)
    {
        var (rejection, _) = await SendAsync("{}"u8.ToArray(), signature: signature, id: id);

        Assert.Equal((403, "Forbidden"), (rejection!.Status, rejection.Message));
    }

    [Fact]
    public async Task Missing_headers_are_forbidden()
    {
        var rejection = await _auth.AuthenticateAsync(AuthTestContext.Request(AuthTestContext.Http("POST", "/v1/events"), []), default);

        Assert.Equal((403, "Forbidden"), (rejection!.Status, rejection.Message));
    }

    [Fact]
    public void Replay_cache_refuses_when_full_and_frees_expired_entries()
    {
        var cache = new ReplayCache(_time);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(ReplayCache.Result.Recorded, cache.TryRecord(Key(i), Now.AddMinutes(1), capacity: 3));
        }

        Assert.Equal(ReplayCache.Result.Full, cache.TryRecord(Key(3), Now.AddMinutes(1), capacity: 3));
        Assert.Equal(ReplayCache.Result.Replay, cache.TryRecord(Key(0), Now.AddMinutes(1), capacity: 3));

        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(ReplayCache.Result.Recorded, cache.TryRecord(Key(3), Now.AddMinutes(5), capacity: 3));
        Assert.Equal(1, cache.Count);

        static Sha256Key Key(int i) => Sha256Key.Of([(byte)i]);
    }
}
