using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using Ingest.Core.Configuration;
using Ingest.Core.Tls;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Hosting.Tls;

/// <summary>
/// The certificates of one TLS listener, read again when their files change (checked every
/// <see cref="TlsOptions.ReloadInterval"/> on the gateway's <see cref="TimeProvider"/>). A new set
/// replaces the old one only when every file of it loads; otherwise the old one keeps serving and
/// the reason is logged. Handshakes read the current set without locking.
/// </summary>
internal sealed partial class ListenerCertificates : IDisposable
{
    /// <summary>Certificates closer to expiry than this are logged as a warning at every load.</summary>
    private static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    private readonly string _name;
    private readonly TlsOptions _options;
    private readonly SslProtocols _protocols;
    private readonly List<SslApplicationProtocol> _alpn;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private volatile CertificateSet _current;
    private string _fingerprint;
    private int _checking;

    /// <summary>Loads the certificates; throws <see cref="CertificateLoadException"/> when they cannot be used.</summary>
    public ListenerCertificates(string name, TlsOptions options, List<SslApplicationProtocol> alpn, TimeProvider time, ILogger logger)
    {
        _name = name;
        _options = options;
        _protocols = options.MinVersion == "tls13" ? SslProtocols.Tls13 : SslProtocols.Tls12 | SslProtocols.Tls13;
        _alpn = alpn;
        _time = time;
        _logger = logger;
        _fingerprint = Fingerprint();
        _current = Load();
        _timer = time.CreateTimer(_ => Check(), null, options.ReloadInterval, options.ReloadInterval);
    }

    /// <summary>The listener's address, for logs and metrics.</summary>
    public string Name => _name;

    /// <summary>Certificates served right now.</summary>
    public CertificateSet Current => _current;

    /// <summary>Times a changed set of files was loaded and put in service.</summary>
    public int Reloads { get; private set; }

    /// <summary>Reads the files again if any of them changed. Called by the timer; safe to call at any time.</summary>
    public void Check()
    {
        if (Interlocked.Exchange(ref _checking, 1) == 1)
        {
            return;
        }
        try
        {
            var fingerprint = Fingerprint();
            if (fingerprint == _fingerprint)
            {
                return;
            }
            // Remembered even when loading fails: the next change (e.g. the key written after the certificate) is tried again.
            _fingerprint = fingerprint;
            try
            {
                // The old set is not disposed: handshakes under way may still use it.
                _current = Load();
                Reloads++;
                var hosts = string.Join(", ", _current.Certificates.SelectMany(c => c.Hosts));
                LogReloaded(_logger, _name, hosts);
            }
            catch (CertificateLoadException e)
            {
                LogReloadFailed(_logger, _name, e.Message);
            }
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private CertificateSet Load()
    {
        var loaded = new List<LoadedCertificate>(_options.Certificates.Count);
        try
        {
            for (var i = 0; i < _options.Certificates.Count; i++)
            {
                var options = _options.Certificates[i];
                try
                {
                    loaded.Add(CertificateFiles.Load(options));
                }
                catch (CertificateLoadException e)
                {
                    throw new CertificateLoadException($"certificates[{i}] ({string.Join(", ", CertificateFiles.Paths(options))}): {e.Message}", e);
                }
            }
            var set = new CertificateSet(loaded, _protocols, _alpn);
            WarnAboutExpiry(loaded);
            return set;
        }
        catch
        {
            foreach (var certificate in loaded)
            {
                certificate.Dispose();
            }
            throw;
        }
    }

    private void WarnAboutExpiry(List<LoadedCertificate> certificates)
    {
        var now = _time.GetUtcNow();
        foreach (var certificate in certificates)
        {
            var notAfter = new DateTimeOffset(certificate.Leaf.NotAfter.ToUniversalTime());
            var notBefore = new DateTimeOffset(certificate.Leaf.NotBefore.ToUniversalTime());
            var hosts = string.Join(", ", certificate.Hosts);
            if (notAfter <= now)
            {
                LogExpired(_logger, _name, hosts, notAfter);
            }
            else if (notBefore > now)
            {
                LogNotYetValid(_logger, _name, hosts, notBefore);
            }
            else if (notAfter - now < ExpiryWarning)
            {
                LogExpiresSoon(_logger, _name, hosts, notAfter);
            }
        }
    }

    /// <summary>Contents of every file (hashed), so a rewrite with the same timestamp is noticed too.</summary>
    private string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var certificate in _options.Certificates)
        {
            foreach (var path in CertificateFiles.Paths(certificate))
            {
                try
                {
                    hash.AppendData(File.ReadAllBytes(path));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    hash.AppendData("missing"u8);
                }
            }
        }
        return Convert.ToHexString(hash.GetHashAndReset());
    }

    public void Dispose()
    {
        _timer.Dispose();
        _current.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "TLS listener {Listener}: certificate files changed, now serving {Hosts}")]
    private static partial void LogReloaded(ILogger logger, string listener, string hosts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS listener {Listener}: certificate files changed but cannot be used, still serving the previous certificates: {Reason}")]
    private static partial void LogReloadFailed(ILogger logger, string listener, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS listener {Listener}: the certificate for {Hosts} expired at {NotAfter:O}; clients will refuse it. Replace the files (they are read again when they change)")]
    private static partial void LogExpired(ILogger logger, string listener, string hosts, DateTimeOffset notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS listener {Listener}: the certificate for {Hosts} is not valid before {NotBefore:O}")]
    private static partial void LogNotYetValid(ILogger logger, string listener, string hosts, DateTimeOffset notBefore);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TLS listener {Listener}: the certificate for {Hosts} expires at {NotAfter:O}. Renew it")]
    private static partial void LogExpiresSoon(ILogger logger, string listener, string hosts, DateTimeOffset notAfter);
}
