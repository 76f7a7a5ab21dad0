using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Gateway.AccessLog;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Observability;

/// <summary>
/// <see cref="AccessLogFormatter"/>: one valid JSON object per line whatever the request carried
/// (quotes, control characters, line separators, lone surrogates, IPv6), with every value exact.
/// </summary>
public class AccessLogFormatTests
{
    /// <summary>DESIGN.md "Access log and metrics", then the WebSocket fields, in line order.</summary>
    private static readonly string[] Fields =
    [
        "requestId", "clientRequestId", "requestTime", "requestTimeEpoch", "httpMethod", "path", "routeKey", "stage",
        "status", "responseLength", "latency", "integrationLatency", "integrationStatus", "integrationError",
        "sourceIp", "userAgent", "apiKeyId", "principal", "events", "firewallRule",
        "connectionId", "eventType", "disconnectStatusCode",
    ];

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static readonly string Nasty = "q\"b\\s/ nl\n cr\r tab\t nul\0 esc\u001b del\u007f nel\u0085 ls\u2028 ps\u2029 é 東京 😀 end";

    [Fact]
    public void Every_field_is_on_every_line_in_order_with_its_exact_value()
    {
        var requestId = Guid.Parse("019abf6e-2c4b-7d10-9f3e-0123456789ab");
        var entry = new AccessLogEntry
        {
            RequestId = requestId,
            ClientRequestId = "client \"7\"",
            RequestTimeMs = 1_795_644_884_123, // 2026-11-25T22:14:44.123Z
            HttpMethod = "POST",
            Path = "/v1/devices/a\"b/events",
            RouteKey = "POST /v1/devices/{id}/events",
            Stage = "prod",
            Status = 202,
            ResponseLength = long.MaxValue,
            LatencyMs = 0.7594,
            IntegrationLatencyMs = 12.5,
            IntegrationStatus = 200,
            IntegrationError = Nasty,
            SourceIp = IPAddress.Parse("2001:db8::ff00:42:8329"),
            UserAgent = Nasty,
            ApiKeyId = "key-1",
            Principal = "user@example.com",
            Events = int.MaxValue,
            FirewallRule = "block-bots",
            ConnectionId = "c-1",
            EventType = "MESSAGE",
            DisconnectStatusCode = 1001,
        };

        var (line, root) = Format(entry);

        Assert.Equal(Fields, root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(requestId, root.GetProperty("requestId").GetGuid());
        Assert.Equal("client \"7\"", root.GetProperty("clientRequestId").GetString());
        Assert.Equal("25/Nov/2026:22:14:44 +0000", root.GetProperty("requestTime").GetString());
        Assert.Equal(1_795_644_884_123, root.GetProperty("requestTimeEpoch").GetInt64());
        Assert.Equal("POST", root.GetProperty("httpMethod").GetString());
        Assert.Equal("/v1/devices/a\"b/events", root.GetProperty("path").GetString());
        Assert.Equal("POST /v1/devices/{id}/events", root.GetProperty("routeKey").GetString());
        Assert.Equal("prod", root.GetProperty("stage").GetString());
        Assert.Equal(202, root.GetProperty("status").GetInt32());
        Assert.Equal(long.MaxValue, root.GetProperty("responseLength").GetInt64());
        Assert.Equal(0.759, root.GetProperty("latency").GetDouble());
        Assert.Equal(12.5, root.GetProperty("integrationLatency").GetDouble());
        Assert.Equal(200, root.GetProperty("integrationStatus").GetInt32());
        Assert.Equal(Nasty, root.GetProperty("integrationError").GetString());
        Assert.Equal("2001:db8::ff00:42:8329", root.GetProperty("sourceIp").GetString());
        Assert.Equal(Nasty, root.GetProperty("userAgent").GetString());
        Assert.Equal("key-1", root.GetProperty("apiKeyId").GetString());
        Assert.Equal("user@example.com", root.GetProperty("principal").GetString());
        Assert.Equal(int.MaxValue, root.GetProperty("events").GetInt32());
        Assert.Equal("block-bots", root.GetProperty("firewallRule").GetString());
        Assert.Equal("c-1", root.GetProperty("connectionId").GetString());
        Assert.Equal("MESSAGE", root.GetProperty("eventType").GetString());
        Assert.Equal(1001, root.GetProperty("disconnectStatusCode").GetInt32());
        AssertOneSafeLine(line);
    }

    [Fact]
    public void Fields_that_do_not_apply_are_null_and_the_line_is_still_complete()
    {
        var (line, root) = Format(new AccessLogEntry { RequestTimeMs = 0, Status = 404 });

        Assert.Equal(Fields, root.EnumerateObject().Select(p => p.Name));
        string[] nulls =
        [
            "clientRequestId", "httpMethod", "path", "routeKey", "stage", "integrationLatency", "integrationStatus", "integrationError",
            "sourceIp", "userAgent", "apiKeyId", "principal", "firewallRule", "connectionId", "eventType", "disconnectStatusCode",
        ];
        Assert.All(nulls, name => Assert.Equal(JsonValueKind.Null, root.GetProperty(name).ValueKind));
        Assert.Equal("01/Jan/1970:00:00:00 +0000", root.GetProperty("requestTime").GetString());
        Assert.Equal(Guid.Empty, root.GetProperty("requestId").GetGuid());
        AssertOneSafeLine(line);
    }

    [Theory]
    [InlineData(0.7594, "0.759")]
    [InlineData(0.7596, "0.76")]
    [InlineData(12.5, "12.5")]
    [InlineData(3.0, "3")]
    [InlineData(0.0004, "0")]
    [InlineData(0.001, "0.001")]
    [InlineData(1234567.8915, "1234567.892")]
    [InlineData(-1.25, "-1.25")]
    [InlineData(double.NaN, "null")]
    [InlineData(double.PositiveInfinity, "null")]
    public void Latencies_are_milliseconds_rounded_to_the_microsecond(double latency, string expected)
    {
        var line = Encoding.UTF8.GetString(Format(new AccessLogEntry { LatencyMs = latency, IntegrationLatencyMs = latency }).Line);

        Assert.Contains($"\"latency\":{expected},", line, StringComparison.Ordinal);
        Assert.Contains($"\"integrationLatency\":{expected},", line, StringComparison.Ordinal);
    }

    [Fact]
    public void RequestTime_follows_the_second_of_each_line()
    {
        var formatter = new AccessLogFormatter();
        long[] times = [1_795_644_884_999, 1_795_644_885_000, 1_795_644_884_000, 1_795_730_400_000, -1];
        string[] expected = ["25/Nov/2026:22:14:44 +0000", "25/Nov/2026:22:14:45 +0000", "25/Nov/2026:22:14:44 +0000", "26/Nov/2026:22:00:00 +0000", "31/Dec/1969:23:59:59 +0000"];

        var actual = times.Select(t => Format(formatter, new AccessLogEntry { RequestTimeMs = t }).Root.GetProperty("requestTime").GetString());

        Assert.Equal(expected, actual);
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("::1")]
    [InlineData("::ffff:10.1.2.3")]
    [InlineData("fe80::1ff:fe23:4567:890a%3")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    public void Source_ips_are_written_as_IPAddress_prints_them(string address)
    {
        var ip = IPAddress.Parse(address);

        var (line, root) = Format(new AccessLogEntry { SourceIp = ip });

        Assert.Equal(ip.ToString(), root.GetProperty("sourceIp").GetString());
        AssertOneSafeLine(line);
    }

    [Fact]
    public void Lone_surrogates_become_the_replacement_character()
    {
        var (line, root) = Format(new AccessLogEntry { UserAgent = "a\uD800b\uDC00c\uD83D", Path = "/\uDE00" });

        Assert.Equal("a\uFFFDb\uFFFDc\uFFFD", root.GetProperty("userAgent").GetString());
        Assert.Equal("/\uFFFD", root.GetProperty("path").GetString());
        AssertOneSafeLine(line);
    }

    [Fact]
    public void Random_strings_always_give_one_valid_line_that_reads_back_exactly()
    {
        // 2,000 strings of up to 300 random UTF-16 code units (all of them possible), fixed seed: well under a second.
        var random = new Random(20261126);
        var formatter = new AccessLogFormatter();
        var output = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 2000; i++)
        {
            var chars = new char[random.Next(300)];
            for (var c = 0; c < chars.Length; c++)
            {
                chars[c] = random.Next(4) == 0 ? (char)random.Next(0x80) : (char)random.Next(0x10000);
            }
            var value = new string(chars);
            output.ResetWrittenCount();

            formatter.Write(new AccessLogEntry { UserAgent = value, Principal = value }, output);

            AssertOneSafeLine(output.WrittenSpan);
            using var document = JsonDocument.Parse(output.WrittenMemory);
            var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(value)); // lone surrogates as U+FFFD
            Assert.Equal(expected, document.RootElement.GetProperty("userAgent").GetString());
            Assert.Equal(expected, document.RootElement.GetProperty("principal").GetString());
        }
    }

