namespace Ingest.Targets.Http.Destinations;

/// <summary>
/// The destinations of an http target and the load-balancing policy that picks one per call.
/// Unhealthy destinations (failed probe, or a refused connection) are skipped; when none is
/// healthy every destination is tried anyway, so a wrong verdict never takes the target down.
/// </summary>
internal sealed class DestinationSet
{
    /// <summary>Load-balancing policies (<c>loadBalancing:</c>).</summary>
    public static readonly string[] Policies = ["powerOfTwoChoices", "roundRobin", "leastRequests", "random"];

    private readonly Destination[] _all;
    private readonly Policy _policy;
    private readonly TimeProvider _time;
    private int _next = -1;

    public DestinationSet(IReadOnlyList<UrlTemplate> urls, string? policy, TimeProvider time)
    {
        _all = [.. urls.Select(u => new Destination(u))];
        _policy = policy switch
        {
            "roundRobin" => Policy.RoundRobin,
            "leastRequests" => Policy.LeastRequests,
            "random" => Policy.Random,
            _ => Policy.PowerOfTwoChoices,
        };
        _time = time;
    }

    public IReadOnlyList<Destination> All => _all;

    /// <summary>A destination for the next call, other than <paramref name="exclude"/>; null when there is no other.</summary>
    public Destination? Pick(Destination? exclude = null)
    {
        if (_all.Length == 1)
        {
            return exclude is null ? _all[0] : null;
        }
        var now = _time.GetTimestamp();
        return Pick(now, exclude, healthyOnly: true) ?? Pick(now, exclude, healthyOnly: false);
    }

    private Destination? Pick(long now, Destination? exclude, bool healthyOnly)
    {
        switch (_policy)
        {
            case Policy.LeastRequests:
                Destination? least = null;
                foreach (var d in _all)
                {
                    if (Eligible(d, now, exclude, healthyOnly) && (least is null || d.InFlight < least.InFlight))
                    {
                        least = d;
                    }
                }
                return least;
            case Policy.PowerOfTwoChoices:
                var first = FromRandomStart(now, exclude, healthyOnly);
                var second = FromRandomStart(now, exclude, healthyOnly);
                return first is null || second is null ? first ?? second : second.InFlight < first.InFlight ? second : first;
            case Policy.Random:
                return FromRandomStart(now, exclude, healthyOnly);
            default:
                return FromStart((int)((uint)Interlocked.Increment(ref _next) % (uint)_all.Length), now, exclude, healthyOnly);
        }
    }

    private Destination? FromRandomStart(long now, Destination? exclude, bool healthyOnly) =>
        FromStart(Random.Shared.Next(_all.Length), now, exclude, healthyOnly);

    /// <summary>The first eligible destination from <paramref name="start"/> on, wrapping around.</summary>
    private Destination? FromStart(int start, long now, Destination? exclude, bool healthyOnly)
    {
        for (var i = 0; i < _all.Length; i++)
        {
            var d = _all[(start + i) % _all.Length];
            if (Eligible(d, now, exclude, healthyOnly))
            {
                return d;
            }
        }
        return null;
    }

    private static bool Eligible(Destination d, long now, Destination? exclude, bool healthyOnly) =>
        !ReferenceEquals(d, exclude) && (!healthyOnly || d.IsHealthy(now));

    private enum Policy : byte
    {
        PowerOfTwoChoices,
        RoundRobin,
        LeastRequests,
        Random,
    }
}
