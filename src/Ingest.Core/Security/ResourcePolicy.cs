using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;

namespace Ingest.Core.Security;

/// <summary>
/// CIDR allow and deny lists of the gateway and a route, compiled once per deployment.
/// A deny at either level wins; then the client must be in the gateway's allow list and in the
/// route's allow list (an empty allow list allows everyone). Refusals answer the explicit-deny
/// 403 of DESIGN.md; which rule decided is kept for the access log's <c>firewallRule</c>.
/// </summary>
public sealed class ResourcePolicy
{
    private readonly CidrList _gatewayDeny;
    private readonly CidrList _routeDeny;
    private readonly CidrList _gatewayAllow;
    private readonly CidrList _routeAllow;
    private readonly string _routeKey;
    private readonly Rejection _deny;

    // Rule descriptions for the access log, built once: "resourcePolicy.deny[0] 10.0.0.0/8".
    private readonly string[] _gatewayDenyRules;
    private readonly string[] _routeDenyRules;
    private readonly string _gatewayAllowMiss;
    private readonly string _routeAllowMiss;
    private readonly string _unknownClient;

    private ResourcePolicy(ResourcePolicyOptions gateway, ResourcePolicyOptions? route, string routeKey, string routeName)
    {
        _gatewayDeny = CidrList.Compile(gateway.Deny);
        _gatewayAllow = CidrList.Compile(gateway.Allow);
        _routeDeny = CidrList.Compile(route?.Deny ?? []);
        _routeAllow = CidrList.Compile(route?.Allow ?? []);
        _routeKey = routeKey;
        _deny = Rejection.PolicyDeny(routeKey);
        _gatewayDenyRules = gateway.Deny.Select((r, i) => $"resourcePolicy.deny[{i}] {r}").ToArray();
        _routeDenyRules = (route?.Deny ?? []).Select((r, i) => $"{routeName}.resourcePolicy.deny[{i}] {r}").ToArray();
        _gatewayAllowMiss = "resourcePolicy.allow (no range matched)";
        _routeAllowMiss = $"{routeName}.resourcePolicy.allow (no range matched)";
        _unknownClient = "resourcePolicy (client address unknown)";
        IsAllowAll = _gatewayDeny.IsEmpty && _gatewayAllow.IsEmpty && _routeDeny.IsEmpty && _routeAllow.IsEmpty;
    }

    /// <summary>Allows everything: the policy of a configuration without resourcePolicy.</summary>
    public static ResourcePolicy AllowAll { get; } = new(new ResourcePolicyOptions(), null, "", "");

    /// <summary>True when no list is set: every client passes.</summary>
    public bool IsAllowAll { get; }

    /// <summary>Compiles the gateway's lists together with the route's own.</summary>
    public static ResourcePolicy Compile(IngestConfig config, RouteOptions route)
    {
        var routeName = $"routes[{config.Routes.IndexOf(route)}]";
        var policy = new ResourcePolicy(config.ResourcePolicy, route.ResourcePolicy, route.Route, routeName);
        return policy.IsAllowAll ? AllowAll : policy;
    }

    /// <summary>Null when <paramref name="client"/> may call <paramref name="routeKey"/>; else the 403 to answer.</summary>
    public Rejection? Check(IPAddress? client, string routeKey) => Check(client, routeKey, out _);

    /// <summary>Checks the request's client and records the deciding rule on <paramref name="context"/>.</summary>
    public Rejection? Check(RequestContext context)
    {
        var rejection = Check(context.ClientIp, context.Route.RouteKey, out var rule);
        if (rejection is not null)
        {
            context.FirewallRule = rule;
        }
        return rejection;
    }

    /// <summary>As <see cref="Check(IPAddress?, string)"/>, also naming the rule that refused.</summary>
    public Rejection? Check(IPAddress? client, string routeKey, out string? rule)
    {
        rule = null;
        if (IsAllowAll)
        {
            return null;
        }
        if (client is null)
        {
            // No address to judge (not a TCP connection): only a policy without allow lists lets it in.
            if (_gatewayAllow.IsEmpty && _routeAllow.IsEmpty)
            {
                return null;
            }
            rule = _unknownClient;
            return Deny(routeKey);
        }
        var index = _gatewayDeny.IndexOf(client);
        if (index >= 0)
        {
            rule = _gatewayDenyRules[index];
            return Deny(routeKey);
        }
        index = _routeDeny.IndexOf(client);
        if (index >= 0)
        {
            rule = _routeDenyRules[index];
            return Deny(routeKey);
        }
        if (!_gatewayAllow.IsEmpty && !_gatewayAllow.Contains(client))
        {
            rule = _gatewayAllowMiss;
            return Deny(routeKey);
        }
        if (!_routeAllow.IsEmpty && !_routeAllow.Contains(client))
        {
            rule = _routeAllowMiss;
            return Deny(routeKey);
        }
        return null;
    }

    private Rejection Deny(string routeKey) =>
        string.Equals(routeKey, _routeKey, StringComparison.Ordinal) ? _deny : Rejection.PolicyDeny(routeKey);
}
