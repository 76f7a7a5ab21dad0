using System.Net;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Core.Diagnostics;
using Ingest.Core.Integration;
using Ingest.Core.Payload;
using Ingest.Core.Pipeline;
using Ingest.Core.Routing;
using Ingest.Core.Security;
using Ingest.Core.Throttling;
using Ingest.TestSupport.Integration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ingest.Targets.Tests.Lambda;

/// <summary>
/// Builds what a sync target gets from the gateway: a configuration, a compiled route and an
/// <see cref="IntegrationRequest"/> over a <see cref="DefaultHttpContext"/>, so targets are tested
/// by calling <see cref="ISyncTarget.InvokeAsync"/> directly.
/// </summary>
internal static class SyncRequests
{
    /// <summary>Request time of every test request: 12 March 2026, 19:03:58.390 UTC.</summary>
    public static readonly DateTimeOffset RequestTime = new(2026, 3, 12, 19, 3, 58, 390, TimeSpan.Zero);

    public const string TraceParent = IntegrationRequests.TraceParent;

    private static readonly ServiceProvider Services = new ServiceCollection()
        .AddSingleton(TimeProvider.System)
        .AddMetrics()
        .AddIngestSecurity()
        .AddIngestAuth()
        .AddIngestThrottling()
        .BuildServiceProvider();

    /// <summary>A configuration whose <c>aws:</c> points every service at <paramref name="endpoints"/>, with the given keys.</summary>
    public static IngestConfig Config(
        string compat = "http-v2",
        string accessKeyId = "AKID",
        string secretAccessKey = "secret",
        string region = "us-east-1",
        params (string Service, string Url)[] endpoints)
    {
        var config = new IngestConfig { Compat = compat };
        config.Aws.Region = region;
        config.Aws.AccessKeyId = accessKeyId;
        config.Aws.SecretAccessKey = secretAccessKey;
        foreach (var (service, url) in endpoints)
        {
            config.Aws.Endpoints[service] = url;
        }
        return config;
    }

    /// <summary>What <see cref="ISyncTargetKind.Create"/> gets.</summary>
    public static SyncTargetContext Context(IngestConfig config, Func<string, HttpMessageHandler, HttpMessageHandler>? wrap = null) =>
        new(config, NullLoggerFactory.Instance, TimeProvider.System, Services, wrap);

    /// <summary>A compiled route for <paramref name="routeKey"/> (auth none), in <paramref name="stage"/> when given.</summary>
    public static CompiledRoute Route(
        string routeKey = "POST /v1/devices/{id}/events",
        string? stage = null,
        IReadOnlyDictionary<string, string>? stageVariables = null,
        TimeSpan? timeout = null)
    {
        var config = new IngestConfig();
        var options = new RouteOptions { Route = routeKey, Target = "sink", Auth = ["none"], Public = true };
        config.Targets["sink"] = new TargetOptions { Type = "blackhole" };
        config.Routes.Add(options);
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        var path = routeKey[(space + 1)..];
        return new CompiledRoute
        {
            RouteKey = routeKey,
            Method = routeKey[..space],
            Template = RouteTemplate.TryParse(stage is null ? path : $"/{stage}{path}", out _)!,
            Target = new BlackholeTarget("sink", new IngestMetrics(Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>())),
            CapturedHeaders = [],
            Ack = "memory",
            Timeout = timeout ?? TimeSpan.FromSeconds(29),
            Policy = ResourcePolicy.Compile(config, options),
            Auth = RouteAuthenticator.Compile(config, options, Services),
            Throttle = ThrottlePolicy.Compile(config, options, Services),
            Payload = PayloadPolicy.Compile(config, options),
            Stage = stage,
            StageVariables = stageVariables ?? new Dictionary<string, string>(),
        };
    }

    /// <summary>A request as the lifecycle hands it to a sync target.</summary>
    public static IntegrationRequest Request(
        CompiledRoute route,
        string method = "POST",
        string path = "/v1/devices/dev-7/events",
        string query = "",
        byte[]? body = null,
        (string Name, string Value)[]? headers = null,
        IReadOnlyDictionary<string, string>? pathParameters = null,
        bool isBinary = false,
        string? apiKeyId = null,
        string? principal = null,
        IReadOnlyDictionary<string, string>? authorizerContext = null,
        Guid? requestId = null,
        CancellationToken requestAborted = default)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = method;
        http.Request.Scheme = "http";
        http.Request.Host = new HostString("api.example.com");
        http.Request.Path = path;
        http.Request.QueryString = new QueryString(query);
        http.Request.Protocol = "HTTP/1.1";
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = path + query;
        http.Connection.RemoteIpAddress = IPAddress.Parse("192.0.2.10");
        http.Connection.LocalPort = 8080;
        http.RequestAborted = requestAborted;
        foreach (var (name, value) in headers ?? [])
        {
            http.Request.Headers.Append(name, value);
        }
        return IntegrationRequests.For(
            route,
            http,
            pathParameters ?? new Dictionary<string, string> { ["id"] = "dev-7" },
            RequestTime,
            body ?? [],
            isBinary,
            requestId: requestId ?? Guid.CreateVersion7(RequestTime),
            clientIp: IPAddress.Parse("198.51.100.7"),
            apiKeyId: apiKeyId,
            principal: principal,
            authorizerContext: authorizerContext);
    }
}
