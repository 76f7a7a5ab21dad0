using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Tests.Admin;

namespace Ingest.Gateway.Tests.WebSockets;

/// <summary>A <see cref="ClientWebSocket"/> against a test gateway, with bounded waits for every frame.</summary>
internal sealed class WebSocketClient : IAsyncDisposable
{
    /// <summary>Longest wait for one frame: a frame that does not come fails the test instead of hanging it.</summary>
    private static readonly TimeSpan FrameTimeout = TimeSpan.FromSeconds(15);

    private WebSocketClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public static Uri Address(Uri httpBase, string path = "/ws") =>
        new UriBuilder(httpBase) { Scheme = "ws", Path = path.Split('?')[0], Query = path.Contains('?') ? path.Split('?')[1] : "" }.Uri;

    /// <summary>Opens a connection (101); throws when the upgrade is refused.</summary>
    public static Task<WebSocketClient> ConnectAsync(ConsoleGateway gateway, string path = "/ws", string? apiKey = "secret", Action<ClientWebSocketOptions>? configure = null) =>
        ConnectAsync(gateway.Client.BaseAddress!, path, apiKey, configure);

    public static async Task<WebSocketClient> ConnectAsync(Uri httpBase, string path = "/ws", string? apiKey = "secret", Action<ClientWebSocketOptions>? configure = null)
    {
        var (client, status) = await TryConnectAsync(httpBase, path, apiKey, configure);
        return client ?? throw new InvalidOperationException($"upgrade refused with {status}");
    }

    /// <summary>The open connection, or null and the HTTP status the upgrade was refused with.</summary>
    public static Task<(WebSocketClient? Client, HttpStatusCode Status)> TryConnectAsync(
        ConsoleGateway gateway, string path = "/ws", string? apiKey = "secret", Action<ClientWebSocketOptions>? configure = null) =>
        TryConnectAsync(gateway.Client.BaseAddress!, path, apiKey, configure);

    public static async Task<(WebSocketClient? Client, HttpStatusCode Status)> TryConnectAsync(
        Uri httpBase, string path = "/ws", string? apiKey = "secret", Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (apiKey is not null)
        {
            socket.Options.SetRequestHeader("x-api-key", apiKey);
        }
        configure?.Invoke(socket.Options);
        using var timeout = new CancellationTokenSource(FrameTimeout);
        try
        {
            await socket.ConnectAsync(Address(httpBase, path), timeout.Token);
            return (new WebSocketClient(socket), socket.HttpStatusCode);
        }
        catch (WebSocketException)
        {
            var status = socket.HttpStatusCode;
            socket.Dispose();
            return (null, status);
        }
    }

    public async Task SendAsync(string text)
    {
        using var timeout = new CancellationTokenSource(FrameTimeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, true, timeout.Token);
    }

    public async Task SendAsync(byte[] bytes, WebSocketMessageType type = WebSocketMessageType.Binary)
    {
        using var timeout = new CancellationTokenSource(FrameTimeout);
        await Socket.SendAsync(bytes, type, true, timeout.Token);
    }

    /// <summary>The next whole message, or the close frame (Type Close, with the code in <see cref="ClientWebSocket.CloseStatus"/>).</summary>
    public async Task<(WebSocketMessageType Type, byte[] Data)> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(FrameTimeout);
        var buffer = new MemoryStream();
        var chunk = new byte[8192];
        while (true)
        {
            var result = await Socket.ReceiveAsync(chunk, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return (WebSocketMessageType.Close, []);
            }
            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (result.MessageType, buffer.ToArray());
            }
        }
    }

    /// <summary>The next frame, which must be a JSON text message.</summary>
    public async Task<JsonElement> ReceiveJsonAsync()
    {
        var (type, data) = await ReceiveAsync();
        Assert.Equal(WebSocketMessageType.Text, type);
        return JsonDocument.Parse(data).RootElement.Clone();
    }

    /// <summary>Sends a message and returns the frame that answers it.</summary>
    public async Task<JsonElement> SendAndReceiveAsync(string text)
    {
        await SendAsync(text);
        return await ReceiveJsonAsync();
    }

    /// <summary>Waits for the gateway's close frame, answers it, and returns its code.</summary>
    public async Task<WebSocketCloseStatus?> ReceiveCloseAsync()
    {
        var (type, data) = await ReceiveAsync();
        Assert.True(type == WebSocketMessageType.Close, $"expected a close frame, got {type}: {Encoding.UTF8.GetString(data)}");
        using var timeout = new CancellationTokenSource(FrameTimeout);
        if (Socket.State == WebSocketState.CloseReceived)
        {
            await Socket.CloseOutputAsync(Socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        return Socket.CloseStatus;
    }

    /// <summary>Client-side close handshake.</summary>
    public async Task CloseAsync(WebSocketCloseStatus status = WebSocketCloseStatus.NormalClosure)
    {
        using var timeout = new CancellationTokenSource(FrameTimeout);
        await Socket.CloseAsync(status, "bye", timeout.Token);
    }

    public ValueTask DisposeAsync()
    {
        Socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
