using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ingest.TestSupport.Tls;

/// <summary>
/// A private certificate authority made in the test (CertificateRequest), and server certificates
/// signed by it, written as the files a user would configure: PEM chain + key, encrypted key, pfx.
/// Clients trust only <see cref="Root"/> (custom root trust), so validation is the real one.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private readonly ECDsa _rootKey;

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("ingest-tls-").FullName;
        _rootKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Ingest Test Root", _rootKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddYears(-1), DateTimeOffset.UtcNow.AddYears(1));
    }

    /// <summary>Folder the files are written to; deleted on dispose.</summary>
    public string Directory { get; }

    /// <summary>The test authority (with its key).</summary>
    public X509Certificate2 Root { get; }

    /// <summary>A server certificate for <paramref name="dnsNames"/>, signed by <see cref="Root"/>.</summary>
    public X509Certificate2 Issue(string[] dnsNames, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={dnsNames[0]}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        var to = notAfter ?? DateTimeOffset.UtcNow.AddDays(90);
        var serial = RandomNumberGenerator.GetBytes(12);
        using var signed = request.Create(Root, from, to, serial);
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>Writes <c>NAME.pem</c> (certificate) and <c>NAME.key</c> (PKCS#8 key); returns both paths.</summary>
    public (string Pem, string Key) WritePem(X509Certificate2 certificate, string name)
    {
        var pem = Path.Combine(Directory, name + ".pem");
        var key = Path.Combine(Directory, name + ".key");
        WritePem(certificate, pem, key);
        return (pem, key);
    }

    /// <summary>Writes the certificate and its key to the given paths (replacing them, as a renewal does).</summary>
    public static void WritePem(X509Certificate2 certificate, string pemPath, string keyPath)
    {
        File.WriteAllText(pemPath, certificate.ExportCertificatePem() + "\n");
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem() + "\n");
    }

    /// <summary>Writes the key encrypted with <paramref name="password"/>; returns the key path.</summary>
    public string WriteEncryptedKey(X509Certificate2 certificate, string name, string password)
    {
        var path = Path.Combine(Directory, name + ".enc.key");
        using var key = certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(path, key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)) + "\n");
        return path;
    }

    /// <summary>Writes <c>NAME.pfx</c> protected by <paramref name="password"/>; returns its path.</summary>
    public string WritePfx(X509Certificate2 certificate, string name, string password)
    {
        var path = Path.Combine(Directory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    public void Dispose()
    {
        Root.Dispose();
        _rootKey.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder.
        }
    }
}
