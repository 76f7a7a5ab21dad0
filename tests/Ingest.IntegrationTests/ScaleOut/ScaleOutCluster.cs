using System.Globalization;
using System.Net;
using Ingest.TestSupport.Processes;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// Two gateway processes on loopback behind nginx, sharing the Redis stand-in (under a key prefix
/// of their own) and the SQS stand-in, as a two-instance deployment would run.
/// </summary>
internal sealed class ScaleOutCluster : IAsyncDisposable
{
    public const string SqsEndpoint = "http://127.0.0.1:4566";
    public const string RedisEndpoint = "127.0.0.1:6390";

    private ScaleOutCluster(GatewayProcess[] gateways, IPEndPoint[] admins, NginxProcess nginx)
    {
        Gateways = gateways;
        Admins = admins;
        Nginx = nginx;
    }

    public IReadOnlyList<GatewayProcess> Gateways { get; }

    /// <summary>Admin port of each gateway, in the order of <see cref="Gateways"/>.</summary>
    public IReadOnlyList<IPEndPoint> Admins { get; }

    public NginxProcess Nginx { get; }

    /// <summary>
    /// Starts both gateways with <paramref name="targetsAndRoutesYaml"/> (plus listeners, SQS and
    /// Redis settings), waits until both are ready, then starts nginx in front of them.
    /// </summary>
    public static async Task<ScaleOutCluster> StartAsync(string targetsAndRoutesYaml)
    {
        var redisPrefix = $"scaleout-{Guid.NewGuid():N}:";
        var publics = new[] { Loopback(GatewayProcess.FreePort()), Loopback(GatewayProcess.FreePort()) };
        var admins = new[] { Loopback(GatewayProcess.FreePort()), Loopback(GatewayProcess.FreePort()) };
        var starts = Enumerable.Range(0, 2).Select(i => GatewayProcess.StartAsync(
            Config(publics[i], admins[i], redisPrefix, targetsAndRoutesYaml),
            new Uri($"http://{admins[i]}/readyz"))).ToArray();
        GatewayProcess[] gateways;
        try
        {
            gateways = await Task.WhenAll(starts);
        }
        catch
        {
            foreach (var start in starts.Where(s => s.IsCompletedSuccessfully))
            {
                await start.Result.DisposeAsync();
            }
            throw;
        }
        try
        {
            var nginx = await NginxProcess.StartAsync(publics[0], publics[1]);
            return new ScaleOutCluster(gateways, admins, nginx);
        }
        catch
        {
            foreach (var gateway in gateways)
            {
                await gateway.DisposeAsync();
            }
            throw;
        }
    }

    private static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    private static string Config(IPEndPoint listen, IPEndPoint admin, string redisPrefix, string targetsAndRoutesYaml) => $$"""
        listen: [{ address: "{{listen}}", protocols: http1 }]
        admin: { listen: "{{admin}}" }
        accessLog: { path: off }
        trustedProxies: [127.0.0.1]
        aws:
          region: us-east-1
          accessKeyId: test
          secretAccessKey: test
          endpoints: { sqs: "{{SqsEndpoint}}" }
          createMissing: true
        # A generous timeout: these tests measure sharing, not the per-instance fallback.
        redis: { endpoint: "{{RedisEndpoint}}", keyPrefix: "{{redisPrefix}}", timeout: 2s }
        {{targetsAndRoutesYaml}}
        """;

    /// <summary>The sum of one counter (all label sets) on gateway <paramref name="index"/>'s /metrics.</summary>
    public async Task<double> CounterAsync(int index, string name)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var text = await http.GetStringAsync(new Uri($"http://{Admins[index]}/metrics"));
        return text.Split('\n')
            .Where(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal))
            .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
    }

    public async ValueTask DisposeAsync()
    {
        await Nginx.DisposeAsync();
        foreach (var gateway in Gateways)
        {
            await gateway.DisposeAsync();
            try
            {
                Directory.Delete(gateway.Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
