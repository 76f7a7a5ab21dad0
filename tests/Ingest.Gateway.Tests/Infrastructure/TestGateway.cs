using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Infrastructure;

/// <summary>A real gateway on free loopback ports, built from YAML.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(WebApplication app, string accessLogPath)
    {
        App = app;
        AccessLogPath = accessLogPath;
        var endpoints = app.Services.GetRequiredService<GatewayEndpoints>();
        Client = new HttpClient { BaseAddress = new Uri($"http://{endpoints.PublicEndPoints[0]}") };
        Admin = new HttpClient { BaseAddress = new Uri($"http://{endpoints.AdminEndPoint}") };
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public HttpClient Admin { get; }

    public string AccessLogPath { get; }

    /// <summary>Starts a gateway; <paramref name="yaml"/> holds everything but listeners and the access log.</summary>
    public static async Task<TestGateway> StartAsync(string yaml, GatewayOptions? options = null)
    {
        var accessLog = Path.Combine(Path.GetTempPath(), $"ingest-access-{Guid.NewGuid():N}.log");
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0" }
            accessLog: { path: "{{accessLog}}" }
            """ + "\n" + yaml);
        var app = GatewayHost.Build(config, options);
        await app.StartAsync();
        return new TestGateway(app, accessLog);
    }

    /// <summary>Access-log lines written so far, waiting until at least <paramref name="count"/> are there.</summary>
    public async Task<string[]> AccessLogLinesAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var lines = File.Exists(AccessLogPath) ? (await ReadSharedAsync(AccessLogPath)).Split('\n', StringSplitOptions.RemoveEmptyEntries) : [];
            if (lines.Length >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }
            await Task.Delay(20);
        }
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        File.Delete(AccessLogPath);
    }
}
