using System.Diagnostics.Metrics;
using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Ingest.Core.Firewall;
using Ingest.Core.Pipeline;
using Ingest.Core.Tests.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Firewall;

/// <summary>Compiles firewall rules from YAML with a fake clock and counting metrics, and runs requests through them without a server.</summary>
internal sealed class FirewallTestKit : IDisposable
{
    /// <summary>A start aligned to whole minutes, so fixed windows of 10 s begin exactly here.</summary>
    public static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly ServiceProvider _services;

    public FirewallTestKit(string yaml)
    {
        Config = ConfigLoader.Load(yaml);
        var errors = ConfigValidator.Validate(Config, new Dictionary<string, ITargetKind>());
        Assert.Empty(errors);
        _services = new ServiceCollection()
            .AddSingleton<TimeProvider>(Time)
            .AddSingleton<IMeterFactory>(Meters)
            .AddSingleton<IngestMetrics>()
            .AddIngestFirewall()
            .BuildServiceProvider();
    }

    public IngestConfig Config { get; }

    /// <summary>The long-lived services (firewall store) a redeployment would compile against.</summary>
    public IServiceProvider Services => _services;

    public FakeTimeProvider Time { get; } = new(Start);

    public TestMeterFactory Meters { get; } = new();

    /// <summary>The rules of route <paramref name="index"/>, or (-1) of requests matching no route.</summary>
    public RequestFirewall Route(int index) => RequestFirewall.Compile(Config, index < 0 ? null : Config.Routes[index], _services);

    public static HttpContext Request(string method, string target, string? body = null, string client = "192.0.2.10", params (string Name, string Value)[] headers) =>
        Request(method, target, body is null ? null : System.Text.Encoding.UTF8.GetBytes(body), client, headers);

    public static HttpContext Request(string method, string target, byte[]? body, string client, params (string Name, string Value)[] headers)
    {
        var http = new DefaultHttpContext();
        var request = http.Request;
        request.Method = method;
        var question = target.IndexOf('?', StringComparison.Ordinal);
        request.Path = PathString.FromUriComponent(question < 0 ? target : target[..question]);
        request.QueryString = question < 0 ? QueryString.Empty : new QueryString(target[question..]);
        foreach (var (name, value) in headers)
        {
            request.Headers.Append(name, value);
        }
        request.Body = new MemoryStream(body ?? []);
        request.ContentLength = body?.Length ?? 0;
        http.Connection.RemoteIpAddress = IPAddress.Parse(client);
        return http;
    }

    public static async Task<FirewallVerdict> InspectAsync(RequestFirewall firewall, HttpContext http) =>
        await firewall.InspectAsync(http, http.Connection.RemoteIpAddress);

    public void Dispose()
    {
        _services.Dispose();
        Meters.Dispose();
    }
}
