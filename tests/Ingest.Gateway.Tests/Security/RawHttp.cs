using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Infrastructure;

namespace Ingest.Gateway.Tests.Security;

/// <summary>Requests written byte for byte over TCP, for what HttpClient will not send.</summary>
internal static class RawHttp
{
    public static IPEndPoint EndPoint(TestGateway gateway) =>
        new(IPAddress.Loopback, gateway.Client.BaseAddress!.Port);

    /// <summary>Sends <paramref name="request"/> and reads the whole answer (the gateway closes or Content-Length ends it).</summary>
    public static async Task<(int Status, string Head, string Body)> SendAsync(TestGateway gateway, string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(EndPoint(gateway));
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[8192];
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, timeout.Token);
            }
            catch (IOException)
            {
                break;
            }
            if (read == 0)
            {
                break;
            }
            received.Write(buffer, 0, read);
            var text = Encoding.ASCII.GetString(received.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0 && ContentLength(text[..end]) is { } length && text.Length >= end + 4 + length)
            {
                break;
            }
        }
        var answer = Encoding.ASCII.GetString(received.ToArray());
        var split = answer.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = split >= 0 ? answer[..split] : answer;
        var status = head.Length >= 12 ? int.Parse(head.AsSpan(9, 3), System.Globalization.CultureInfo.InvariantCulture) : 0;
        return (status, head, split >= 0 ? answer[(split + 4)..] : "");
    }

    public static string Post(string path, string body, params string[] headers) =>
        $"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n"
        + string.Concat(headers.Select(h => h + "\r\n")) + "Connection: close\r\n\r\n" + body;

    public static string Message(string body) => JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!;

    private static int? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            {
                return int.Parse(line[15..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        return null;
    }
}
