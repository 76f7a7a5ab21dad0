using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Authentication;
using Ingest.Core.Tls;

namespace Ingest.Gateway.Hosting.Tls;

/// <summary>
/// The certificates of one TLS listener at one moment, immutable: the handshake options per host
/// name (built once, so a handshake allocates none), wildcard names, and the default certificate
/// for clients that send no name or a name nothing matches.
/// </summary>
internal sealed class CertificateSet : IDisposable
{
    private readonly FrozenDictionary<string, SslServerAuthenticationOptions> _exact;
    private readonly FrozenDictionary<string, SslServerAuthenticationOptions>.AlternateLookup<ReadOnlySpan<char>> _exactLookup;
    private readonly FrozenDictionary<string, SslServerAuthenticationOptions>.AlternateLookup<ReadOnlySpan<char>> _wildcardLookup;
    private readonly SslServerAuthenticationOptions _default;

    public CertificateSet(IReadOnlyList<LoadedCertificate> certificates, SslProtocols protocols, List<SslApplicationProtocol> alpn)
    {
        Certificates = certificates;
        var exact = new Dictionary<string, SslServerAuthenticationOptions>(StringComparer.OrdinalIgnoreCase);
        var wildcard = new Dictionary<string, SslServerAuthenticationOptions>(StringComparer.OrdinalIgnoreCase);
        SslServerAuthenticationOptions? first = null;
        foreach (var certificate in certificates)
        {
            var options = new SslServerAuthenticationOptions
            {
                // offline: the chain comes from the files; nothing is fetched while handshaking.
                ServerCertificateContext = SslStreamCertificateContext.Create(certificate.Leaf, certificate.Chain, offline: true),
                EnabledSslProtocols = protocols,
                ApplicationProtocols = alpn,
                ClientCertificateRequired = false,
                AllowRenegotiation = false,
            };
            first ??= options;
            foreach (var host in certificate.Hosts)
            {
                if (host.StartsWith("*.", StringComparison.Ordinal))
                {
                    wildcard.TryAdd(host[2..], options);
                }
                else
                {
                    exact.TryAdd(host, options);
                }
            }
        }
        _default = first ?? throw new ArgumentException("at least one certificate is needed", nameof(certificates));
        _exact = exact.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        _exactLookup = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcardLookup = wildcard.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public IReadOnlyList<LoadedCertificate> Certificates { get; }

    /// <summary>Handshake options for the name the client sent (SNI): exact name, then <c>*.parent</c>, then the default.</summary>
    public SslServerAuthenticationOptions Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName))
        {
            return _default;
        }
        if (_exactLookup.TryGetValue(serverName, out var options))
        {
            return options;
        }
        var dot = serverName.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && _wildcardLookup.TryGetValue(serverName.AsSpan(dot + 1), out options) ? options : _default;
    }

    public void Dispose()
    {
        foreach (var certificate in Certificates)
        {
            certificate.Dispose();
        }
    }
}
