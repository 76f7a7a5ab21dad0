namespace Ingest.Core.Aws;

/// <summary>
/// Remembers the last derived SigV4 signing key: it only changes with the secret, the day, the
/// region and the service, so one HMAC chain serves every request of a day. Thread-safe.
/// </summary>
public sealed class SigV4SigningKeyCache
{
    private volatile Entry? _last;

    /// <summary>The signing key of <paramref name="secret"/> for one day, region and service.</summary>
    public byte[] KeyFor(string secret, string dateStamp, string region, string service)
    {
        var last = _last;
        if (last is not null && last.DateStamp == dateStamp && last.Region == region && last.Service == service && last.Secret == secret)
        {
            return last.Key;
        }
        var key = SigV4Canonical.SigningKey(secret, dateStamp, region, service);
        _last = new Entry(secret, dateStamp, region, service, key);
        return key;
    }

    private sealed record Entry(string Secret, string DateStamp, string Region, string Service, byte[] Key);
}
