using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Ingest.Core.Throttling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Core.Idempotency;

/// <summary>
/// The idempotency step of a route (<c>idempotency: { header, window }</c>): runs after
/// authentication and throttling, before the body is decoded and events are queued.
/// </summary>
/// <remarks>
/// <para>Scope of a key: route + client (API key id, else the authenticated principal) + key, so
/// two clients never see each other's answers.</para>
/// <para>A request with a new key runs; its answer is held back until it is remembered (2xx only,
/// up to 64 KiB), so a retry sent after the first answer arrived always finds it. A retry within
/// <c>window</c> gets that answer again: status, body, the first request's <c>x-request-id</c>,
/// plus <c>Idempotent-Replayed: true</c>; nothing is queued again. A retry while the first request
/// is still running gets 409 <c>A request with this Idempotency-Key is in progress</c> with
/// <c>Retry-After: 1</c> at once (no waiting: a request slot is not held for another request).
/// Non-2xx answers are forgotten, so a request refused with 429 or 503 can be retried for real.</para>
/// <para>With <c>redis:</c> keys are shared by all instances; while Redis cannot answer,
/// <c>onFailure: local</c> uses this instance's table and <c>deny</c> answers 503.</para>
/// </remarks>
public sealed class RouteIdempotency
{
    /// <summary>Longest accepted key; longer is 400.</summary>
    public const int MaxKeyLength = 255;

    /// <summary>Header that marks a replayed answer.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>Largest answer body remembered; larger answers are sent but not remembered.</summary>
    internal const int MaxRememberedBodyBytes = 64 * 1024;

    /// <summary>409 for a key whose first request is still running.</summary>
    public static readonly Rejection InProgress =
        new(409, "A request with this Idempotency-Key is in progress", [new("Retry-After", "1")], "idempotency key in progress");

    private static readonly Rejection StoreUnavailable = Rejection.ServiceUnavailable.WithReason("idempotency store unavailable (redis.onFailure: deny)");
    private static readonly Rejection TableFull = Rejection.ServiceUnavailable.WithReason("idempotency table full of running requests (idempotency.maxKeys)");

    private readonly string _routeKey;
    private readonly string _header;
    private readonly TimeSpan _window;
    private readonly TimeSpan _inFlight;
    private readonly LocalIdempotencyTable _local;
    private readonly RedisIdempotencyStore? _shared;
    private readonly string _sharedPrefix;
    private readonly bool _denyOnFailure;
    private readonly Rejection _badKey;

    private RouteIdempotency(string routeKey, IdempotencyOptions options, TimeSpan inFlight, LocalIdempotencyTable local, RedisIdempotencyStore? shared, string sharedPrefix, bool denyOnFailure)
    {
        _routeKey = routeKey;
        _header = options.Header;
        _window = options.Window;
        _inFlight = inFlight < options.Window ? inFlight : options.Window;
        _local = local;
        _shared = shared;
        _sharedPrefix = sharedPrefix;
        _denyOnFailure = denyOnFailure;
        _badKey = new Rejection(400, $"{options.Header} must be 1 to {MaxKeyLength} characters", logReason: "idempotency key empty or too long");
    }

    /// <summary>Header carrying the key.</summary>
    public string Header => _header;

    /// <summary>
    /// The step of <paramref name="route"/>, or null when it has no <c>idempotency:</c>. Local tables
    /// come from <see cref="IdempotencyTables"/> (registered by
    /// <see cref="IdempotencyServiceCollectionExtensions.AddIngestIdempotency"/>), so they outlive a redeployment.
    /// </summary>
    /// <param name="config">The configuration.</param>
    /// <param name="route">The route.</param>
    /// <param name="services">Long-lived state (tables, Redis connection).</param>
    /// <param name="stage">Stage the route is served in: keys are kept per stage. Null without stages.</param>
    public static RouteIdempotency? Compile(IngestConfig config, RouteOptions route, IServiceProvider services, string? stage = null)
    {
        if (route.Idempotency is not { } options)
        {
            return null;
        }
        var tables = services.GetService<IdempotencyTables>()
            ?? throw new InvalidOperationException("Idempotency keys are configured but their tables are not registered: call services.AddIngestIdempotency().");
        RedisIdempotencyStore? shared = null;
        if (config.Redis is { } redis)
        {
            var store = services.GetService<ThrottleStore>()
                ?? throw new InvalidOperationException("redis: is configured but the throttle store is not registered: call services.AddIngestThrottling().");
            shared = new RedisIdempotencyStore(store.Redis(redis));
        }
        var timeout = route.Timeout ?? (config.Targets.TryGetValue(route.Target, out var target) ? target.Timeout : null) ?? config.Defaults.Timeout;
        var scope = stage is null ? route.Route : $"{stage} {route.Route}";
        return new RouteIdempotency(
            scope,
            options,
            timeout,
            tables.Table(scope, options.MaxKeys),
            shared,
            (config.Redis?.KeyPrefix ?? "ingest:") + "idem:",
            config.Redis?.OnFailure == "deny");
    }

