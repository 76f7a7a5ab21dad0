using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Ingest.Gateway.Tests.Admin;

/// <summary>
/// A real gateway on free loopback ports with an admin token, an access-log file and captured log
/// lines: what the admin API, metrics, status page and CLI tests run against.
/// </summary>
internal sealed class ConsoleGateway : IAsyncDisposable
{
    public const string Token = "test-admin-token-0123456789";

    private ConsoleGateway(WebApplication app, IngestConfig config, string accessLogPath, CapturedLogs logs)
    {
        App = app;
        Config = config;
        AccessLogPath = accessLogPath;
        Logs = logs;
        var endpoints = app.Services.GetRequiredService<GatewayEndpoints>();
        Client = new HttpClient { BaseAddress = new Uri($"http://{endpoints.PublicEndPoints[0]}") };
        AdminBase = new Uri($"http://{endpoints.AdminEndPoint}");
        Admin = new HttpClient { BaseAddress = AdminBase };
        Admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Anonymous = new HttpClient { BaseAddress = AdminBase };
    }

    public WebApplication App { get; }

    public IngestConfig Config { get; }

    /// <summary>Public listener.</summary>
    public HttpClient Client { get; }

    /// <summary>Admin port with the token.</summary>
    public HttpClient Admin { get; }

    /// <summary>Admin port without a token.</summary>
    public HttpClient Anonymous { get; }

    public Uri AdminBase { get; }

    public string AccessLogPath { get; }

    public CapturedLogs Logs { get; }

    /// <summary>Starts a gateway; <paramref name="yaml"/> holds everything but listeners, admin and the access log.</summary>
    public static async Task<ConsoleGateway> StartAsync(string yaml, GatewayOptions? options = null, string? token = Token, string accessLogExtra = "")
    {
        var accessLog = Path.Combine(Path.GetTempPath(), $"ingest-console-{Guid.NewGuid():N}.log");
        var tokenYaml = token is null ? "" : $", token: \"{token}\"";
        var config = ConfigLoader.Load($$"""
            listen: [{ address: "127.0.0.1:0", protocols: http1 }]
            admin: { listen: "127.0.0.1:0"{{tokenYaml}} }
            accessLog: { path: "{{accessLog}}"{{accessLogExtra}} }
            """ + "\n" + yaml);
        options ??= new GatewayOptions();
        var logs = new CapturedLogs();
        var configure = options.ConfigureServices;
        options.ConfigureServices = services =>
        {
            configure?.Invoke(services);
            services.AddSingleton<ILoggerProvider>(logs);
        };
        var app = GatewayHost.Build(config, options);
        await app.StartAsync();
        return new ConsoleGateway(app, config, accessLog, logs);
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string body) =>
        Client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

    /// <summary>Access-log lines, waiting (bounded) until at least <paramref name="count"/> are there.</summary>
    public async Task<string[]> AccessLogLinesAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            string[] lines = [];
            if (File.Exists(AccessLogPath))
            {
                await using var stream = new FileStream(AccessLogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            }
            if (lines.Length >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }
            await Task.Delay(20);
        }
    }

    /// <summary>The Prometheus scrape of the admin port.</summary>
    public async Task<PrometheusText> ScrapeAsync()
    {
        var text = await Anonymous.GetStringAsync("/metrics");
        return new PrometheusText(text);
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds (the exporter caches a scrape briefly), bounded.</summary>
    public async Task<PrometheusText> ScrapeUntilAsync(Func<PrometheusText, bool> condition, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var scrape = await ScrapeAsync();
            if (condition(scrape) || DateTime.UtcNow > deadline)
            {
                return scrape;
            }
            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        Admin.Dispose();
        Anonymous.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        File.Delete(AccessLogPath);
        File.Delete(AccessLogPath + ".1");
    }
}

/// <summary>Log lines written through the gateway's loggers, by category.</summary>
internal sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, LogLevel Level, string Message)> _lines = new();

    public IReadOnlyList<(string Category, LogLevel Level, string Message)> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<(string, LogLevel, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue((category, logLevel, formatter(state, exception)));
    }
}

/// <summary>A parsed Prometheus text exposition: samples by name and labels.</summary>
internal sealed class PrometheusText
{
    public PrometheusText(string text)
    {
        Text = text;
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            string name;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string rest;
            if (brace >= 0 && brace < space)
            {
                name = line[..brace];
                var close = line.IndexOf("} ", brace, StringComparison.Ordinal);
                ParseLabels(line[(brace + 1)..close], labels);
                rest = line[(close + 2)..];
            }
            else
            {
                name = line[..space];
                rest = line[(space + 1)..];
            }
            var value = double.Parse(rest.Split(' ')[0], NumberStyles.Float, CultureInfo.InvariantCulture);
            Samples.Add((name, labels, value));
        }
    }

    public string Text { get; }

    public List<(string Name, Dictionary<string, string> Labels, double Value)> Samples { get; } = [];

    public bool Has(string name) => Samples.Exists(s => s.Name == name);

    /// <summary>Sum of the samples of <paramref name="name"/> whose labels include all of <paramref name="labels"/>.</summary>
    public double Sum(string name, params (string Key, string Value)[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);

    private static void ParseLabels(string text, Dictionary<string, string> labels)
    {
        var i = 0;
        while (i < text.Length)
        {
            var equals = text.IndexOf('=', i);
            var key = text[i..equals].Trim(',', ' ');
            var value = new StringBuilder();
            var j = equals + 2;
            for (; j < text.Length && text[j] != '"'; j++)
            {
                if (text[j] == '\\' && j + 1 < text.Length)
                {
                    j++;
                    value.Append(text[j] == 'n' ? '\n' : text[j]);
                }
                else
                {
                    value.Append(text[j]);
                }
            }
            labels[key] = value.ToString();
            i = j + 1;
        }
    }
}
