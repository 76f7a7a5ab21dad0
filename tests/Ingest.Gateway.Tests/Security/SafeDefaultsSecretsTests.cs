using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Ingest.Gateway.Tests.Tls;
using Ingest.TestSupport.Processes;
using Ingest.TestSupport.Tls;

namespace Ingest.Gateway.Tests.Security;

/// <summary>
/// Secrets written as <c>${VAR}</c> and <c>${file:PATH}</c> (admin token, AWS and IAM secrets, HMAC
/// device secret, certificate password) never appear in what <c>ingest validate</c>,
/// <c>ingest routes</c> and <c>ingest serve</c> print, in the access log or in admin answers, even
/// when requests carry them and the file has errors. Runs the real <c>ingest</c> binary four times; about 10 s.
/// </summary>
public sealed class SafeDefaultsSecretsTests : IDisposable
{
    private readonly TestCertificates _ca = new();
    private readonly string _adminToken = "admin-token-" + Guid.NewGuid().ToString("N");
    private readonly string _awsSecret = "aws-secret-" + Guid.NewGuid().ToString("N");
    private readonly string _iamSecret = "iam-secret-" + Guid.NewGuid().ToString("N");
    private readonly string _hmacSecret = "hmac-secret-" + Guid.NewGuid().ToString("N");
    private readonly string _pfxPassword = "pfx-password-" + Guid.NewGuid().ToString("N");

    public void Dispose() => _ca.Dispose();

    private string[] Secrets => [_adminToken, _awsSecret, _iamSecret, _hmacSecret, _pfxPassword];

    private Dictionary<string, string> Environment(string? pfxPassword = null) => new()
    {
        ["INGEST_TEST_ADMIN_TOKEN"] = _adminToken,
        ["INGEST_TEST_AWS_SECRET"] = _awsSecret,
        ["INGEST_TEST_IAM_SECRET"] = _iamSecret,
        ["INGEST_TEST_PFX_PASSWORD"] = pfxPassword ?? _pfxPassword,
    };

