using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Auth;
using Ingest.FuzzTests.Engine;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Auth;

/// <summary>
/// <c>auth: hmac</c> headers. Input: <c>KEY-ID\nTIMESTAMP\nSIGNATURE\nBODY</c>. Authentication
/// answers accepted or a 403 rejection, never an exception, and accepts only a signature that
/// really is the device's HMAC of timestamp and body, once.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class HmacFuzz(ITestOutputHelper output)
{
    public const string DeviceId = "device-42";
    public const string DeviceSecret = "device-42-secret-0123456789";

    /// <summary>The fixed clock the seeds were signed against.</summary>
    public static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static readonly string[] Dictionary = ["\n", DeviceId, "device-4", "1795608000", "-1", "99999999999999999999", "0x", "=", "==", "-", "_", "+", "/", " ", "\u00e9", "\u0000"];

    private readonly RouteAuthenticator _auth = AuthRequests.Compile($$"""
        hmacKeys: [{ id: {{DeviceId}}, secret: "{{DeviceSecret}}" }]
        hmac: { replayWindow: 5m }
        targets: { sink: { type: blackhole } }
        routes: [{ route: POST /v1/events, target: sink, auth: [hmac] }]
        """, new FakeTimeProvider(Now));

    [Fact]
    public void Hmac_headers_authenticate_or_are_refused_never_throw() =>
        FuzzRunner.RunAndAssert("hmac", Mutations.Inputs(Corpus.Load("hmac"), Mutations.TextFrom("0123456789abcdefABCDEF+/=-_\n device"), Dictionary), Check, output);

    [Fact]
    public async Task Seeds_are_valid_signed_requests()
    {
        var auth = AuthRequests.Compile($$"""
            hmacKeys: [{ id: {{DeviceId}}, secret: "{{DeviceSecret}}" }]
            hmac: { replayWindow: 5m }
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /v1/events, target: sink, auth: [hmac] }]
            """, new FakeTimeProvider(Now));
        var seeds = Corpus.Load("hmac").Seeds;
        Assert.True(seeds.Length >= 10);
        foreach (var seed in seeds)
        {
            var (id, timestamp, signature, body) = Split(seed);
            var context = AuthRequests.Context(AuthRequests.Http("POST", "/v1/events", body, [("x-ingest-key-id", id), ("x-ingest-timestamp", timestamp), ("x-ingest-signature", signature)]), body);
            Assert.Null(await auth.AuthenticateAsync(context, default));
        }
    }

    internal void Check(byte[] input)
    {
        var (id, timestamp, signature, body) = Split(input);
        var context = AuthRequests.Context(AuthRequests.Http("POST", "/v1/events", body, [("x-ingest-key-id", id), ("x-ingest-timestamp", timestamp), ("x-ingest-signature", signature)]), body);
        var rejection = _auth.AuthenticateAsync(context, default).AsTask().GetAwaiter().GetResult();
        if (rejection is not null)
        {
            PropertyBrokenException.Check(rejection.Status == 403, $"hmac refused with {rejection.Status}");
            return;
        }
        // Accepted: it must be the real signature, within the window.
        PropertyBrokenException.Check(id == DeviceId && context.Principal == DeviceId, $"accepted key id '{id}'");
        PropertyBrokenException.Check(long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && Math.Abs(seconds - Now.ToUnixTimeSeconds()) <= 300, $"accepted timestamp '{timestamp}'");
        byte[] signed = [.. Encoding.ASCII.GetBytes(timestamp + "\n"), .. body];
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(DeviceSecret), signed);
        PropertyBrokenException.Check(Decodes(signature, expected), $"accepted signature '{signature}' that is not the HMAC");
    }

    /// <summary>Hex, base64 or base64url of the expected MAC.</summary>
    private static bool Decodes(string signature, byte[] expected) =>
        signature.Equals(Convert.ToHexString(expected), StringComparison.OrdinalIgnoreCase)
        || signature.TrimEnd('=') == Convert.ToBase64String(expected).TrimEnd('=')
        || signature.TrimEnd('=') == Convert.ToBase64String(expected).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static (string Id, string Timestamp, string Signature, byte[] Body) Split(byte[] input)
    {
        var parts = new string[3];
        var position = 0;
        for (var i = 0; i < 3; i++)
        {
            var newline = position < input.Length ? input.AsSpan(position).IndexOf((byte)'\n') : -1;
            var end = newline < 0 ? input.Length : position + newline;
            parts[i] = Encoding.UTF8.GetString(input, position, end - position);
            position = Math.Min(input.Length, end + 1);
        }
        return (parts[0], parts[1], parts[2], input[position..]);
    }
}
