using System.Net;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;

namespace Ingest.IntegrationTests.ScaleOut;

/// <summary>
/// The container setup's files agree with each other: the compose configuration validates, and
/// the ports and addresses that the Dockerfile, docker-compose.yml and the nginx configuration
/// assume are the ones it sets. (deploy/check.sh checks their syntax offline.)
/// </summary>
public class ShippedDeploymentFilesTests
{
    private static readonly string Root = NginxProcess.RepositoryRoot();

    [Fact]
    public async Task Compose_configuration_is_valid()
    {
        var config = ConfigLoader.LoadFile(Path.Combine(Root, "config", "ingest.compose.yaml"));

        // Build validates (every error at once) without starting listeners or connecting anywhere.
        await using var app = GatewayHost.Build(config);
    }

    [Fact]
    public void Compose_configuration_matches_the_image_compose_file_and_nginx()
    {
        var config = ConfigLoader.LoadFile(Path.Combine(Root, "config", "ingest.compose.yaml"));
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile"));
        var compose = File.ReadAllText(Path.Combine(Root, "docker-compose.yml"));
        var nginx = File.ReadAllText(NginxProcess.ShippedConfigPath);

        // nginx sends to port 8080 of each replica.
        Assert.Contains(config.Listen, l => IPEndPoint.Parse(l.Address).Port == 8080);
        Assert.Contains("server gateway-a:8080", nginx, StringComparison.Ordinal);
        // The image's health check asks the admin port on loopback.
        Assert.Equal(9090, IPEndPoint.Parse(config.Admin.Listen).Port);
        Assert.Contains("http://127.0.0.1:9090/healthz", dockerfile, StringComparison.Ordinal);
        // The configuration is mounted where the image reads it.
        Assert.Contains("/etc/ingest/ingest.yaml", dockerfile, StringComparison.Ordinal);
        Assert.Contains("./config/ingest.compose.yaml:/etc/ingest/ingest.yaml", compose, StringComparison.Ordinal);
        // nginx's fixed address is the only proxy the gateways believe.
        var proxy = Assert.Single(config.TrustedProxies);
        Assert.Contains($"ipv4_address: {proxy}", compose, StringComparison.Ordinal);
        Assert.NotNull(config.Redis);
    }
}
