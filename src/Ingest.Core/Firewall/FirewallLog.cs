using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Firewall;

/// <summary>Log lines of the firewall. Per-request lines are Debug: the access log's firewallRule is the record of every match.</summary>
internal static partial class FirewallLog
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Firewall rule {Rule} ({Action}) matched {Method} {Path} from {Client}")]
    public static partial void Matched(ILogger logger, string rule, string action, string method, PathString path, IPAddress? client);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Firewall rule {Rule}: {Count} client addresses tracked, the table is full; new clients are not rate-limited by this rule until idle ones expire. Raise firewall.maxTrackedClients")]
    public static partial void RateTableFull(ILogger logger, string rule, int count);
}
