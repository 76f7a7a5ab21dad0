using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ingest.TestSupport.Processes;

/// <summary>
/// The gateway as users run it: <c>ingest serve --config FILE</c> in a child process, so tests can
/// kill it (<c>kill -9</c>), send SIGTERM, restart it on the same data directory and sample its RSS.
/// The process is the native executable named by <c>INGEST_GATEWAY_EXE</c> (scripts/test.sh
/// publishes it with scripts/publish-native.sh and sets it), else <c>dotnet ingest.dll</c>: the
/// test project must reference Ingest.Gateway so <c>ingest.dll</c> sits next to the tests.
/// </summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private const int SigTerm = 15;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private GatewayProcess(Process process, string directory, string configPath)
    {
        _process = process;
        Directory = directory;
        ConfigPath = configPath;
    }

    /// <summary>Working directory of the process (relative paths in the config resolve here).</summary>
    public string Directory { get; }

    /// <summary>The config file the process was started with.</summary>
    public string ConfigPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>The last lines the process printed (stdout and stderr), for failure messages.</summary>
    public string RecentOutput => string.Join('\n', _output);

    /// <summary>The native gateway executable the tests run (<c>INGEST_GATEWAY_EXE</c>), or null for <c>dotnet ingest.dll</c>.</summary>
    public static string? NativeExecutable { get; } = Environment.GetEnvironmentVariable("INGEST_GATEWAY_EXE") is { Length: > 0 } path
        ? (File.Exists(path) ? path : throw new FileNotFoundException($"INGEST_GATEWAY_EXE names no file: {path}"))
        : null;

    /// <summary>
    /// A TCP port free on loopback right now, below the kernel's ephemeral range (32768 and up):
    /// outgoing connections of tests running meanwhile take their local ports from that range and
    /// could take this one before the gateway binds it.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; ; attempt++)
        {
            var port = Random.Shared.Next(20000, 32000);
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (SocketException) when (attempt < 100)
            {
            }
        }
    }

    /// <summary>
    /// Writes <paramref name="yaml"/> to <c>ingest.yaml</c> in <paramref name="directory"/> (a new temporary
    /// directory when null), starts the gateway there and waits until <paramref name="readyUrl"/>
    /// (usually the admin <c>/readyz</c>) answers 200.
    /// </summary>
    public static async Task<GatewayProcess> StartAsync(
        string yaml,
        Uri readyUrl,
        string? directory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        TimeSpan? readyTimeout = null)
    {
        directory ??= System.IO.Directory.CreateTempSubdirectory("ingest-gw-").FullName;
        var configPath = Path.Combine(directory, "ingest.yaml");
        await File.WriteAllTextAsync(configPath, yaml);
        var info = new ProcessStartInfo(NativeExecutable ?? "dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (NativeExecutable is null)
        {
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ingest.dll"));
        }
        info.ArgumentList.Add("serve");
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(configPath);
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        var gateway = new GatewayProcess(process, directory, configPath);
        process.OutputDataReceived += (_, e) => gateway.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => gateway.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await gateway.WaitUntilReadyAsync(readyUrl, readyTimeout ?? TimeSpan.FromSeconds(60));
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
        return gateway;
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        _output.Enqueue(line);
        while (_output.Count > 200 && _output.TryDequeue(out _))
        {
        }
    }

    private async Task WaitUntilReadyAsync(Uri readyUrl, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"gateway exited with {_process.ExitCode} before it was ready:\n{RecentOutput}");
            }
            try
            {
                using var response = await http.GetAsync(readyUrl);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"gateway not ready at {readyUrl} within {timeout}:\n{RecentOutput}");
    }

    /// <summary><c>kill -9</c>: no drain, no flush; waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }
        await _process.WaitForExitAsync();
    }

    /// <summary>Sends SIGTERM (graceful drain) without waiting.</summary>
    public void Terminate()
    {
        if (!_process.HasExited && Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill -TERM {_process.Id} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>Waits for the process to exit; false when it is still running after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Resident set size now, from <c>/proc/PID/status</c>; 0 once the process is gone.</summary>
    public long RssBytes()
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    var kb = line["VmRSS:".Length..].Trim().Split(' ')[0];
                    return long.Parse(kb, System.Globalization.CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
        }
        return 0;
    }

    /// <summary>
    /// Samples RSS once per <paramref name="interval"/> (one second in the outage and hostile-traffic
    /// tests) until <paramref name="cancellationToken"/> fires; returns every sample.
    /// </summary>
    public async Task<IReadOnlyList<long>> SampleRssAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        var samples = new List<long>();
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                samples.Add(RssBytes());
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException)
        {
        }
        return samples;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }
        _process.Dispose();
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
