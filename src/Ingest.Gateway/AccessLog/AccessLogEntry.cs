using System.Net;

namespace Ingest.Gateway.AccessLog;

/// <summary>
/// One request as the access log records it. A struct of references the request already has,
/// so recording costs no allocation; formatting happens on the log writer's thread.
/// </summary>
internal struct AccessLogEntry
{
    public Guid RequestId;
    public string? ClientRequestId;
    public long RequestTimeMs;
    public string HttpMethod;
    public string Path;
    public string? RouteKey;
    public string? Stage;
    public int Status;
    public long ResponseLength;
    public double LatencyMs;
    public double? IntegrationLatencyMs;
    public int? IntegrationStatus;
    public string? IntegrationError;
    public IPAddress? SourceIp;
    public string? UserAgent;
    public string? ApiKeyId;
    public string? Principal;
    public int Events;
    public string? FirewallRule;

    // WebSocket lines: the connection, CONNECT / MESSAGE / DISCONNECT, and the close code of a DISCONNECT.
    public string? ConnectionId;
    public string? EventType;
    public int? DisconnectStatusCode;
}
