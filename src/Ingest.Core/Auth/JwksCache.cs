using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text.Json;
using Ingest.Core.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.IdentityModel.Tokens;

namespace Ingest.Core.Auth;

/// <summary>
/// Signing keys of jwt authorizers, by JWKS location, shared by all deployments. Keys are fetched
/// again every <c>refreshInterval</c> (default 10m), and at once (at most once a minute) when a
/// token names a key id the set does not have, so a key published by the issuer is accepted
/// without a restart. A failed fetch keeps the keys already loaded.
/// </summary>
public sealed class JwksCache(AuthHttpClient http, TimeProvider time, ILoggerFactory? loggers = null)
{
    /// <summary>Default of <c>refreshInterval</c>.</summary>
    public static readonly TimeSpan DefaultRefreshInterval = TimeSpan.FromMinutes(10);

    /// <summary>Shortest time between two fetches of one set (unknown key ids, failures).</summary>
    public static readonly TimeSpan MinRefetchInterval = TimeSpan.FromMinutes(1);

    /// <summary>Shortest time between two attempts while no key was ever loaded.</summary>
    public static readonly TimeSpan InitialRetryInterval = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, JwksSource> _sources = new(StringComparer.Ordinal);
    private readonly ILogger _logger = (ILogger?)loggers?.CreateLogger("Ingest.Auth") ?? NullLogger.Instance;

    internal JwksSource Get(string authorizer, AuthorizerOptions options)
    {
        var refresh = options.RefreshInterval ?? DefaultRefreshInterval;
        var timeout = options.Timeout ?? HttpAuthorizer.DefaultTimeout;
        var location = options.Jwks ?? $"discovery:{options.Issuer}";
        return _sources.GetOrAdd($"{location}|{refresh.Ticks}|{timeout.Ticks}", _ =>
            new JwksSource(authorizer, options.Jwks, options.Issuer ?? "", refresh, timeout, http, time, _logger));
    }
}

/// <summary>The keys of a JWKS at one moment.</summary>
internal sealed class JwksSnapshot(IReadOnlyList<SecurityKey> keys, FrozenSet<string> keyIds, DateTimeOffset fetchedAt)
{
    public IReadOnlyList<SecurityKey> Keys { get; } = keys;

    public FrozenSet<string> KeyIds { get; } = keyIds;

    public DateTimeOffset FetchedAt { get; } = fetchedAt;
}

/// <summary>One JWKS location (file, URL or OIDC discovery of an issuer) and its current keys.</summary>
internal sealed class JwksSource(
    string authorizer,
    string? jwks,
    string issuer,
    TimeSpan refreshInterval,
    TimeSpan timeout,
    AuthHttpClient http,
    TimeProvider time,
    ILogger logger)
{
    private readonly Lock _lock = new();
    private volatile JwksSnapshot? _current;
    private DateTimeOffset _lastAttempt = DateTimeOffset.MinValue;
    private Task? _refresh;

    private string Location => jwks ?? $"{issuer.TrimEnd('/')}/.well-known/openid-configuration";

    /// <summary>Starts the first fetch without waiting for it.</summary>
    public void WarmUp()
    {
        if (_current is null)
        {
            _ = RefreshAsync(force: false);
        }
    }

    /// <summary>
    /// The current keys, fetched first when none are loaded, when they are older than the refresh
    /// interval, or when <paramref name="keyId"/> is not among them. Null when none could be loaded.
    /// </summary>
    public async ValueTask<JwksSnapshot?> GetAsync(string? keyId, CancellationToken cancellationToken)
    {
        var current = _current;
        var now = time.GetUtcNow();
        var unknownKey = current is not null && !string.IsNullOrEmpty(keyId) && !current.KeyIds.Contains(keyId);
        if (current is not null && now - current.FetchedAt < refreshInterval && !unknownKey)
        {
            return current;
        }
        if (unknownKey && CanAttempt(now))
        {
            AuthLog.JwksUnknownKid(logger, authorizer);
        }
        await RefreshAsync(force: false).WaitAsync(cancellationToken);
        return _current;
    }

    private bool CanAttempt(DateTimeOffset now)
    {
        lock (_lock)
        {
            return now - _lastAttempt >= (_current is null ? JwksCache.InitialRetryInterval : JwksCache.MinRefetchInterval);
        }
    }

    private Task RefreshAsync(bool force)
    {
        lock (_lock)
        {
            if (_refresh is { IsCompleted: false })
            {
                return _refresh;
            }
            var now = time.GetUtcNow();
            if (!force && now - _lastAttempt < (_current is null ? JwksCache.InitialRetryInterval : JwksCache.MinRefetchInterval))
            {
                return Task.CompletedTask;
            }
            _lastAttempt = now;
            _refresh = FetchAsync();
            return _refresh;
        }
    }

    private async Task FetchAsync()
    {
        try
        {
            using var timeoutSource = new CancellationTokenSource(timeout, time);
            var text = await ReadJwksAsync(timeoutSource.Token);
            var set = new JsonWebKeySet(text);
            var keys = set.GetSigningKeys();
            var ids = set.Keys.Select(k => k.Kid).Where(k => !string.IsNullOrEmpty(k)).ToFrozenSet(StringComparer.Ordinal);
            _current = new JwksSnapshot([.. keys], ids, time.GetUtcNow());
            AuthLog.JwksLoaded(logger, authorizer, Location, keys.Count);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException or ArgumentException or OperationCanceledException or InvalidOperationException or UnauthorizedAccessException)
        {
            AuthLog.JwksFailed(logger, authorizer, Location, e is OperationCanceledException ? $"no answer within {Durations.Format(timeout)}" : $"{e.GetType().Name}: {e.Message}");
        }
    }

    private async Task<string> ReadJwksAsync(CancellationToken cancellationToken)
    {
        if (jwks is not null && jwks.StartsWith("file:", StringComparison.Ordinal))
        {
            return await File.ReadAllTextAsync(jwks[5..], cancellationToken);
        }
        var url = jwks;
        if (url is null)
        {
            var discovery = await GetStringAsync(Location, cancellationToken);
            using var document = JsonDocument.Parse(discovery);
            url = document.RootElement.TryGetProperty("jwks_uri", out var uri) && uri.ValueKind == JsonValueKind.String
                ? uri.GetString()!
                : throw new InvalidOperationException("the discovery document has no jwks_uri");
        }
        return await GetStringAsync(url, cancellationToken);
    }

    private async Task<string> GetStringAsync(string url, CancellationToken cancellationToken)
    {
        using var response = await http.Client.GetAsync(url, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{url} answered {(int)response.StatusCode}");
        }
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }
}