    /// <summary>A gateway configuration in its own folder with every kind of secret.</summary>
    private (string Directory, string Yaml, int Port, int TlsPort, int AdminPort) Configuration(string hmacSecret, string iamKeyId = "AKIDEXAMPLE")
    {
        var directory = Path.Combine(_ca.Directory, Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        using var certificate = _ca.Issue(["api.example.test"]);
        File.Copy(_ca.WritePfx(certificate, "api", _pfxPassword), Path.Combine(directory, "api.pfx"));
        File.WriteAllText(Path.Combine(directory, "hmac-secret"), hmacSecret + "\n");
        var (port, tlsPort, adminPort) = (GatewayProcess.FreePort(), GatewayProcess.FreePort(), GatewayProcess.FreePort());
        var yaml = $$"""
            listen:
              - { address: "127.0.0.1:{{port}}", protocols: http1 }
              - { address: "127.0.0.1:{{tlsPort}}", tls: { certificates: [{ host: api.example.test, pfx: ./api.pfx, password: "${INGEST_TEST_PFX_PASSWORD}" }] } }
            admin: { listen: "127.0.0.1:{{adminPort}}", token: "${INGEST_TEST_ADMIN_TOKEN}" }
            accessLog: { path: ./access.log }
            aws: { region: us-east-1, accessKeyId: AKIDTEST, secretAccessKey: "${INGEST_TEST_AWS_SECRET}" }
            iamKeys: [{ accessKeyId: {{iamKeyId}}, secretAccessKey: "${INGEST_TEST_IAM_SECRET}" }]
            hmacKeys: [{ id: device-42, secret: "${file:./hmac-secret}" }]
            targets: { sink: { type: blackhole } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
              - { route: POST /v1/signed, target: sink, auth: [iam] }
              - { route: POST /v1/device, target: sink, auth: [hmac] }
            """;
        File.WriteAllText(Path.Combine(directory, "ingest.yaml"), yaml);
        return (directory, yaml, port, tlsPort, adminPort);
    }

    private void AssertNoSecret(string what, string text)
    {
        foreach (var secret in Secrets)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"{what} printed a secret:\n{text}");
        }
    }

    [Fact]
    public async Task Validate_and_routes_print_no_secret_for_a_good_or_a_bad_file()
    {
        var good = Configuration(_hmacSecret);
        var validate = await RunAsync(good.Directory, Environment(), "validate");
        var routes = await RunAsync(good.Directory, Environment(), "routes");
        Assert.True(validate.Exit == 0, validate.Output);
        Assert.Contains("OK: 3 routes", validate.Output, StringComparison.Ordinal);
        Assert.True(routes.Exit == 0, routes.Output);
        Assert.Contains("POST /v1/signed", routes.Output, StringComparison.Ordinal);

        // Errors right next to the secrets: a wrong certificate password, a short HMAC secret, a bad key id.
        var bad = Configuration("short-" + _hmacSecret[..8], iamKeyId: "bad/id");
        var refused = await RunAsync(bad.Directory, Environment(pfxPassword: "wrong-" + _pfxPassword), "validate");
        Assert.Equal(1, refused.Exit);
        Assert.Contains("listen[1].tls.certificates[0] (api.example.test): cannot read the certificate", refused.Output, StringComparison.Ordinal);
        Assert.Contains("hmacKeys[0]", refused.Output, StringComparison.Ordinal);
        Assert.Contains("iamKeys[0]", refused.Output, StringComparison.Ordinal);

        AssertNoSecret("ingest validate", validate.Output);
        AssertNoSecret("ingest routes", routes.Output);
        AssertNoSecret("ingest validate (errors)", refused.Output);
        Assert.DoesNotContain("short-" + _hmacSecret[..8], refused.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-" + _pfxPassword, refused.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_logs_and_the_access_log_show_no_secret_even_when_requests_carry_them()
    {
        var (directory, yaml, port, tlsPort, adminPort) = Configuration(_hmacSecret);
        await using var gateway = await GatewayProcess.StartAsync(yaml, new Uri($"http://127.0.0.1:{adminPort}/readyz"), directory, Environment());
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        using var admin = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{adminPort}") };
        using var secure = TlsGateway.Client("api.example.test", tlsPort, _ca.Root);

        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = new StringContent("{}", null, "application/json") })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
            request.Headers.Add("x-api-key", _iamSecret);
            request.Headers.Add("x-request-id", "client-id-1");
            using var response = await plain.SendAsync(request);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        using (var response = await plain.PostAsync("/v1/signed", new StringContent("{}", null, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/v1/device") { Content = new StringContent("{}", null, "application/json") })
        {
            request.Headers.TryAddWithoutValidation("Authorization", $"HMAC device-42:{_hmacSecret}");
            using var response = await plain.SendAsync(request);
            Assert.True((int)response.StatusCode is 401 or 403, response.StatusCode.ToString());
        }
        using (var response = await secure.PostAsync("v1/events", new StringContent("{}", null, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/admin/routes"))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken + "-wrong");
            using var response = await admin.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
        var adminAnswers = await admin.GetStringAsync("/admin/routes") + await admin.GetStringAsync("/admin/deployment") + await admin.GetStringAsync("/status/data");

        gateway.Terminate();
        Assert.True(await gateway.WaitForExitAsync(TimeSpan.FromSeconds(30)), "gateway exits on SIGTERM");
        var accessLog = await File.ReadAllTextAsync(Path.Combine(directory, "access.log"));
        Assert.Contains("client-id-1", accessLog, StringComparison.Ordinal);
        Assert.Contains("\"status\":403", accessLog, StringComparison.Ordinal);
        Assert.Contains("Serving 3 routes", gateway.RecentOutput, StringComparison.Ordinal);
        AssertNoSecret("ingest serve output", gateway.RecentOutput);
        AssertNoSecret("the access log", accessLog);
        AssertNoSecret("the admin API", adminAnswers);
    }

    /// <summary>Runs <c>ingest VERB --config ingest.yaml</c> in <paramref name="directory"/>; stdout and stderr together.</summary>
    private static async Task<(int Exit, string Output)> RunAsync(string directory, Dictionary<string, string> environment, string verb)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "ingest.dll"));
        info.ArgumentList.Add(verb);
        info.ArgumentList.Add("--config");
        info.ArgumentList.Add(Path.Combine(directory, "ingest.yaml"));
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output + await error);
    }
}
