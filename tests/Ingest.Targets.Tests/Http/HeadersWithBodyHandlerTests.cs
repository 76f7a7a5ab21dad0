using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Ingest.Targets.Http;
using Ingest.TestSupport.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Yarp.ReverseProxy.Forwarder;

namespace Ingest.Targets.Tests.Http;

/// <summary>
/// YARP's forwarder over a real SocketsHttpHandler to a real Kestrel backend; the connection's
/// stream records each write, i.e. each send to the backend (each test &lt; 2 s).
/// </summary>
public sealed class HeadersWithBodyHandlerTests
{
    private static readonly IHttpForwarder Forwarder =
        new ServiceCollection().AddLogging().AddHttpForwarder().BuildServiceProvider().GetRequiredService<IHttpForwarder>();

    private static async Task<(string Received, List<byte[]> Sends)> ForwardAsync(bool withHandler, byte[] body, bool knownLength)
    {
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await HttpBackend.StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            received.TrySetResult(await reader.ReadToEndAsync());
            context.Response.StatusCode = StatusCodes.Status202Accepted;
        });
        var sends = new ConcurrentQueue<byte[]>();
        HttpMessageHandler handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new RecordingStream(new NetworkStream(socket, ownsSocket: true), sends);
            },
        };
        if (withHandler)
        {
            handler = new HeadersWithBodyHandler(handler);
        }
        using var invoker = new HttpMessageInvoker(handler);
        var http = new DefaultHttpContext();
        http.Request.Method = HttpMethods.Post;
        http.Request.Path = "/";
        http.Request.ContentType = "application/json";
        http.Request.Body = new MemoryStream(body);
        if (knownLength)
        {
            http.Request.ContentLength = body.Length;
        }
        else
        {
            http.Request.Headers.TransferEncoding = "chunked";
        }

        var error = await Forwarder.SendAsync(http, backend.Url + "/", invoker, ForwarderRequestConfig.Empty, HttpTransformer.Empty)
            .AsTask().WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal(ForwarderError.None, error);
        Assert.Equal(StatusCodes.Status202Accepted, http.Response.StatusCode);
        return (await received.Task.WaitAsync(TimeSpan.FromSeconds(15)), [.. sends]);
    }

    [Fact]
    public async Task A_body_of_known_length_leaves_with_the_headers_in_one_send()
    {
        var body = Encoding.UTF8.GetBytes($$"""{"device":"d","pad":"{{new string('0', 490)}}"}""");

        var (alone, aloneSends) = await ForwardAsync(withHandler: false, body, knownLength: true);
        var (joined, joinedSends) = await ForwardAsync(withHandler: true, body, knownLength: true);

        // YARP by itself sends the headers first, then the body.
        Assert.Equal(2, aloneSends.Count);
        Assert.EndsWith("\r\n\r\n", Encoding.ASCII.GetString(aloneSends[0]), StringComparison.Ordinal);
        var send = Encoding.UTF8.GetString(Assert.Single(joinedSends));
        Assert.StartsWith("POST / HTTP/1.1\r\n", send, StringComparison.Ordinal);
        Assert.Contains("Content-Length: " + body.Length + "\r\n", send, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Content-Type: application/json\r\n", send, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\n" + Encoding.UTF8.GetString(body), send, StringComparison.Ordinal);
        Assert.Equal(Encoding.UTF8.GetString(body), alone);
        Assert.Equal(alone, joined);
    }

    [Fact]
    public async Task A_body_without_a_length_still_gets_its_headers_sent_first()
    {
        var body = "{\"streamed\":true}"u8.ToArray();

        var (received, sends) = await ForwardAsync(withHandler: true, body, knownLength: false);

        Assert.True(sends.Count >= 2, $"{sends.Count} sends");
        var headers = Encoding.ASCII.GetString(sends[0]);
        Assert.Contains("Transfer-Encoding: chunked\r\n", headers, StringComparison.OrdinalIgnoreCase);
        Assert.EndsWith("\r\n\r\n", headers, StringComparison.Ordinal);
        Assert.Equal("{\"streamed\":true}", received);
    }

    [Fact]
    public async Task A_large_body_arrives_whole()
    {
        var body = Encoding.UTF8.GetBytes(new string('x', 300_000));

        var (received, sends) = await ForwardAsync(withHandler: true, body, knownLength: true);

        Assert.Equal(body.Length, received.Length);
        Assert.True(sends.Count > 1, "a body larger than the connection's buffer takes several sends");
    }

    /// <summary>The connection stream; each write is one send to the backend.</summary>
    private sealed class RecordingStream(Stream inner, ConcurrentQueue<byte[]> sends) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();
        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => inner.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count)
        {
            sends.Enqueue(buffer.AsSpan(offset, count).ToArray());
            inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            sends.Enqueue(buffer.ToArray());
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
