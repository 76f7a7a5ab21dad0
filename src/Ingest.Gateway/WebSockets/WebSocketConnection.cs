using System.Buffers;
using System.Buffers.Text;
using System.Net;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// One open WebSocket connection: who it is (from <c>$connect</c>), its socket with one send at a
/// time (acks, errors and @connections pushes never interleave), and its idle and lifetime limits
/// on the gateway's <see cref="TimeProvider"/>.
/// </summary>
internal sealed class WebSocketConnection
{
    /// <summary>How long a client gets to answer our close frame before the connection is cut.</summary>
    internal static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly CancellationTokenSource _abort;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly TimeSpan _maxDuration;
    private WebSocket? _socket;
    private ITimer? _timer;
    private long _lastActiveTicks;
    private int _closing;
    private Utf8JsonWriter? _frameWriter;

    public WebSocketConnection(HttpContext http, string? stage, TimeProvider time, TimeSpan idleTimeout, TimeSpan maxDuration)
    {
        Id = NewId();
        Http = http;
        Stage = stage;
        _time = time;
        _idleTimeout = idleTimeout;
        _maxDuration = maxDuration;
        _abort = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        ConnectedAt = time.GetUtcNow();
        _lastActiveTicks = ConnectedAt.UtcTicks;
    }

    /// <summary>Base64url of 12 random bytes, e.g. <c>L0SM9cOFvHcCIhwA</c>: unguessable, safe in a URL path.</summary>
    public string Id { get; }

    /// <summary>The upgrade request; its headers stay readable for the connection's life (throttle keys, captured headers).</summary>
    public HttpContext Http { get; }

    /// <summary>Stage the connection came in on; null without stages.</summary>
    public string? Stage { get; }

    public DateTimeOffset ConnectedAt { get; }

    /// <summary>Time of the last message from the client (the connection's start before any).</summary>
    public DateTimeOffset LastActiveAt => new(Interlocked.Read(ref _lastActiveTicks), TimeSpan.Zero);

    public IPAddress? SourceIp { get; init; }

    /// <summary><see cref="SourceIp"/> as text, formatted once for every event of the connection.</summary>
    public string? SourceIpText { get; init; }

    public string? UserAgent { get; init; }

    /// <summary>Id of the API key that authenticated <c>$connect</c>.</summary>
    public string? ApiKeyId { get; init; }

    /// <summary>Principal that authenticated <c>$connect</c> (authorizer, IAM key, HMAC device).</summary>
    public string? Principal { get; init; }

    public IReadOnlyDictionary<string, string>? AuthorizerContext { get; init; }

    /// <summary>traceparent of the upgrade; messages continue its trace.</summary>
    public required string TraceParent { get; init; }

    /// <summary>Path the client upgraded on, for the access log.</summary>
    public required string Path { get; init; }

    /// <summary>Fires when the connection is cut (our close went unanswered, or the gateway is gone).</summary>
    public CancellationToken Aborted => _abort.Token;

    /// <summary>True once either side started the closing handshake (or the connection ended): nothing more is sent.</summary>
    public bool IsClosing => Volatile.Read(ref _closing) != 0;

    /// <summary>The close code the gateway sent (idle, lifetime, admin, drain, message too big); null while it sent none.</summary>
    public WebSocketCloseStatus? ServerCloseStatus { get; private set; }

    /// <summary>Why the gateway closed the connection, for the disconnect event.</summary>
    public string? ServerCloseReason { get; private set; }

    /// <summary>Frames the receive loop answers with (ack, error); only that loop writes them, one at a time.</summary>
    public ArrayBufferWriter<byte> FrameBuffer { get; } = new(256);

    /// <summary>A JSON writer over <see cref="FrameBuffer"/>, emptied for a new frame.</summary>
    public Utf8JsonWriter NewFrame()
    {
        FrameBuffer.ResetWrittenCount();
        if (_frameWriter is null)
        {
            _frameWriter = new Utf8JsonWriter(FrameBuffer);
        }
        else
        {
            _frameWriter.Reset(FrameBuffer);
        }
        return _frameWriter;
    }

