using System.Runtime.CompilerServices;
using System.Text;
using Ingest.Core.Deployment;
using Ingest.Core.Domains;
using Ingest.Core.WebSockets;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// The WebSocket routes of one deployment, per stage: which upgrade path (or stage host) belongs to
/// which stage, and which route a message goes to. Built once per deployment, on first use.
/// </summary>
internal sealed class WebSocketRouteIndex
{
    private static readonly ConditionalWeakTable<GatewaySnapshot, WebSocketRouteIndex> Indexes = [];

    private readonly Dictionary<string, StageRoutes> _byStage = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StageRoutes> _byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StageRoutes> _byHost = new(StringComparer.OrdinalIgnoreCase);
    private readonly string _path;

    private WebSocketRouteIndex(GatewaySnapshot snapshot)
    {
        var config = snapshot.Config;
        _path = config.WebSocket.Path;
        if (config.WebSocket.RouteSelection is { } text && RouteSelection.TryParse(text, out var selection, out _))
        {
            Selection = selection;
        }
        foreach (var group in snapshot.RouteList.Where(r => r.Method == WebSocketRouteKey.Method).GroupBy(r => r.Stage ?? ""))
        {
            var stage = new StageRoutes(group.First().Stage, group);
            _byStage[group.Key] = stage;
            if (stage.Connect is not null)
            {
                // Validation requires $connect: without it nothing authenticates the upgrade.
                _byPath[stage.Name is null ? _path : $"/{stage.Name}{_path}"] = stage;
            }
        }
        foreach (var stage in config.Stages)
        {
            if (_byStage.TryGetValue(stage.Name, out var routes) && routes.Connect is not null)
            {
                foreach (var host in stage.Hosts)
                {
                    _byHost[host] = routes;
                }
            }
        }
    }

    /// <summary>Null when messages all go to <c>$default</c>.</summary>
    public RouteSelection? Selection { get; }

    public static WebSocketRouteIndex For(GatewaySnapshot snapshot) => Indexes.GetValue(snapshot, static s => new WebSocketRouteIndex(s));

    /// <summary>
    /// The routes of the stage an upgrade request comes in on (its <c>$connect</c> is set): its path (custom domains mapped) is the upgrade path
    /// under a stage prefix, or the bare path on one of a stage's hosts. Null: not a WebSocket endpoint.
    /// </summary>
    public StageRoutes? ForUpgrade(GatewaySnapshot snapshot, HttpRequest request)
    {
        if (_byStage.Count == 0)
        {
            return null;
        }
        var path = request.Path.Value ?? "/";
        if (!DomainRouting.TryRewrite(snapshot.Config, request, ref path, out _))
        {
            return null;
        }
        if (_byHost.Count > 0 && path == _path && _byHost.TryGetValue(request.Host.Host, out var hosted))
        {
            return hosted;
        }
        return _byPath.GetValueOrDefault(path);
    }

    /// <summary>The routes of a connection's stage in this deployment; null when it has none any more.</summary>
    public StageRoutes? ForStage(string? stage) => _byStage.GetValueOrDefault(stage ?? "");

    /// <summary>The WebSocket routes of one stage.</summary>
    internal sealed class StageRoutes
    {
        private readonly KeyValuePair<byte[], CompiledRoute>[] _selectable;

        public StageRoutes(string? name, IEnumerable<CompiledRoute> routes)
        {
            Name = name;
            var selectable = new List<KeyValuePair<byte[], CompiledRoute>>();
            foreach (var route in routes)
            {
                switch (WebSocketRouteKey.Key(route.RouteKey))
                {
                    case WebSocketRouteKey.Connect:
                        Connect = route;
                        break;
                    case WebSocketRouteKey.Disconnect:
                        Disconnect = route;
                        break;
                    case WebSocketRouteKey.Default:
                        Default = route;
                        break;
                    case var key:
                        selectable.Add(new(Encoding.UTF8.GetBytes(key), route));
                        break;
                }
            }
            _selectable = [.. selectable];
        }

        public string? Name { get; }

        public CompiledRoute? Connect { get; }

        public CompiledRoute? Disconnect { get; }

        public CompiledRoute? Default { get; }

        /// <summary>The route of a message: the one its selected key names, else <c>$default</c> (null when there is none).</summary>
        public CompiledRoute? Select(RouteSelection? selection, ReadOnlySpan<byte> message) =>
            selection is not null && selection.TrySelect(message, _selectable, out var route) ? route : Default;
    }
}
