using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Tests.Deployments;

/// <summary>
/// A real gateway started from a configuration file in its own temporary folder (deployments,
/// access log), with the recording target kind, an admin token and helpers to deploy.
/// </summary>
internal sealed class DeploymentGateway : IAsyncDisposable
{
    public const string Token = "deploy-test-token";

    private readonly bool _ownsFolder;

    private DeploymentGateway(WebApplication app, string folder, string configFile, RecordingTargetKind backend, bool ownsFolder)
    {
        _ownsFolder = ownsFolder;
        App = app;
        Folder = folder;
        ConfigFile = configFile;
        Backend = backend;
        var endpoints = app.Services.GetRequiredService<GatewayEndpoints>();
        Client = new HttpClient { BaseAddress = new Uri($"http://{endpoints.PublicEndPoints[0]}") };
        Admin = new HttpClient { BaseAddress = new Uri($"http://{endpoints.AdminEndPoint}") };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public WebApplication App { get; }

    public string Folder { get; }

    public string ConfigFile { get; }

    public RecordingTargetKind Backend { get; }

    public HttpClient Client { get; }

    public HttpClient Admin { get; }

    public GatewayRuntime Runtime => App.Services.GetRequiredService<GatewayRuntime>();

    public string AccessLogPath => Path.Combine(Folder, "access.log");

    /// <summary>The settings every file of a test shares (listeners, admin, access log, deployments) plus <paramref name="body"/>.</summary>
    public static string File(string folder, string body) => $$"""
        listen: [{ address: "127.0.0.1:0", protocols: http1 }]
        admin: { listen: "127.0.0.1:0", token: "{{Token}}" }
        accessLog: { path: "{{Path.Combine(folder, "access.log")}}" }
        deployments: { path: "{{Path.Combine(folder, "deployments")}}", watchDebounce: 100ms }
        """ + "\n" + body;

    /// <summary>Starts a gateway from the file made of <paramref name="body"/>, in <paramref name="folder"/> (kept) or a new temporary one (deleted on dispose).</summary>
    public static async Task<DeploymentGateway> StartAsync(string body, string? folder = null)
    {
        var ownsFolder = folder is null;
        folder ??= Directory.CreateTempSubdirectory("ingest-deploy-").FullName;
        var configFile = Path.Combine(folder, "ingest.yaml");
        await System.IO.File.WriteAllTextAsync(configFile, File(folder, body));
        var backend = new RecordingTargetKind();
        var config = ConfigLoader.LoadFile(configFile);
        var app = GatewayHost.Build(config, new GatewayOptions
        {
            ConfigFile = configFile,
            ConfigureServices = services => services.AddSingleton<ITargetKind>(backend),
        });
        await app.StartAsync();
        return new DeploymentGateway(app, folder, configFile, backend, ownsFolder);
    }

    /// <summary>POST /admin/deployments with the file made of <paramref name="body"/>.</summary>
    public Task<HttpResponseMessage> DeployAsync(string body, string? note = null) =>
        Admin.PostAsJsonAsync("/admin/deployments", new { content = File(Folder, body), note, source = ConfigFile });

    public async Task<JsonElement> DeploymentsAsync()
    {
        using var response = await Admin.GetAsync("/admin/deployments");
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
    }

    public Task<HttpResponseMessage> PostAsync(string path, string json = """{"temp":21}""", string? host = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (host is not null)
        {
            request.Headers.Host = host;
        }
        return Client.SendAsync(request);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        if (!_ownsFolder)
        {
            return;
        }
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // The access log may still be closing; the temp folder is left behind.
        }
    }
}
