using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ingest.IntegrationTests.Hostile;

/// <summary>What the gateway did with one hostile exchange: a status line (if any), and whether and when it closed the connection.</summary>
internal sealed record Answer(int? Status, string? Message, bool Closed, TimeSpan Elapsed, int Responses = 1)
{
    public bool Is4xx => Status is >= 400 and < 500;

    public override string ToString() =>
        (Status is { } status ? $"{status}{(Message is null ? "" : $" \"{Message}\"")}" : "no response")
        + (Responses > 1 ? $" (+{Responses - 1} more response(s))" : "")
        + (Closed ? $", connection closed after {Elapsed.TotalSeconds:F1} s" : ", connection kept open");
}

/// <summary>Bytes written to a raw TCP connection, for what no HTTP client will send.</summary>
internal static class RawExchange
{
    /// <summary>
    /// Writes <paramref name="request"/> and reads until the server closes or <paramref name="wait"/>
    /// passes; returns the first status line seen and whether the connection was closed.
    /// </summary>
    public static async Task<Answer> SendAsync(IPEndPoint endPoint, byte[] request, TimeSpan wait)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint);
        var clock = Stopwatch.StartNew();
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request);
        }
        catch (IOException)
        {
            // The server may close before it read everything (e.g. an oversized request).
        }
        return await ReadAnswerAsync(stream, clock, wait);
    }

    public static Task<Answer> SendAsync(IPEndPoint endPoint, string request, TimeSpan wait) =>
        SendAsync(endPoint, Encoding.Latin1.GetBytes(request), wait);

    /// <summary>Reads what the server sends until it closes or <paramref name="wait"/> passes.</summary>
    public static async Task<Answer> ReadAnswerAsync(NetworkStream stream, Stopwatch clock, TimeSpan wait)
    {
        var received = new MemoryStream();
        var buffer = new byte[16384];
        var closed = false;
        using var timeout = new CancellationTokenSource(wait);
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer, timeout.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (IOException)
            {
                closed = true;
                break;
            }
            if (read == 0)
            {
                closed = true;
                break;
            }
            received.Write(buffer, 0, read);
        }
        var text = Encoding.Latin1.GetString(received.ToArray());
        int? status = text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal) && text.Length >= 12
            ? int.Parse(text.AsSpan(9, 3), CultureInfo.InvariantCulture)
            : null;
        return new Answer(status, MessageOf(text), closed, clock.Elapsed, ResponseCount(text));
    }

    /// <summary>The JSON message of the first response, if it has one.</summary>
    private static string? MessageOf(string text)
    {
        var start = text.IndexOf("{\"message\":\"", StringComparison.Ordinal);
        if (start < 0)
        {
            return null;
        }
        start += 12;
        var end = text.IndexOf('"', start);
        return end > start ? text[start..end] : null;
    }

    /// <summary>Counts how many responses a connection carried (for smuggling: a hidden second request must not be answered).</summary>
    private static int ResponseCount(string text)
    {
        var count = 0;
        var index = 0;
        while ((index = text.IndexOf("HTTP/1.1 ", index, StringComparison.Ordinal)) >= 0)
        {
            count++;
            index += 9;
        }
        return count;
    }
}