    [Fact]
    public void A_huge_value_made_only_of_escapes_fits()
    {
        var value = string.Concat(Enumerable.Repeat("\u0001\"\u2028", 40_000));

        var (line, root) = Format(new AccessLogEntry { UserAgent = value, IntegrationError = value, Path = value });

        Assert.Equal(value, root.GetProperty("userAgent").GetString());
        AssertOneSafeLine(line);
    }

    [Fact]
    public async Task A_real_request_with_odd_bytes_over_IPv6_is_logged_exactly()
    {
        var accessLog = Path.Combine(Path.GetTempPath(), $"ingest-format-{Guid.NewGuid():N}.log");
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "[::1]:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: "{{accessLog}}" }
            targets:
              sink: { type: blackhole }
            routes:
              - { route: "POST /v1/{proxy+}", target: sink, auth: none, public: true }
            """);
        var app = GatewayHost.Build(config);
        await app.StartAsync();
        try
        {
            var endpoint = app.Services.GetRequiredService<GatewayEndpoints>().PublicEndPoints[0];
            // Raw bytes, so nothing in between normalises them: a UTF-8 user agent with a quote, a
            // backslash and a tab; a path with an encoded quote, backslash, newline, U+2028 and an invalid UTF-8 byte.
            var userAgent = "probe/1.0 \"é\\東京\"\tend";
            var request = Encoding.UTF8.GetBytes(
                $"POST /v1/a%22b%5Cc%0Ad%E2%80%A8e%FFf HTTP/1.1\r\nHost: x\r\nUser-Agent: {userAgent}\r\nx-request-id: {"\"quoted\\id\""}\r\n"
                + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
            using var client = new TcpClient(AddressFamily.InterNetworkV6);
            await client.ConnectAsync(endpoint);
            var stream = client.GetStream();
            await stream.WriteAsync(request);
            var response = Encoding.UTF8.GetString(await ReadToEndAsync(stream));
            Assert.StartsWith("HTTP/1.1 202", response, StringComparison.Ordinal);

            await Poll.UntilAsync(() => ReadShared(accessLog).Length > 0, TimeSpan.FromSeconds(10));

            var line = ReadShared(accessLog);
            AssertOneSafeLine(line);
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            Assert.Equal("::1", root.GetProperty("sourceIp").GetString());
            Assert.Equal(userAgent, root.GetProperty("userAgent").GetString());
            Assert.Equal("\"quoted\\id\"", root.GetProperty("clientRequestId").GetString());
            // Kestrel decodes the path (an invalid UTF-8 sequence stays percent-encoded); the log keeps it as decoded.
            Assert.Equal("/v1/a\"b\\c\nd\u2028e%FFf", root.GetProperty("path").GetString());
            Assert.Equal("POST /v1/{proxy+}", root.GetProperty("routeKey").GetString());
            Assert.Equal(202, root.GetProperty("status").GetInt32());
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            File.Delete(accessLog);
        }
    }

    private static (byte[] Line, JsonElement Root) Format(in AccessLogEntry entry) => Format(new AccessLogFormatter(), entry);

    private static (byte[] Line, JsonElement Root) Format(AccessLogFormatter formatter, in AccessLogEntry entry)
    {
        var output = new ArrayBufferWriter<byte>();
        var length = formatter.Write(entry, output);
        Assert.Equal(output.WrittenCount, length);
        using var document = JsonDocument.Parse(output.WrittenMemory);
        return (output.WrittenSpan.ToArray(), document.RootElement.Clone());
    }

    /// <summary>One line: strict UTF-8, ending with its only newline, no raw control character or line separator inside.</summary>
    private static void AssertOneSafeLine(ReadOnlySpan<byte> utf8)
    {
        var line = StrictUtf8.GetString(utf8);
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        var bad = line[..^1].Where(c => c < ' ' || c is >= '\u007f' and <= '\u009f' or '\u2028' or '\u2029').Select(c => $"U+{(int)c:X4}").ToList();
        Assert.True(bad.Count == 0, $"raw {string.Join(", ", bad)} in {line}");
    }

    private static byte[] ReadShared(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var bytes = new MemoryStream();
        stream.CopyTo(bytes);
        return bytes.ToArray();
    }

    private static async Task<byte[]> ReadToEndAsync(NetworkStream stream)
    {
        using var response = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await stream.CopyToAsync(response, timeout.Token);
        return response.ToArray();
    }
}
