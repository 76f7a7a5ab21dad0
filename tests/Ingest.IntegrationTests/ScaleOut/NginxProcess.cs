using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Ingest.TestSupport.Processes;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// nginx (Debian package, installed by .ci/run) as the current user, with its own prefix directory
/// under a temporary directory and a free loopback port, running the shipped
/// <c>deploy/nginx/ingest.conf</c> with its upstream addresses and listen port replaced.
/// </summary>
internal sealed class NginxProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private static readonly string[] Candidates = ["/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"];

    private readonly Process _process;

    private NginxProcess(Process process, string prefix, int port)
    {
        _process = process;
        Prefix = prefix;
        Port = port;
    }

    /// <summary>The prefix directory: nginx.conf, ingest.conf, error.log, access.log.</summary>
    public string Prefix { get; }

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    /// <summary>One line per request: <c>status upstream_addr upstream_status</c> (e.g. <c>202 a:1, b:2 503, 202</c> after a retry).</summary>
    public string AccessLogPath => Path.Combine(Prefix, "access.log");

    /// <summary>Starts nginx in front of <paramref name="upstreamA"/> and <paramref name="upstreamB"/> and waits until it accepts connections.</summary>
    public static async Task<NginxProcess> StartAsync(IPEndPoint upstreamA, IPEndPoint upstreamB)
    {
        var binary = Candidates.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("nginx is not installed: run .ci/run (it installs the Debian package nginx) or apt-get install nginx.");
        var prefix = Directory.CreateTempSubdirectory("ingest-nginx-").FullName;
        var port = GatewayProcess.FreePort();
        await File.WriteAllTextAsync(Path.Combine(prefix, "ingest.conf"), LoopbackCopy(await File.ReadAllTextAsync(ShippedConfigPath), upstreamA, upstreamB, port));
        await File.WriteAllTextAsync(Path.Combine(prefix, "nginx.conf"), MainConfig(prefix));

        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[] { "-p", prefix + "/", "-c", Path.Combine(prefix, "nginx.conf"), "-e", Path.Combine(prefix, "error.log") })
        {
            start.ArgumentList.Add(argument);
        }
        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var nginx = new NginxProcess(process, prefix, port);
        var clock = Stopwatch.StartNew();
        while (!await AcceptsAsync(port))
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                var log = File.Exists(Path.Combine(prefix, "error.log")) ? await File.ReadAllTextAsync(Path.Combine(prefix, "error.log")) : "";
                await nginx.DisposeAsync();
                throw new InvalidOperationException($"nginx did not listen on {port} within 10 s:\n{log}");
            }
            await Task.Delay(20);
        }
        return nginx;
    }

    /// <summary><c>deploy/nginx/ingest.conf</c> of this checkout.</summary>
    public static string ShippedConfigPath => Path.Combine(RepositoryRoot(), "deploy", "nginx", "ingest.conf");

    /// <summary>The shipped server block with loopback upstreams and port; fails when the lines it replaces are gone.</summary>
    internal static string LoopbackCopy(string shipped, IPEndPoint upstreamA, IPEndPoint upstreamB, int port)
    {
        string ReplaceOnce(string text, string from, string to) =>
            text.Split(from).Length == 2 ? text.Replace(from, to, StringComparison.Ordinal)
            : throw new InvalidOperationException($"{ShippedConfigPath} must contain '{from}' exactly once (the scale-out tests replace it).");
        var text = ReplaceOnce(shipped, "server gateway-a:8080", $"server {upstreamA}");
        text = ReplaceOnce(text, "server gateway-b:8080", $"server {upstreamB}");
        return ReplaceOnce(text, "listen 8080;", $"listen 127.0.0.1:{port};");
    }

    private static string MainConfig(string prefix) => $$"""
        {{(Environment.UserName == "root" ? "user root;" : "")}}
        daemon off;
        worker_processes 1;
        pid {{prefix}}/nginx.pid;
        error_log {{prefix}}/error.log warn;
        events { worker_connections 1024; }
        http {
            log_format upstreams '$status $upstream_addr $upstream_status';
            access_log {{prefix}}/access.log upstreams;
            client_body_temp_path {{prefix}}/client_body;
            proxy_temp_path {{prefix}}/proxy;
            fastcgi_temp_path {{prefix}}/fastcgi;
            uwsgi_temp_path {{prefix}}/uwsgi;
            scgi_temp_path {{prefix}}/scgi;
            include {{prefix}}/ingest.conf;
        }
        """;

    /// <summary>Requests nginx sent to a second gateway (a comma in <c>$upstream_status</c>), from the access log.</summary>
    public int RetriedRequests() =>
        File.Exists(AccessLogPath) ? File.ReadLines(AccessLogPath).Count(line => line.Contains(',', StringComparison.Ordinal)) : 0;

    /// <summary>Last lines of the error log, for failure messages.</summary>
    public string RecentErrors()
    {
        var path = Path.Combine(Prefix, "error.log");
        return File.Exists(path) ? string.Join('\n', File.ReadLines(path).TakeLast(20)) : "";
    }

    /// <summary>The checkout these tests were built from (the folder with Ingest.sln).</summary>
    internal static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Ingest.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Ingest.sln above {AppContext.BaseDirectory}");
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM to the master stops its workers too; a plain Kill would leave them running.
        if (!_process.HasExited)
        {
            _ = Kill(_process.Id, SigTerm);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }
        }
        _process.Dispose();
        try
        {
            Directory.Delete(Prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
