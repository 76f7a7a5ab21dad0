using System.Diagnostics;
using System.Net.Sockets;
using Ingest.TestSupport.Processes;

namespace Ingest.IntegrationTests.Outage;

/// <summary>
/// A private SQS (fauxqs) or Kinesis (kinesalite) stand-in on a free loopback port, with its data
/// on disk, so a test can kill it (an outage), start it again on the same port and data, and read
/// afterwards everything it had stored. The shared stand-ins are never touched.
/// </summary>
internal sealed class PrivateStandin : IAsyncDisposable
{
    private readonly string _script;
    private Process? _process;

    private PrivateStandin(string kind, int port, string dataDirectory, string script)
    {
        Kind = kind;
        Port = port;
        DataDirectory = dataDirectory;
        _script = script;
    }

    /// <summary><c>sqs</c> or <c>kinesis</c>.</summary>
    public string Kind { get; }

    public int Port { get; }

    public string DataDirectory { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    /// <summary>
    /// fauxqs with SQLite persistence (<c>dataDir</c>). Its database would fsync every message
    /// (about 150 messages/s here); without the fsync, what it stored still survives a kill of the
    /// process, which is the outage the tests make.
    /// </summary>
    public static Task<PrivateStandin> StartSqsAsync() => StartAsync("sqs", (modules, data) => $$"""
        import { DatabaseSync } from 'node:sqlite';
        const exec = DatabaseSync.prototype.exec;
        DatabaseSync.prototype.exec = function (sql) {
          const result = exec.call(this, sql);
          if (/journal_mode/i.test(sql)) exec.call(this, 'PRAGMA synchronous = OFF');
          return result;
        };
        const { startFauxqs } = await import('{{new Uri(Path.Combine(modules, "fauxqs", "dist", "app.js")).AbsoluteUri}}');
        await startFauxqs({ port: parseInt(process.argv[2], 10), logger: false, dataDir: {{Quote(data)}} });
        console.log('ready');
        """, "fauxqs.mjs");

    /// <summary>kinesalite with LevelDB persistence (<c>path</c>).</summary>
    public static Task<PrivateStandin> StartKinesisAsync() => StartAsync("kinesis", (modules, data) => $$"""
        require({{Quote(Path.Combine(modules, "kinesalite"))}})({ path: {{Quote(data)}}, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 1000 })
          .listen(parseInt(process.argv[2], 10), '127.0.0.1', () => console.log('ready'));
        """, "kinesalite.cjs");

    private static async Task<PrivateStandin> StartAsync(string kind, Func<string, string, string> script, string scriptName)
    {
        var directory = Directory.CreateTempSubdirectory($"ingest-{kind}-").FullName;
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(data);
        var path = Path.Combine(directory, scriptName);
        await File.WriteAllTextAsync(path, script(ModulesDirectory(), data));
        var standin = new PrivateStandin(kind, GatewayProcess.FreePort(), data, path);
        await standin.StartAsync();
        return standin;
    }

    /// <summary>Starts the process (again) on the same port and data; waits until it answers (at most 30 s).</summary>
    public async Task StartAsync()
    {
        var info = new ProcessStartInfo(NodeBinary())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(_script)!,
        };
        info.ArgumentList.Add(_script);
        info.ArgumentList.Add(Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _process = Process.Start(info) ?? throw new InvalidOperationException("node did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (!await AnswersAsync())
        {
            if (_process.HasExited || deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"{Kind} stand-in on port {Port} did not come up within 30 s (run scripts/standins.sh install).");
            }
            await Task.Delay(50);
        }
    }

    /// <summary>Kills the process (as a crash or a network cut would) and waits until it is gone.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
        _process?.Dispose();
        _process = null;
    }

    private async Task<bool> AnswersAsync()
    {
        try
        {
            using var client = new TcpClient();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(500));
            await client.ConnectAsync("127.0.0.1", Port, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    /// <summary>The repository's <c>.standins/node_modules</c> (installed by scripts/standins.sh), or INGEST_STANDINS_DIR's.</summary>
    private static string ModulesDirectory()
    {
        if (Environment.GetEnvironmentVariable("INGEST_STANDINS_DIR") is { Length: > 0 } configured)
        {
            return Path.Combine(configured, "node_modules");
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var modules = Path.Combine(dir.FullName, ".standins", "node_modules");
            if (Directory.Exists(modules))
            {
                return modules;
            }
        }
        throw new InvalidOperationException(".standins/node_modules not found above the test directory; run scripts/standins.sh install.");
    }

    /// <summary>The pinned node (fauxqs needs node 22+), as scripts/standins.sh installs it.</summary>
    private static string NodeBinary() =>
        Directory.GetDirectories(ModulesDirectory(), "node-linux-*").Select(d => Path.Combine(d, "bin", "node")).FirstOrDefault(File.Exists)
        ?? throw new InvalidOperationException("the pinned node is missing from .standins; run scripts/standins.sh install.");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(Path.GetDirectoryName(_script)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
