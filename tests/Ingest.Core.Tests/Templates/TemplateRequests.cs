using System.Net;
using System.Text;
using Ingest.Core.Integration;
using Ingest.TestSupport.Integration;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Tests.Templates;

/// <summary>Integration requests as the gateway hands them to sync targets, built without a server.</summary>
internal static class TemplateRequests
{
    public static readonly DateTimeOffset Time = new(2026, 11, 25, 21, 14, 44, 123, TimeSpan.Zero);

    public static readonly Guid RequestId = Guid.Parse("0195f1a2-0000-7000-8000-000000000001");

    public static IntegrationRequest Create(
        string body = "",
        string routeKey = "POST /v1/devices/{id}/events",
        IReadOnlyDictionary<string, string>? pathParameters = null,
        string? query = null,
        IReadOnlyDictionary<string, string>? headers = null,
        IReadOnlyDictionary<string, string>? stageVariables = null,
        string? stage = null,
        bool isBinary = false,
        byte[]? bodyBytes = null)
    {
        var route = IntegrationRequests.Route(routeKey, stage, stageVariables);
        var http = IntegrationRequests.Http(route.Method, "/v1/devices/d-1/events", query, headers);
        http.Request.Host = new HostString("api.example", 443);
        return IntegrationRequests.For(
            route,
            http,
            pathParameters ?? new Dictionary<string, string> { ["id"] = "d-1" },
            Time,
            bodyBytes ?? Encoding.UTF8.GetBytes(body),
            isBinary,
            requestId: RequestId,
            clientIp: IPAddress.Parse("203.0.113.7"),
            apiKeyId: "key-1",
            principal: "device-42",
            authorizerContext: new Dictionary<string, string> { ["tenant"] = "acme" });
    }
}
