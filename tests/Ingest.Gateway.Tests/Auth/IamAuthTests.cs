using System.Net;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Infrastructure;
using Ingest.Gateway.Tests.Requests;
using Microsoft.Extensions.Time.Testing;
using static Ingest.Gateway.Tests.Auth.AuthGateway;

namespace Ingest.Gateway.Tests.Auth;

/// <summary><c>auth: iam</c> end to end, with requests signed by AWSSDK.Core's own SigV4 signer.</summary>
public class IamAuthTests
{
    private const string AccessKeyId = "AKIDEXAMPLE";
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    private static readonly string Config = $$"""
        iamKeys: [{ accessKeyId: {{AccessKeyId}}, secretAccessKey: "{{Secret}}" }]
        routes:
          - { route: POST /v1/events, target: sink, auth: [iam] }
          - { route: "POST /v1/devices/{id}/events", target: sink, auth: [iam] }
        """;

    private static HttpClient SdkClient(TestGateway gateway, string secret = Secret, DateTime? signedAt = null) =>
        new(new SigV4SigningHandler(
            new AWSSigV4Parameters
            {
                Credentials = new BasicAWSCredentials(AccessKeyId, secret),
                Region = RegionEndpoint.USEast1,
                Service = "execute-api",
                SignedAt = signedAt,
            },
            new SocketsHttpHandler()))
        { BaseAddress = gateway.Client.BaseAddress };

    [Theory]
    [InlineData("/v1/events")]
    [InlineData("/v1/devices/dev%20one/events")]
    [InlineData("/v1/devices/a+b~c/events?b=2&a=1&a=0")]
    public async Task Request_signed_by_the_aws_sdk_is_accepted_with_the_access_key_as_principal(string path)
    {
        await using var gateway = await StartAsync(Config);
        using var client = SdkClient(gateway);

        var response = await client.PostAsync(path, Json("""{"temp":21}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, Secret, "Signature=");
        Assert.Equal(AccessKeyId, Field(log, "principal"));
    }

    [Theory]
    [InlineData("", HttpStatusCode.Accepted)]
    [InlineData("{\"temp\":23}", HttpStatusCode.Forbidden)]
    public async Task Presigned_url_from_the_aws_sdk_covers_the_empty_body_it_was_signed_with(string body, HttpStatusCode expected)
    {
        await using var gateway = await StartAsync(Config);
        var url = new Uri(gateway.Client.BaseAddress!, "/v1/events?source=test");
        var presigned = AWSSigV4Signer.Presign(
            new AWSSigningRequest { HttpMethod = HttpMethod.Post, RequestUri = url },
            new AWSSigV4Parameters { Credentials = new BasicAWSCredentials(AccessKeyId, Secret), Region = RegionEndpoint.USEast1, Service = "execute-api" },
            TimeSpan.FromMinutes(5));
        Assert.Contains("X-Amz-Signature=", presigned.Uri.Query, StringComparison.Ordinal);

        var response = await gateway.Client.PostAsync(presigned.Uri, Json(body));

        Assert.Equal(expected, response.StatusCode);
        var log = await LogLineAsync(gateway, 0, Secret);
        Assert.Equal(expected == HttpStatusCode.Accepted ? AccessKeyId : null, Field(log, "principal"));
    }

    [Fact]
    public async Task Unsigned_request_is_403_missing_authentication_token()
    {
        await using var gateway = await StartAsync(Config);

        var response = await gateway.Client.PostAsync("/v1/events", Json("{}"));

        await StatusCodeTests.AssertError(response, 403, "Missing Authentication Token");
    }

    [Fact]
    public async Task Wrong_secret_is_403_signature_mismatch()
    {
        await using var gateway = await StartAsync(Config);
        using var client = SdkClient(gateway, secret: "not-the-secret-at-all");

        var response = await client.PostAsync("/v1/events", Json("{}"));

        await StatusCodeTests.AssertError(response, 403, "The request signature we calculated does not match the signature you provided.");
    }

    [Fact]
    public async Task Old_signature_is_403_signature_expired()
    {
        // The gateway's clock is 10 minutes ahead of the signer's.
        var signedAt = DateTime.UtcNow;
        await using var gateway = await StartAsync(Config, new GatewayOptions { TimeProvider = new FakeTimeProvider(signedAt.AddMinutes(10)) });
        using var client = SdkClient(gateway, signedAt: signedAt);

        var response = await client.PostAsync("/v1/events", Json("{}"));

        await StatusCodeTests.AssertError(response, 403, "Signature expired");
    }

    [Fact]
    public async Task Clock_skew_is_configurable()
    {
        var signedAt = DateTime.UtcNow;
        await using var gateway = await StartAsync(Config + "\niam: { clockSkew: 15m }", new GatewayOptions { TimeProvider = new FakeTimeProvider(signedAt.AddMinutes(10)) });
        using var client = SdkClient(gateway, signedAt: signedAt);

        var response = await client.PostAsync("/v1/events", Json("{}"));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }
}
