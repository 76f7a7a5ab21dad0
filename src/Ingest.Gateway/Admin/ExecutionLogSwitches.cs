using System.Collections.Concurrent;
using Ingest.Core.Diagnostics;
using Ingest.Gateway.Hosting;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Admin;

/// <summary>
/// Which routes have execution logging on (<c>PUT /admin/routes/{routeKey}/execution-log</c>).
/// Off by default. The request path asks <see cref="Begin"/>, which costs one volatile read
/// while no route has logging on.
/// </summary>
internal sealed class ExecutionLogSwitches(ILoggerFactory loggerFactory, GatewayOptions options)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger(ExecutionTrace.Category);
    private readonly ConcurrentDictionary<string, bool> _routes = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private volatile bool _any;

    /// <summary>Route keys with execution logging on.</summary>
    public IReadOnlyList<string> EnabledRoutes => _routes.Keys.Order(StringComparer.Ordinal).ToList();

    public bool IsEnabled(string routeKey) => _any && _routes.ContainsKey(routeKey);

    public void Set(string routeKey, bool enabled)
    {
        lock (_gate)
        {
            if (enabled)
            {
                _routes[routeKey] = true;
            }
            else
            {
                _routes.TryRemove(routeKey, out _);
            }
            _any = !_routes.IsEmpty;
        }
    }

    /// <summary>A trace for a request of <paramref name="routeKey"/>, or null when its logging is off.</summary>
    public ExecutionTrace? Begin(string routeKey, Guid requestId) =>
        _any && _routes.ContainsKey(routeKey) ? new ExecutionTrace(requestId, _logger, options.TimeProvider, keepLines: false) : null;
}
