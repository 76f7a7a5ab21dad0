using System.Buffers;
using System.Net;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Throttling;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Firewall;

/// <summary>The firewall's answer for one request: the rule that matched (blocking or counting), and whether to refuse.</summary>
public readonly record struct FirewallVerdict(string? Rule, bool Blocked);

/// <summary>
/// The rules that apply to one route (the gateway's list, then the route's, then its managed
/// sets), or to requests that match no route (the gateway's list). Lifecycle step 2: checked
/// before route-specific work, authentication included. A block (or a rateBlock client over its
/// limit) ends the check with 403; count matches are recorded and the request goes on.
/// </summary>
/// <remarks>
/// Without rules the check is one branch. Rules that read the body look at its first
/// <c>firewall.bodyPrefixBytes</c> without consuming them (the pipeline reads the same body
/// afterwards), waiting for at most that many bytes; gzip and deflate bodies are inflated for the
/// inspection up to the same number of bytes, so compression neither hides a payload nor costs
/// more than the prefix.
/// </remarks>
public sealed class RequestFirewall
{
    private readonly FirewallRule[] _rules;
    private readonly FirewallStore? _store;
    private readonly int _bodyPrefixBytes;
    private readonly bool _needsBody;

    private RequestFirewall(FirewallRule[] rules, FirewallStore? store, int bodyPrefixBytes)
    {
        _rules = rules;
        _store = store;
        _bodyPrefixBytes = bodyPrefixBytes;
        _needsBody = rules.Any(r => r.NeedsBody);
    }

    /// <summary>No rules: every request passes.</summary>
    public static RequestFirewall None { get; } = new([], null, 0);

    public bool IsEmpty => _rules.Length == 0;

    /// <summary>Rule ids in the order they are checked.</summary>
    public IEnumerable<string> RuleIds => _rules.Select(r => r.Id);

    /// <summary>
    /// The rules for <paramref name="route"/> (null: requests that match no route) of a validated
    /// <paramref name="config"/>. State comes from the <see cref="FirewallStore"/> registered by
    /// <see cref="FirewallServiceCollectionExtensions.AddIngestFirewall"/>.
    /// </summary>
    public static RequestFirewall Compile(IngestConfig config, RouteOptions? route, IServiceProvider services)
    {
        var options = config.Firewall;
        var routeRules = route?.Firewall ?? [];
        var managed = route?.ManagedRules ?? [];
        if (options.Gateway.Count == 0 && routeRules.Count == 0 && managed.Count == 0)
        {
            return None;
        }
        var store = services.GetService<FirewallStore>()
            ?? throw new InvalidOperationException("Firewall rules are configured but the firewall store is not registered: call services.AddIngestFirewall().");
        var compiled = store.Rules(config);
        var rules = compiled.Custom
            .Where(r => options.Gateway.Contains(r.Id, StringComparer.Ordinal) || routeRules.Contains(r.Id, StringComparer.Ordinal))
            .Concat(ManagedRuleSets.Names.Where(n => managed.Contains(n, StringComparer.Ordinal)).Select(n => compiled.Managed[n]))
            .ToArray();
        return new RequestFirewall(rules, store, compiled.BodyPrefixBytes);
    }

    /// <summary>Checks the request; completes synchronously unless a rule needs the body and it has one still to arrive.</summary>
    public ValueTask<FirewallVerdict> InspectAsync(HttpContext http, IPAddress? client)
    {
        if (_rules.Length == 0)
        {
            return default;
        }
        if (_needsBody && MayHaveBody(http))
        {
            return InspectWithBodyAsync(http, client);
        }
        var request = new FirewallRequest(http.Request, client, default);
        return new ValueTask<FirewallVerdict>(Evaluate(ref request));
    }

    private async ValueTask<FirewallVerdict> InspectWithBodyAsync(HttpContext http, IPAddress? client)
    {
        var (bytes, length) = await BodyPrefix.PeekAsync(http.Request, _bodyPrefixBytes, http.RequestAborted);
        char[]? chars = null;
        try
        {
            chars = ArrayPool<char>.Shared.Rent(Math.Max(1, Encoding.UTF8.GetMaxCharCount(length)));
            var count = Encoding.UTF8.GetChars(bytes.AsSpan(0, length), chars);
            var request = new FirewallRequest(http.Request, client, chars.AsSpan(0, count));
            return Evaluate(ref request);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
            if (chars is not null)
            {
                ArrayPool<char>.Shared.Return(chars);
            }
        }
    }

    /// <summary>Runs the rules over what <paramref name="request"/> carries (the body prefix already read).</summary>
    internal FirewallVerdict Evaluate(ref FirewallRequest request)
    {
        string? counted = null;
        foreach (var rule in _rules)
        {
            if (!rule.Matches(ref request))
            {
                continue;
            }
            if (rule.Rate is { } rate)
            {
                var over = request.Client is not null && rate.Hit(ClientAddressKey.From(request.Client));
                _store?.WarnIfFull(rule);
                if (!over)
                {
                    continue;
                }
            }
            Record(rule, ref request);
            if (rule.Action == FirewallAction.Count)
            {
                counted ??= rule.Id;
                continue;
            }
            return new FirewallVerdict(rule.Id, Blocked: true);
        }
        return new FirewallVerdict(counted, Blocked: false);
    }

    private void Record(FirewallRule rule, ref FirewallRequest request)
    {
        if (_store is null)
        {
            return;
        }
        if (_store.Metrics?.FirewallMatches is { Enabled: true } matches)
        {
            matches.Add(1, rule.Tags);
        }
        FirewallLog.Matched(_store.Logger, rule.Id, rule.ActionName, request.Request.Method, request.Request.Path, request.Client);
    }

    private static bool MayHaveBody(HttpContext http)
    {
        var request = http.Request;
        if (request.ContentLength is { } length)
        {
            return length > 0;
        }
        return http.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? true;
    }
}
