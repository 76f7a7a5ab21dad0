using Ingest.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Http.Destinations;

/// <summary>
/// Active health checks (<c>healthCheck:</c>): every interval, <c>GET path</c> on each destination's
/// origin; 2xx within the timeout is healthy, anything else unhealthy. One probe per destination
/// at a time; the first round runs at once.
/// </summary>
internal sealed partial class HealthProber : IAsyncDisposable
{
    private readonly string _target;
    private readonly DestinationSet _destinations;
    private readonly HttpMessageInvoker _invoker;
    private readonly HealthCheckOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly int[] _running;
    private readonly ITimer _timer;

    public HealthProber(string target, DestinationSet destinations, HttpMessageInvoker invoker, HealthCheckOptions options, TimeProvider time, ILogger logger)
    {
        _target = target;
        _destinations = destinations;
        _invoker = invoker;
        _options = options;
        _time = time;
        _logger = logger;
        _running = new int[destinations.All.Count];
        _timer = time.CreateTimer(static s => ((HealthProber)s!).ProbeAll(), this, TimeSpan.Zero, options.Interval);
    }

    private void ProbeAll()
    {
        for (var i = 0; i < _destinations.All.Count; i++)
        {
            if (Interlocked.Exchange(ref _running[i], 1) == 0)
            {
                _ = ProbeAsync(i);
            }
        }
    }

    private async Task ProbeAsync(int index)
    {
        var destination = _destinations.All[index];
        try
        {
            var healthy = false;
            string? reason = null;
            using var timeout = new CancellationTokenSource(_options.Timeout, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
            try
            {
                using var probe = new HttpRequestMessage(HttpMethod.Get, destination.Url.Origin + _options.Path);
                using var response = await _invoker.SendAsync(probe, linked.Token);
                healthy = response.IsSuccessStatusCode;
                reason = $"status {(int)response.StatusCode}";
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                reason = $"no answer within {_options.Timeout.TotalMilliseconds:0} ms";
            }
            catch (HttpRequestException e)
            {
                reason = e.HttpRequestError.ToString();
            }
            if (_stopping.IsCancellationRequested)
            {
                return;
            }
            if (destination.Probed(healthy))
            {
                if (healthy)
                {
                    LogHealthy(_logger, _target, destination.Url.Origin);
                }
                else
                {
                    LogUnhealthy(_logger, _target, destination.Url.Origin, _options.Path, reason);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposed while probing.
        }
        finally
        {
            Volatile.Write(ref _running[index], 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _timer.DisposeAsync();
        await _stopping.CancelAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Target {Target}: destination {Destination} is unhealthy (GET {Path}: {Reason}); calls go to the others")]
    private static partial void LogUnhealthy(ILogger logger, string target, string destination, string path, string? reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: destination {Destination} is healthy again")]
    private static partial void LogHealthy(ILogger logger, string target, string destination);
}
