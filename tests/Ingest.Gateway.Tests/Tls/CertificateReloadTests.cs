using System.Collections.Concurrent;
using System.Net;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.TestSupport.Tls;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Gateway.Tests.Tls;

/// <summary>
/// Certificate files replaced while the gateway runs: the new certificate is served without a
/// restart; a bad or half-written new file keeps the old certificate and logs why. The reload
/// interval runs on a FakeTimeProvider; each check is then polled with a 10 s deadline. About 1 s.
/// </summary>
public sealed class CertificateReloadTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private readonly TestCertificates _ca = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly CapturedLogs _logs = new();

    public void Dispose() => _ca.Dispose();

    [Fact]
    public async Task A_renewed_certificate_is_served_without_restart_and_a_bad_file_keeps_the_old_one()
    {
        using var first = _ca.Issue(["api.example.test"]);
        var (pem, key) = _ca.WritePem(first, "api");
        await using var gateway = await TlsGateway.StartAsync($$"""
            listen:
              - { address: "127.0.0.1:0", tls: { reloadInterval: 5s, certificates: [{ host: api.example.test, pem: "{{pem}}", key: "{{key}}" }] } }
            """, new GatewayOptions { TimeProvider = _time, ConfigureServices = s => s.AddSingleton<ILoggerProvider>(_logs) });
        var port = gateway.Port();
        using var client = TlsGateway.Client("api.example.test", port, _ca.Root, HttpVersion.Version20);
        Assert.Equal(first.Thumbprint, await ServedAsync(port));

        // Renewal: both files replaced.
        using var renewed = _ca.Issue(["api.example.test"]);
        TestCertificates.WritePem(renewed, pem, key);
        _time.Advance(TimeSpan.FromSeconds(5));
        await UntilServedAsync(port, renewed.Thumbprint);
        using (var response = await client.PostAsync("v1/events", new StringContent("{}", null, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        // A broken certificate file: the renewed certificate stays, and the log says why.
        await File.WriteAllTextAsync(pem, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
        _time.Advance(TimeSpan.FromSeconds(5));
        await Poll.UntilAsync(() => _logs.Contains("cannot be used, still serving the previous certificates"), Deadline);
        Assert.Equal(renewed.Thumbprint, await ServedAsync(port));

        // Half-way through the next renewal: new certificate, old key. Still the previous one.
        using var next = _ca.Issue(["api.example.test"]);
        var (nextPem, nextKey) = _ca.WritePem(next, "next");
        File.Copy(nextPem, pem, overwrite: true);
        _time.Advance(TimeSpan.FromSeconds(5));
        await Poll.UntilAsync(() => _logs.Count("cannot be used") >= 2, Deadline);
        Assert.Equal(renewed.Thumbprint, await ServedAsync(port));

        // The key arrives: served.
        File.Copy(nextKey, key, overwrite: true);
        _time.Advance(TimeSpan.FromSeconds(5));
        await UntilServedAsync(port, next.Thumbprint);
        Assert.Equal(2, gateway.Tls.Certificates[0].Reloads);
        Assert.True(_logs.Contains("now serving api.example.test"));
        using (var response = await client.PostAsync("v1/events", new StringContent("{}", null, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
    }

    [Fact]
    public async Task Files_are_not_read_again_before_the_interval()
    {
        using var first = _ca.Issue(["api.example.test"]);
        var (pem, key) = _ca.WritePem(first, "api");
        await using var gateway = await TlsGateway.StartAsync($$"""
            listen:
              - { address: "127.0.0.1:0", tls: { reloadInterval: 1m, certificates: [{ host: api.example.test, pem: "{{pem}}", key: "{{key}}" }] } }
            """, new GatewayOptions { TimeProvider = _time });
        using var renewed = _ca.Issue(["api.example.test"]);
        TestCertificates.WritePem(renewed, pem, key);

        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(first.Thumbprint, await ServedAsync(gateway.Port()));
        Assert.Equal(0, gateway.Tls.Certificates[0].Reloads);

        _time.Advance(TimeSpan.FromSeconds(1));
        await UntilServedAsync(gateway.Port(), renewed.Thumbprint);
    }

    private static async Task<string> ServedAsync(int port)
    {
        using var certificate = await TlsGateway.PresentedCertificateAsync(port, "api.example.test");
        return certificate.Thumbprint;
    }

    private static async Task UntilServedAsync(int port, string thumbprint)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (await ServedAsync(port) != thumbprint)
        {
            Assert.True(DateTime.UtcNow < deadline, $"certificate {thumbprint} not served within {Deadline}");
            await Task.Delay(20);
        }
    }

    /// <summary>Log lines of the gateway, kept for assertions.</summary>
    private sealed class CapturedLogs : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public bool Contains(string text) => _lines.Any(l => l.Contains(text, StringComparison.Ordinal));

        public int Count(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue($"{logLevel}: {formatter(state, exception)}");
        }
    }
}
