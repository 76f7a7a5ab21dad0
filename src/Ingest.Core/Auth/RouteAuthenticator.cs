using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Core.Auth;

/// <summary>
/// The route's <c>auth:</c> list; every kind listed must pass, in the order listed. Sets the API key
/// id and principal on the request context. Compiled once per deployment; shared state (JWKS,
/// authorizer caches, replay cache) comes from services that outlive deployments.
/// </summary>
public sealed class RouteAuthenticator
{
    private static readonly ConditionalWeakTable<IngestConfig, Keyring> Keyrings = new();

    private readonly AuthStep[] _steps;

    private RouteAuthenticator(AuthStep[] steps)
    {
        _steps = steps;
        NeedsBody = steps.Any(s => s.NeedsBody);
    }

    /// <summary>The authenticator of <c>auth: none</c>.</summary>
    public static RouteAuthenticator None { get; } = new([]);

    /// <summary>Compiles a validated route's auth list.</summary>
    /// <param name="config">A configuration that passed validation.</param>
    /// <param name="route">One of its routes.</param>
    /// <param name="services">Services registered by <see cref="AuthServiceCollectionExtensions.AddIngestAuth"/>, plus an optional TimeProvider and ILoggerFactory.</param>
    public static RouteAuthenticator Compile(IngestConfig config, RouteOptions route, IServiceProvider services)
    {
        if (route.Auth.Count == 0 || route.Auth is ["none"])
        {
            return None;
        }
        var keyring = Keyrings.GetValue(config, c => new Keyring(c, services));
        var steps = new List<AuthStep>(route.Auth.Count);
        foreach (var kind in route.Auth)
        {
            steps.Add(kind switch
            {
                "apiKey" => keyring.ApiKey,
                "iam" => keyring.Iam,
                "hmac" => keyring.Hmac,
                _ when config.Authorizers.TryGetValue(kind, out var authorizer) => Authorizer(kind, authorizer, route, services, keyring),
                _ => throw new InvalidOperationException($"route {route.Route}: auth kind '{kind}' is unknown; validate the configuration first."),
            });
        }
        return new RouteAuthenticator([.. steps]);
    }

    /// <summary>True when a kind signs the body (iam, hmac): the body is read before authentication.</summary>
    public bool NeedsBody { get; }

    /// <summary>Null when the request may pass; else the 401/403 (500 when an authorizer failed) to answer.</summary>
    public ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _steps.Length; i++)
        {
            var pending = _steps[i].AuthenticateAsync(context, cancellationToken);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(pending, i, context, cancellationToken);
            }
            if (pending.Result is { } rejection)
            {
                return ValueTask.FromResult<Rejection?>(rejection);
            }
        }
        return ValueTask.FromResult<Rejection?>(null);
    }

    private async ValueTask<Rejection?> ContinueAsync(ValueTask<Rejection?> pending, int index, RequestContext context, CancellationToken cancellationToken)
    {
        if (await pending is { } rejection)
        {
            return rejection;
        }
        for (var i = index + 1; i < _steps.Length; i++)
        {
            if (await _steps[i].AuthenticateAsync(context, cancellationToken) is { } next)
            {
                return next;
            }
        }
        return null;
    }

    private static AuthStep Authorizer(string name, AuthorizerOptions options, RouteOptions route, IServiceProvider services, Keyring keyring)
    {
        var time = keyring.Time;
        var logger = keyring.Logger;
        switch (options.Type)
        {
            case "jwt":
                var jwks = Required<JwksCache>(services);
                return new JwtAuth(name, options, jwks.Get(name, options), [.. route.Scopes ?? []], time, logger);
            case "http":
            case "lambda":
                if (!IdentitySource.TryParseList(options.IdentitySource, out var sources, out var error))
                {
                    throw new InvalidOperationException($"authorizers.{name}.identitySource: {error}; validate the configuration first.");
                }
                var http = Required<AuthHttpClient>(services);
                AuthorizerInvoker invoker;
                string cacheKey;
                if (options.Type == "http")
                {
                    invoker = new HttpInvoker(new Uri(options.Url!), http);
                    cacheKey = $"{name}|http|{options.Url}|{options.IdentitySource}";
                }
                else
                {
                    var aws = keyring.Config.Aws;
                    var endpoint = aws.Endpoints.TryGetValue("lambda", out var configured) ? configured : $"https://lambda.{aws.Region}.amazonaws.com";
                    invoker = new LambdaInvoker(new Uri(endpoint), options.Function!, aws.Region, aws.AccessKeyId!, aws.SecretAccessKey!, aws.SessionToken, http, time);
                    cacheKey = $"{name}|lambda|{endpoint}|{options.Function}|{options.IdentitySource}";
                }
                var cache = Required<AuthorizerCaches>(services).Get(cacheKey);
                return new HttpAuthorizer(name, options, sources, invoker, cache, time, logger);
            default:
                throw new InvalidOperationException($"authorizers.{name}: type '{options.Type}' is unknown; validate the configuration first.");
        }
    }

    private static T Required<T>(IServiceProvider services) where T : notnull =>
        services.GetService<T>() ?? throw new InvalidOperationException($"{typeof(T).Name} is not registered: call services.AddIngestAuth().");

    /// <summary>Key stores of one deployment, shared by its routes.</summary>
    private sealed class Keyring
    {
        private readonly IServiceProvider _services;
        private ApiKeyAuth? _apiKey;
        private IamAuth? _iam;
        private HmacAuth? _hmac;

        public Keyring(IngestConfig config, IServiceProvider services)
        {
            Config = config;
            _services = services;
            Time = services.GetService<TimeProvider>() ?? TimeProvider.System;
            Logger = (ILogger?)services.GetService<ILoggerFactory>()?.CreateLogger("Ingest.Auth") ?? NullLogger.Instance;
        }

        public IngestConfig Config { get; }

        public TimeProvider Time { get; }

        public ILogger Logger { get; }

        public ApiKeyAuth ApiKey => _apiKey ??= new ApiKeyAuth(ApiKeyStore.Create(Config.ApiKeys));

        public IamAuth Iam => _iam ??= new IamAuth(new SigV4Verifier(
            Config.IamKeys.Select(k => new KeyValuePair<string, string>(k.AccessKeyId, k.SecretAccessKey)), Config.Iam.ClockSkew, Time));

        public HmacAuth Hmac => _hmac ??= new HmacAuth(
            Config.HmacKeys.GroupBy(k => k.Id, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => Encoding.UTF8.GetBytes(g.First().Secret), StringComparer.Ordinal),
            Config.Hmac,
            Required<ReplayCache>(_services),
            Time,
            Logger);
    }
}