    /// <summary>
    /// Claims the request's key. Proceed (default result) when the request has no key or claimed it;
    /// else the request is answered: <see cref="IdempotencyStart.Replayed"/> (already written) or
    /// <see cref="IdempotencyStart.Rejection"/> (400, 409, 503) for the caller to write.
    /// </summary>
    public async ValueTask<IdempotencyStart> BeginAsync(RequestContext context)
    {
        var http = context.Http;
        if (context.DryRunEvents is not null || !http.Request.Headers.TryGetValue(_header, out var values))
        {
            return default;
        }
        var key = values.Count == 1 ? values[0] ?? "" : values.ToString();
        if (key.Length is 0 or > MaxKeyLength)
        {
            return new IdempotencyStart(_badKey);
        }
        var scope = ScopeKey(context, key);
        var token = context.RequestId.ToString("N");
        var (claim, store) = await ClaimAsync(scope, token).ConfigureAwait(false);
        context.Trace?.Write($"Idempotency key: {claim.Outcome}");
        switch (claim.Outcome)
        {
            case ClaimOutcome.Answered:
                return new IdempotencyStart(null, Replayed: true, WriteReplay(http, claim.Answer!));
            case ClaimOutcome.InProgress:
                return new IdempotencyStart(InProgress);
            case ClaimOutcome.Full:
                return new IdempotencyStart(store is null ? StoreUnavailable : TableFull);
            default:
                IdempotencyScope.Install(http, new IdempotencyScope(this, store!, StoreKey(store!, scope), token, context.RequestId));
                return default;
        }
    }

    /// <summary>
    /// Ends the request's scope, if it claimed a key: remembers a 2xx answer (or forgets the claim),
    /// then sends the answer held back. Never throws; call it once the response is final.
    /// </summary>
    public static ValueTask EndAsync(HttpContext http) =>
        http.Features.Get<IdempotencyScope>() is { } scope ? scope.EndAsync(http) : default;

    internal async ValueTask RememberAsync(IIdempotencyStore store, string key, string token, IdempotentAnswer? answer)
    {
        var shared = store as RedisIdempotencyStore;
        if (shared is { Connection.Available: false })
        {
            // Redis went away after the claim: do not wait on it; the marker expires by itself.
            return;
        }
        try
        {
            if (answer is not null)
            {
                await store.CompleteAsync(key, token, answer, _window).ConfigureAwait(false);
            }
            else
            {
                await store.ReleaseAsync(key, token).ConfigureAwait(false);
            }
            shared?.Connection.Succeeded();
        }
        catch (Exception e) when (shared is not null)
        {
            // The answer is sent all the same; a retry may then run again once the in-flight marker expires.
            shared.Connection.Failed(e);
        }
    }

    private async ValueTask<(IdempotencyClaim Claim, IIdempotencyStore? Store)> ClaimAsync(string key, string token)
    {
        if (_shared is { } shared)
        {
            var limiter = shared.Connection;
            if (limiter.TryEnter())
            {
                try
                {
                    var claim = await shared.TryClaimAsync(_sharedPrefix + key, token, _inFlight).ConfigureAwait(false);
                    limiter.Succeeded();
                    return (claim, shared);
                }
                catch (Exception e)
                {
                    limiter.Failed(e);
                }
            }
            if (_denyOnFailure)
            {
                return (IdempotencyClaim.Full, null);
            }
        }
        return (_local.TryClaim(key, token, _inFlight), _local);
    }

    /// <summary>Key in the store: SHA-256 of route, client and key (bounded length, nothing secret kept).</summary>
    private string ScopeKey(RequestContext context, string key)
    {
        var text = $"{_routeKey}\n{context.ApiKeyId ?? context.Principal ?? ""}\n{key}";
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return Convert.ToHexStringLower(hash);
    }

    private string StoreKey(IIdempotencyStore store, string key) => store is RedisIdempotencyStore ? _sharedPrefix + key : key;

    private static long WriteReplay(HttpContext http, IdempotentAnswer answer)
    {
        var response = http.Response;
        response.StatusCode = answer.Status;
        response.ContentType = answer.ContentType;
        response.ContentLength = answer.Body.Length;
        response.Headers["x-request-id"] = answer.RequestId.ToString();
        response.Headers[ReplayedHeader] = "true";
        response.BodyWriter.Write(answer.Body);
        return answer.Body.Length;
    }
}

/// <summary>What <see cref="RouteIdempotency.BeginAsync"/> decided.</summary>
/// <param name="Rejection">The refusal to write (400, 409, 503), or null.</param>
/// <param name="Replayed">True when the first answer was written again: the request is done.</param>
/// <param name="ReplayedLength">Body length of the replayed answer.</param>
public readonly record struct IdempotencyStart(Rejection? Rejection, bool Replayed = false, long ReplayedLength = 0);
