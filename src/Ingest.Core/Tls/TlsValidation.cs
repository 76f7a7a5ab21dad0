using System.Net;
using Ingest.Core.Configuration;

namespace Ingest.Core.Tls;

/// <summary>
/// Validation of the listeners' <c>tls:</c> settings. Certificate files are read, so a missing file,
/// a wrong password or a key that does not belong to the certificate is reported before start.
/// </summary>
public static class TlsValidation
{
    public static readonly string[] MinVersions = ["tls12", "tls13"];

    /// <summary>Shortest accepted reload interval.</summary>
    public static readonly TimeSpan MinReloadInterval = TimeSpan.FromMilliseconds(100);

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        var addresses = new HashSet<string>(config.Listen.Select(l => l.Address), StringComparer.Ordinal) { config.Admin.Listen };
        for (var i = 0; i < config.Listen.Count; i++)
        {
            if (config.Listen[i].Tls is { } tls)
            {
                ValidateListener($"listen[{i}].tls", tls, config, addresses, errors);
            }
        }
    }

    private static void ValidateListener(string where, TlsOptions tls, IngestConfig config, HashSet<string> addresses, ICollection<string> errors)
    {
        if (!MinVersions.Contains(tls.MinVersion, StringComparer.Ordinal))
        {
            errors.Add($"{where}.minVersion: '{tls.MinVersion}' must be tls12 or tls13 (older versions are not offered).");
        }
        if (tls.ReloadInterval < MinReloadInterval)
        {
            errors.Add($"{where}.reloadInterval: must be at least 100ms, e.g. 10s.");
        }
        if (tls.RedirectHttp is { } redirect)
        {
            if (!IPEndPoint.TryParse(redirect, out var endPoint))
            {
                errors.Add($"{where}.redirectHttp: '{redirect}' is not host:port. Write e.g. 0.0.0.0:80.");
            }
            else if (endPoint.Port != 0 && !addresses.Add(redirect))
            {
                errors.Add($"{where}.redirectHttp: {redirect} is already used by another listener. Pick a free port.");
            }
        }
        if (tls.Hsts is { } hsts && hsts.MaxAge < TimeSpan.Zero)
        {
            errors.Add($"{where}.hsts.maxAge: must be zero or more, e.g. 365d.");
        }
        if (tls.Hsts is { Preload: true } preload && (!preload.IncludeSubDomains || preload.MaxAge < TimeSpan.FromDays(365)))
        {
            errors.Add($"{where}.hsts.preload: browsers accept preload only with includeSubDomains: true and maxAge of 365d or more.");
        }
        if (tls.Certificates.Count == 0)
        {
            errors.Add($"{where}.certificates: list at least one, e.g. [{{ host: api.example.com, pem: cert.pem, key: key.pem }}].");
        }
        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var c = 0; c < tls.Certificates.Count; c++)
        {
            var certificate = tls.Certificates[c];
            var at = $"{where}.certificates[{c}]" + (certificate.Host.Length > 0 ? $" ({certificate.Host})" : "");
            ValidateCertificate(at, $"{where}.certificates[{c}]", certificate, config, hosts, errors);
        }
    }

    private static void ValidateCertificate(string at, string key, CertificateOptions certificate, IngestConfig config, HashSet<string> hosts, ICollection<string> errors)
    {
        if (certificate.Host.Length > 0 && !CertificateFiles.IsHostPattern(certificate.Host))
        {
            errors.Add($"{at}.host: '{certificate.Host}' is not a host name. Write e.g. api.example.com or *.example.com.");
            return;
        }
        var hasPfx = certificate.Pfx is { Length: > 0 };
        var hasPem = certificate.Pem is { Length: > 0 };
        if (hasPfx == hasPem)
        {
            errors.Add($"{at}: set either pem (with key) or pfx, not {(hasPfx ? "both" : "neither")}.");
            return;
        }
        if (hasPfx && certificate.Key is { Length: > 0 })
        {
            errors.Add($"{at}.key: a pfx file carries its own key. Remove key, or use pem instead of pfx.");
            return;
        }
        if (certificate.Password is { Length: > 0 } && !config.IsReference($"{key}.password"))
        {
            // The value itself is never printed.
            errors.Add($"{at}.password: write it as \"${{VAR}}\" or \"${{file:PATH}}\", never the password itself in the file.");
            return;
        }
        try
        {
            using var loaded = CertificateFiles.Load(certificate);
            foreach (var host in loaded.Hosts)
            {
                if (!hosts.Add(host))
                {
                    errors.Add($"{at}.host: {host} is served by an earlier certificate of this listener already. Remove one of them.");
                }
            }
        }
        catch (CertificateLoadException e)
        {
            errors.Add($"{at}: {e.Message}.");
        }
    }
}
