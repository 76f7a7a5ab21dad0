using Ingest.Core.Configuration;
using Ingest.Core.Tls;

namespace Ingest.Core.Domains;

/// <summary>Validation of <c>domains:</c>: host names, base paths, stages, duplicates.</summary>
public static class DomainValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        var seen = new HashSet<(string Host, string BasePath)>();
        for (var i = 0; i < config.Domains.Count; i++)
        {
            var domain = config.Domains[i];
            var where = $"domains[{i}]" + (domain.Host.Length > 0 ? $" ({domain.Host})" : "");
            if (!CertificateFiles.IsHostPattern(domain.Host))
            {
                errors.Add(domain.Host.Length == 0
                    ? $"{where}.host: missing. Write the host name clients use, e.g. api.example.com."
                    : $"{where}.host: '{domain.Host}' is not a host name. Write e.g. api.example.com or *.example.com (no scheme, port or path).");
            }
            var basePath = DomainMap.NormalizeBasePath(domain.BasePath);
            if (basePath.Split('/', StringSplitOptions.None).Skip(1).Any(segment => segment.Length == 0 || segment.Any(c => c is '{' or '}' or '?' or '#' or '%' || char.IsWhiteSpace(c) || char.IsControl(c))))
            {
                errors.Add($"{where}.basePath: '{domain.BasePath}' must be plain path segments, e.g. v2 or v2/beta (no empty segments, braces, ?, # or %).");
            }
            else if (!seen.Add((domain.Host.ToLowerInvariant(), basePath)))
            {
                errors.Add($"{where}.basePath: '{basePath}' is mapped twice on {domain.Host}. Remove one of the mappings.");
            }
            if (domain.Stage is { } stage && !config.Stages.Exists(s => s.Name == stage))
            {
                var known = config.Stages.Count == 0 ? "no stages are defined" : "stages are " + string.Join(", ", config.Stages.Select(s => s.Name));
                errors.Add($"{where}.stage: '{stage}' is not a stage ({known}). Name one of the stages, or remove stage to serve paths without prefix.");
            }
        }
    }
}
