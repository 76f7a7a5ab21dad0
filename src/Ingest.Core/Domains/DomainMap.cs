using System.Collections.Frozen;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Ingest.Core.Tls;

namespace Ingest.Core.Domains;

/// <summary>
/// Custom domains (<c>domains:</c>): on a mapped host, the first path segments name a base path,
/// and the request is routed as <c>/{stage}/rest</c> (or <c>/rest</c> when the mapping has no
/// stage). Requests for hosts that are not mapped keep their path. Immutable; part of a deployment.
/// </summary>
public sealed class DomainMap
{
    private readonly FrozenDictionary<string, Mapping[]> _exact;
    private readonly FrozenDictionary<string, Mapping[]>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly (string Pattern, Mapping[] Mappings)[] _wildcards;

    private DomainMap(Dictionary<string, Mapping[]> exact, (string, Mapping[])[] wildcards, bool restV1)
    {
        _exact = exact.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcards = wildcards;
        UnknownBasePath = restV1 ? Rejection.Forbidden : Rejection.NotFound;
    }

    /// <summary>The answer to a mapped host with a path under no base path: 403 (rest-v1) or 404 (http-v2), as API Gateway.</summary>
    public Rejection UnknownBasePath { get; }

    /// <summary>The map of a validated configuration, or null when it has no <c>domains</c> (nothing to do per request).</summary>
    public static DomainMap? Compile(IngestConfig config)
    {
        if (config.Domains.Count == 0)
        {
            return null;
        }
        var byHost = config.Domains
            .GroupBy(d => d.Host, StringComparer.OrdinalIgnoreCase)
            .Select(g => (Host: g.Key, Mappings: g
                .Select(d => new Mapping(NormalizeBasePath(d.BasePath), d.Stage))
                // Longest base path first, so v2/beta wins over v2; the empty base path last.
                .OrderByDescending(m => m.BasePath.Length)
                .ToArray()))
            .ToList();
        var exact = byHost.Where(h => !h.Host.StartsWith("*.", StringComparison.Ordinal)).ToDictionary(h => h.Host, h => h.Mappings, StringComparer.OrdinalIgnoreCase);
        var wildcards = byHost.Where(h => h.Host.StartsWith("*.", StringComparison.Ordinal)).Select(h => (h.Host, h.Mappings)).ToArray();
        return new DomainMap(exact, wildcards, config.Compat == "rest-v1");
    }

    /// <summary>
    /// Rewrites <paramref name="path"/> for <paramref name="host"/> (the Host header without port).
    /// Returns false when the host is mapped but the path is under none of its base paths; the
    /// path is unchanged for hosts that are not mapped.
    /// </summary>
    public bool TryRewrite(ReadOnlySpan<char> host, ref string path)
    {
        if (!_exactLookup.TryGetValue(host, out var mappings) && !TryWildcard(host, out mappings))
        {
            return true;
        }
        foreach (var mapping in mappings)
        {
            if (mapping.TryRewrite(path, out var rewritten))
            {
                path = rewritten;
                return true;
            }
        }
        return false;
    }

    private bool TryWildcard(ReadOnlySpan<char> host, out Mapping[] mappings)
    {
        foreach (var (pattern, candidates) in _wildcards)
        {
            if (CertificateFiles.Matches(pattern, host))
            {
                mappings = candidates;
                return true;
            }
        }
        mappings = [];
        return false;
    }

    /// <summary><c>/v2/</c>, <c>v2</c> and <c>v2/</c> are the same base path <c>/v2</c>; empty stays empty.</summary>
    public static string NormalizeBasePath(string basePath)
    {
        var trimmed = basePath.Trim().Trim('/');
        return trimmed.Length == 0 || trimmed == "(none)" ? "" : "/" + trimmed;
    }

    private sealed class Mapping(string basePath, string? stage)
    {
        private readonly string _prefix = stage is null ? "" : "/" + stage;

        public string BasePath { get; } = basePath;

        public bool TryRewrite(string path, out string rewritten)
        {
            if (BasePath.Length == 0)
            {
                rewritten = _prefix.Length == 0 ? path : _prefix + path;
                return true;
            }
            if (!path.StartsWith(BasePath, StringComparison.Ordinal))
            {
                rewritten = path;
                return false;
            }
            if (path.Length == BasePath.Length)
            {
                rewritten = _prefix + "/";
                return true;
            }
            if (path[BasePath.Length] != '/')
            {
                // /v20 is not under /v2.
                rewritten = path;
                return false;
            }
            rewritten = string.Concat(_prefix, path.AsSpan(BasePath.Length));
            return true;
        }
    }
}