    /// <summary>Starts serving on <paramref name="socket"/>: the idle and lifetime clock begins.</summary>
    public void Start(WebSocket socket)
    {
        _socket = socket;
        _timer = _time.CreateTimer(static state => ((WebSocketConnection)state!).OnTimer(), this, Min(_idleTimeout, _maxDuration), Timeout.InfiniteTimeSpan);
    }

    /// <summary>A message arrived: the idle clock starts again.</summary>
    public void Touch(DateTimeOffset now) => Interlocked.Exchange(ref _lastActiveTicks, now.UtcTicks);

    /// <summary>
    /// Sends one whole message after any send in progress. False when the connection is closing or
    /// gone, or <paramref name="cancellationToken"/> fired while waiting for the send before it.
    /// </summary>
    public async ValueTask<bool> SendAsync(ReadOnlyMemory<byte> message, WebSocketMessageType type, CancellationToken cancellationToken)
    {
        var socket = _socket;
        if (socket is null || Volatile.Read(ref _closing) != 0)
        {
            return false;
        }
        try
        {
            await _send.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        try
        {
            if (socket.State != WebSocketState.Open || Volatile.Read(ref _closing) != 0)
            {
                return false;
            }
            await socket.SendAsync(message, type, endOfMessage: true, _abort.Token);
            return true;
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            return false;
        }
        finally
        {
            _send.Release();
        }
    }

    /// <summary>
    /// Starts the closing handshake from the gateway's side (once; later calls do nothing): sends
    /// the close frame after any send in progress. A client that has not answered within
    /// <see cref="CloseGrace"/> is cut off. False when the connection was already closing.
    /// </summary>
    public async Task<bool> CloseAsync(WebSocketCloseStatus status, string reason)
    {
        if (_socket is not { } socket || Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return false;
        }
        ServerCloseStatus = status;
        ServerCloseReason = reason;
        try
        {
            _abort.CancelAfter(CloseGrace);
            await _send.WaitAsync(_abort.Token);
            try
            {
                if (socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(status, reason, _abort.Token);
                }
            }
            finally
            {
                _send.Release();
            }
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            // Cut off or gone already: the receive loop ends either way.
        }
        return true;
    }

    /// <summary>The client sent a close frame first: answer it with the same code.</summary>
    public async Task AnswerCloseAsync(WebSocketCloseStatus? status)
    {
        if (_socket is not { } socket || Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }
        try
        {
            _abort.CancelAfter(CloseGrace);
            await _send.WaitAsync(_abort.Token);
            try
            {
                if (socket.State == WebSocketState.CloseReceived)
                {
                    await socket.CloseOutputAsync(status ?? WebSocketCloseStatus.NormalClosure, null, _abort.Token);
                }
            }
            finally
            {
                _send.Release();
            }
        }
        catch (Exception e) when (IsConnectionGone(e))
        {
            // The client is gone: nothing to answer.
        }
    }

    /// <summary>The connection ended: stops its clock. Later sends and closes do nothing.</summary>
    public void End()
    {
        Interlocked.Exchange(ref _closing, 1);
        _timer?.Dispose();
        try
        {
            _abort.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Ended twice.
        }
        _frameWriter?.Dispose();
    }

    private void OnTimer()
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            return;
        }
        var now = _time.GetUtcNow();
        var lifeEnds = ConnectedAt + _maxDuration;
        var idleEnds = LastActiveAt + _idleTimeout;
        if (now >= lifeEnds)
        {
            _ = CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "Going away: maximum connection duration reached");
        }
        else if (now >= idleEnds)
        {
            _ = CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "Going away: idle timeout");
        }
        else
        {
            // Messages moved the idle deadline: wake up at the nearer of the two.
            try
            {
                _timer?.Change(Min(lifeEnds, idleEnds) - now, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // Ended meanwhile.
            }
        }
    }

    internal static bool IsConnectionGone(Exception e) =>
        e is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidOperationException or IOException;

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static string NewId()
    {
        Span<byte> random = stackalloc byte[12];
        RandomNumberGenerator.Fill(random);
        return Base64Url.EncodeToString(random);
    }
}
