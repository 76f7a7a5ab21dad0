using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Ingest.Core.Diagnostics;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// The live connections of this instance by connection id (what <c>/admin/connections/{id}</c>
/// reaches), counted against <c>webSocket.maxConnections</c> and exported as
/// <c>ingest_websocket_connections</c>.
/// </summary>
internal sealed class WebSocketConnections
{
    private readonly ConcurrentDictionary<string, WebSocketConnection> _open = new(StringComparer.Ordinal);
    private int _reserved;

    public WebSocketConnections(IngestMetrics metrics) =>
        metrics.ObserveGauge("ingest_websocket_connections", () => [new Measurement<long>(Count)], "Open WebSocket connections on this instance.");

    /// <summary>Connections open or being opened.</summary>
    public int Count => Volatile.Read(ref _reserved);

    /// <summary>Takes a place for a new connection; false when <paramref name="max"/> are open already.</summary>
    public bool TryReserve(int max)
    {
        if (Interlocked.Increment(ref _reserved) <= max)
        {
            return true;
        }
        Interlocked.Decrement(ref _reserved);
        return false;
    }

    /// <summary>Gives back a place taken by <see cref="TryReserve"/> (the upgrade was refused, or the connection ended).</summary>
    public void Release() => Interlocked.Decrement(ref _reserved);

    public void Add(WebSocketConnection connection) => _open[connection.Id] = connection;

    public void Remove(WebSocketConnection connection) => _open.TryRemove(new KeyValuePair<string, WebSocketConnection>(connection.Id, connection));

    public bool TryGet(string id, out WebSocketConnection? connection) => _open.TryGetValue(id, out connection);

    /// <summary>Drain (SIGTERM): every client gets 1001 Going Away; returns once the close frames are sent.</summary>
    public Task CloseAllAsync() =>
        Task.WhenAll(_open.Values.Select(c => c.CloseAsync(WebSocketCloseStatus.EndpointUnavailable, "Going away: the gateway is shutting down")));
}
