using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Ingest.TestSupport.Tls;

namespace Ingest.Gateway.Tests.Tls;

/// <summary>
/// TLS 1.0 and 1.1 are refused. The operating system's client may not offer those versions at
/// all, so the ClientHello is written by hand and sent over a plain socket; the server must answer
/// with a protocol_version alert or close. The same hello offering TLS 1.2 gets a ServerHello, which
/// shows the hand-made hello is well formed. About 1 s.
/// </summary>
public sealed class LegacyTlsTests : IDisposable
{
    private const byte Handshake = 0x16;
    private const byte Alert = 0x15;
    private const byte ServerHello = 0x02;
    private const byte ProtocolVersion = 70;

    private readonly TestCertificates _ca = new();

    public void Dispose() => _ca.Dispose();

    [Theory]
    [InlineData((ushort)0x0301)] // TLS 1.0
    [InlineData((ushort)0x0302)] // TLS 1.1
    public async Task A_client_offering_at_most_tls_1_0_or_1_1_is_refused(ushort version)
    {
        await using var gateway = await StartAsync();

        var answer = await SendHelloAsync(gateway.Port(), version);

        if (answer.Length > 0)
        {
            Assert.True(answer[0] == Alert, $"expected an alert or a closed connection, got record type 0x{answer[0]:x2}");
            Assert.True(answer.Length >= 7, "a whole alert record");
            Assert.Equal(2, answer[5]); // fatal
            Assert.Equal(ProtocolVersion, answer[6]);
        }
    }

    [Fact]
    public async Task The_same_hand_made_hello_offering_tls_1_2_gets_a_server_hello()
    {
        await using var gateway = await StartAsync();

        var answer = await SendHelloAsync(gateway.Port(), 0x0303);

        Assert.True(answer.Length >= 6, "the server answered");
        Assert.Equal(Handshake, answer[0]);
        Assert.Equal(ServerHello, answer[5]);
    }

    private async Task<TlsGateway> StartAsync()
    {
        using var certificate = _ca.Issue(["api.example.test"]);
        var (pem, key) = _ca.WritePem(certificate, "api");
        return await TlsGateway.StartAsync($$"""
            listen:
              - { address: "127.0.0.1:0", tls: { certificates: [{ host: api.example.test, pem: "{{pem}}", key: "{{key}}" }] } }
            """);
    }

    /// <summary>Sends one ClientHello and returns the first bytes of the answer (empty when the server closed without a word).</summary>
    private static async Task<byte[]> SendHelloAsync(int port, ushort version)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(ClientHello(version, "api.example.test"));
        var answer = new byte[16];
        var read = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            while (read < answer.Length)
            {
                var n = await stream.ReadAsync(answer.AsMemory(read), timeout.Token);
                if (n == 0)
                {
                    break;
                }
                read += n;
            }
        }
        catch (IOException)
        {
            // Connection reset: refused.
        }
        return answer[..read];
    }

    /// <summary>A minimal ClientHello whose highest version is <paramref name="version"/> (no supported_versions extension, as old clients send it).</summary>
    private static byte[] ClientHello(ushort version, string serverName)
    {
        var body = new List<byte>();
        Add16(body, version);
        body.AddRange(RandomNumberGenerator.GetBytes(32));
        body.Add(0); // no session id
        ushort[] suites = [0xC02B, 0xC02F, 0xC009, 0xC013, 0xC00A, 0xC014, 0x009C, 0x002F, 0x0035, 0x000A];
        Add16(body, suites.Length * 2);
        foreach (var suite in suites)
        {
            Add16(body, suite);
        }
        body.Add(1);
        body.Add(0); // null compression

        var extensions = new List<byte>();
        var name = Encoding.ASCII.GetBytes(serverName);
        Extension(extensions, 0x0000, [.. Be16(name.Length + 3), 0, .. Be16(name.Length), .. name]); // server_name
        Extension(extensions, 0x000a, [.. Be16(4), .. Be16(0x001d), .. Be16(0x0017)]);               // supported_groups: x25519, P-256
        Extension(extensions, 0x000b, [1, 0]);                                                          // ec_point_formats: uncompressed
        Extension(extensions, 0x000d, [.. Be16(8), .. Be16(0x0403), .. Be16(0x0804), .. Be16(0x0401), .. Be16(0x0201)]); // signature_algorithms
        Add16(body, extensions.Count);
        body.AddRange(extensions);

        var handshake = new List<byte> { 0x01, (byte)(body.Count >> 16), (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { Handshake, 0x03, 0x01 };
        Add16(record, handshake.Count);
        record.AddRange(handshake);
        return [.. record];
    }

    private static void Extension(List<byte> extensions, int type, byte[] data)
    {
        Add16(extensions, type);
        Add16(extensions, data.Length);
        extensions.AddRange(data);
    }

    private static byte[] Be16(int value) => [(byte)(value >> 8), (byte)value];

    private static void Add16(List<byte> bytes, int value) => bytes.AddRange(Be16(value));
}
