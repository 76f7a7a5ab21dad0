using Ingest.Core.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Ingest.Core.Security;

/// <summary>
/// The <c>limits:</c> section applied to Kestrel: header count and size (431), request line (414),
/// header timeout (slowloris), keep-alive, body and response data rates, connection cap. Kestrel
/// answers these itself, before the gateway sees the request.
/// </summary>
public static class ConnectionLimits
{
    private static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(1);

    public static void Apply(KestrelServerLimits kestrel, LimitsOptions limits)
    {
        kestrel.MaxRequestHeaderCount = limits.MaxRequestHeaderCount;
        kestrel.MaxRequestHeadersTotalSize = limits.MaxRequestHeadersTotalSize;
        kestrel.MaxRequestLineSize = limits.MaxRequestLineSize;
        // Kestrel checks on a 1 s heartbeat and pads every timeout by one heartbeat; taking that
        // second off makes a slow client close between the configured timeout and one second later.
        kestrel.RequestHeadersTimeout = limits.RequestHeadersTimeout >= HeartbeatInterval * 2
            ? limits.RequestHeadersTimeout - HeartbeatInterval
            : limits.RequestHeadersTimeout;
        kestrel.KeepAliveTimeout = limits.KeepAliveTimeout;
        kestrel.MinRequestBodyDataRate = limits.MinRequestBodyDataRate > 0
            ? new MinDataRate(limits.MinRequestBodyDataRate, limits.MinRequestBodyDataRateGracePeriod)
            : null;
        kestrel.MinResponseDataRate = limits.MinResponseDataRate > 0
            ? new MinDataRate(limits.MinResponseDataRate, TimeSpan.FromSeconds(5))
            : null;
        kestrel.MaxConcurrentConnections = limits.MaxConcurrentConnections;
        kestrel.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
        // HTTP/2 carries headers in HPACK frames; keep one field within the total.
        kestrel.Http2.MaxRequestHeaderFieldSize = Math.Min(kestrel.Http2.MaxRequestHeaderFieldSize, limits.MaxRequestHeadersTotalSize);
    }

    public static void Validate(LimitsOptions limits, ICollection<string> errors)
    {
        Between("limits.maxRequestHeaderCount", limits.MaxRequestHeaderCount, 1, 10_000, "100", errors);
        Between("limits.maxRequestHeadersTotalSize", limits.MaxRequestHeadersTotalSize, 1024, 1024 * 1024, "32768", errors);
        Between("limits.maxRequestLineSize", limits.MaxRequestLineSize, 256, 1024 * 1024, "8192", errors);
        if (limits.RequestHeadersTimeout <= TimeSpan.Zero)
        {
            errors.Add("limits.requestHeadersTimeout: must be above zero, e.g. 10s.");
        }
        if (limits.KeepAliveTimeout <= TimeSpan.Zero)
        {
            errors.Add("limits.keepAliveTimeout: must be above zero, e.g. 130s.");
        }
        if (limits.MinRequestBodyDataRate < 0 || double.IsNaN(limits.MinRequestBodyDataRate))
        {
            errors.Add("limits.minRequestBodyDataRate: bytes per second, 0 (off) or more, e.g. 240.");
        }
        if (limits.MinRequestBodyDataRate > 0 && limits.MinRequestBodyDataRateGracePeriod <= TimeSpan.FromSeconds(1))
        {
            errors.Add("limits.minRequestBodyDataRateGracePeriod: must be above 1s (Kestrel checks once a second), e.g. 5s.");
        }
        if (limits.MinResponseDataRate < 0 || double.IsNaN(limits.MinResponseDataRate))
        {
            errors.Add("limits.minResponseDataRate: bytes per second, 0 (off) or more, e.g. 240.");
        }
        if (limits.MaxConcurrentConnections is < 1)
        {
            errors.Add("limits.maxConcurrentConnections: must be at least 1; remove the key for no limit.");
        }
    }

    private static void Between(string where, int value, int min, int max, string example, ICollection<string> errors)
    {
        if (value < min || value > max)
        {
            errors.Add($"{where}: {value} is outside {min}..{max}, e.g. {example}.");
        }
    }
}
