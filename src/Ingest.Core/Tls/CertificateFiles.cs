using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ingest.Core.Configuration;

namespace Ingest.Core.Tls;

/// <summary>A certificate read from its files: the leaf with its private key, the chain behind it, and the names it is served for.</summary>
public sealed class LoadedCertificate(X509Certificate2 leaf, X509Certificate2Collection chain, IReadOnlyList<string> hosts) : IDisposable
{
    public X509Certificate2 Leaf { get; } = leaf;

    /// <summary>Intermediate certificates, sent after the leaf.</summary>
    public X509Certificate2Collection Chain { get; } = chain;

    /// <summary>Host names (or <c>*.domain</c> patterns) this certificate answers for.</summary>
    public IReadOnlyList<string> Hosts { get; } = hosts;

    public void Dispose()
    {
        Leaf.Dispose();
        foreach (var certificate in Chain)
        {
            certificate.Dispose();
        }
    }
}

/// <summary>A certificate that cannot be used; the message names the file and the fix, never a password.</summary>
public sealed class CertificateLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Reads PEM (certificate chain + key) and PKCS#12 files, and matches host names against certificates.</summary>
public static class CertificateFiles
{
    /// <summary>The files a certificate is read from (watched for changes).</summary>
    public static IReadOnlyList<string> Paths(CertificateOptions options)
    {
        var paths = new List<string>(2);
        if (options.Pfx is { Length: > 0 } pfx)
        {
            paths.Add(pfx);
        }
        if (options.Pem is { Length: > 0 } pem)
        {
            paths.Add(pem);
        }
        if (options.Key is { Length: > 0 } key && key != options.Pem)
        {
            paths.Add(key);
        }
        return paths;
    }

    /// <summary>Reads the certificate; throws <see cref="CertificateLoadException"/> saying what is wrong.</summary>
    public static LoadedCertificate Load(CertificateOptions options)
    {
        X509Certificate2 leaf;
        X509Certificate2Collection chain;
        try
        {
            (leaf, chain) = options.Pfx is { Length: > 0 } pfx ? LoadPfx(pfx, options.Password) : LoadPem(options);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CertificateLoadException($"cannot read the certificate ({Describe(e)})", e);
        }
        if (!leaf.HasPrivateKey)
        {
            leaf.Dispose();
            throw new CertificateLoadException("the certificate has no private key. Give the key file (key:) or a pfx that contains the key");
        }
        var names = DnsNames(leaf);
        IReadOnlyList<string> hosts;
        if (options.Host.Length > 0)
        {
            if (!Covers(names, options.Host))
            {
                var served = names.Count == 0 ? "no DNS names" : string.Join(", ", names);
                leaf.Dispose();
                throw new CertificateLoadException($"the certificate is for {served}, not {options.Host}. Use a certificate for {options.Host} or fix host");
            }
            hosts = [options.Host];
        }
        else if (names.Count == 0)
        {
            leaf.Dispose();
            throw new CertificateLoadException("the certificate names no DNS host. Set host: to the name it is served for");
        }
        else
        {
            hosts = names;
        }
        return new LoadedCertificate(leaf, chain, hosts);
    }

    private static (X509Certificate2, X509Certificate2Collection) LoadPem(CertificateOptions options)
    {
        var pem = options.Pem!;
        var key = options.Key is { Length: > 0 } k ? k : pem;
        var all = new X509Certificate2Collection();
        all.ImportFromPemFile(pem);
        if (all.Count == 0)
        {
            throw new CertificateLoadException($"{pem} holds no '-----BEGIN CERTIFICATE-----' block");
        }
        try
        {
            var leaf = options.Password is { Length: > 0 } password
                ? X509Certificate2.CreateFromEncryptedPemFile(pem, password, key)
                : X509Certificate2.CreateFromPemFile(pem, key);
            all[0].Dispose();
            all.RemoveAt(0);
            return (leaf, all);
        }
        catch
        {
            foreach (var certificate in all)
            {
                certificate.Dispose();
            }
            throw;
        }
    }

    private static (X509Certificate2, X509Certificate2Collection) LoadPfx(string path, string? password)
    {
        var all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        X509Certificate2? leaf = null;
        var chain = new X509Certificate2Collection();
        foreach (var certificate in all)
        {
            if (leaf is null && certificate.HasPrivateKey)
            {
                leaf = certificate;
            }
            else
            {
                chain.Add(certificate);
            }
        }
        if (leaf is null)
        {
            foreach (var certificate in chain)
            {
                certificate.Dispose();
            }
            throw new CertificateLoadException($"{path} holds no certificate with a private key");
        }
        return (leaf, chain);
    }

    /// <summary>The DNS names of the certificate (subject alternative names, else the common name).</summary>
    public static IReadOnlyList<string> DnsNames(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
            }
        }
        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } common && !common.Contains(' ', StringComparison.Ordinal))
        {
            names.Add(common);
        }
        return names;
    }

    /// <summary>True when a certificate with <paramref name="names"/> is valid for <paramref name="host"/> (which may itself be a <c>*.domain</c> pattern).</summary>
    public static bool Covers(IReadOnlyList<string> names, string host)
    {
        foreach (var name in names)
        {
            if (string.Equals(name, host, StringComparison.OrdinalIgnoreCase) || (!host.StartsWith("*.", StringComparison.Ordinal) && Matches(name, host)))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>RFC 6125 matching: <c>*.example.com</c> matches exactly one label in front of example.com.</summary>
    public static bool Matches(string pattern, ReadOnlySpan<char> host)
    {
        if (!pattern.StartsWith("*.", StringComparison.Ordinal))
        {
            return host.Equals(pattern, StringComparison.OrdinalIgnoreCase);
        }
        var dot = host.IndexOf('.');
        return dot > 0 && host[(dot + 1)..].Equals(pattern.AsSpan(2), StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>True for <c>api.example.com</c>, <c>localhost</c> and <c>*.example.com</c>; false for anything else.</summary>
    public static bool IsHostPattern(string host)
    {
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        return name.Length is > 0 and <= 253 && Uri.CheckHostName(name) == UriHostNameType.Dns && !name.Contains('*', StringComparison.Ordinal);
    }

    private static string Describe(Exception e) => e switch
    {
        FileNotFoundException f => $"{f.FileName ?? "a file"} does not exist",
        DirectoryNotFoundException => "a directory in the path does not exist",
        UnauthorizedAccessException => "the file is not readable by this process",
        _ => e.Message.TrimEnd('.'),
    };
}
