namespace Ingest.Targets.Http.Destinations;

/// <summary>One backend of an http target, with its health as the prober and failed calls saw it.</summary>
internal sealed class Destination(UrlTemplate url)
{
    private int _inFlight;
    private long _downUntil;
    private volatile bool _probedHealthy = true;

    public UrlTemplate Url { get; } = url;

    /// <summary>Calls in progress (least-requests and power-of-two-choices balancing).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Healthy at <paramref name="now"/> (a timestamp of the target's TimeProvider).</summary>
    public bool IsHealthy(long now) => _probedHealthy && now >= Volatile.Read(ref _downUntil);

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Exit() => Interlocked.Decrement(ref _inFlight);

    /// <summary>An active probe's verdict; a healthy probe also ends a passive mark.</summary>
    /// <returns>True when the health changed.</returns>
    public bool Probed(bool healthy)
    {
        var changed = _probedHealthy != healthy || (healthy && Volatile.Read(ref _downUntil) != 0);
        _probedHealthy = healthy;
        if (healthy)
        {
            Volatile.Write(ref _downUntil, 0);
        }
        return changed;
    }

    /// <summary>A call could not connect: skip this destination until <paramref name="until"/> or a healthy probe.</summary>
    public void MarkDown(long until) => Volatile.Write(ref _downUntil, until);
}
