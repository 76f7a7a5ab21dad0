using System.Text;
using System.Text.Json;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;
using Ingest.Core.Aws;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Targets.Tests.Kinesis;

public sealed class SigV4SignerTests
{
    private static readonly DateTimeOffset VectorTime = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly ImmutableCredentials VectorCredentials = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);

    public static TheoryData<string> Vectors() => new(VectorNames());

    private static IEnumerable<string> VectorNames() =>
        Directory.GetDirectories(KinesisTestPaths.VectorsDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    [Fact]
    public void The_vector_set_covers_the_published_cases_we_rely_on()
    {
        var names = VectorNames().ToHashSet();
        Assert.Superset(
            new HashSet<string> { "get-vanilla", "post-vanilla", "post-x-www-form-urlencoded", "get-vanilla-query-order-key-case", "post-header-key-case", "get-vanilla-with-session-token" },
            names);
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Matches_the_published_test_vector(string vector)
    {
        var dir = Path.Combine(KinesisTestPaths.VectorsDirectory, vector);
        var context = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "context.json"))).RootElement;
        var credentials = context.GetProperty("credentials");
        var creds = new ImmutableCredentials(
            credentials.GetProperty("access_key_id").GetString(),
            credentials.GetProperty("secret_access_key").GetString(),
            credentials.TryGetProperty("token", out var token) ? token.GetString() : null);
        var time = new FakeTimeProvider(DateTimeOffset.Parse(context.GetProperty("timestamp").GetString()!, System.Globalization.CultureInfo.InvariantCulture));
        var signer = new SigV4Signer(context.GetProperty("region").GetString()!, context.GetProperty("service").GetString()!, time);

        var request = RawRequest.Parse(File.ReadAllBytes(Path.Combine(dir, "request.txt")));
        var payloadHash = SigV4Signer.HashHex(request.Body);
        if (context.GetProperty("sign_body").GetBoolean())
        {
            request.Headers.Add(new("x-amz-content-sha256", payloadHash));
        }

        var signature = signer.Sign(request.Method, request.Path, request.Query, request.Headers, payloadHash, creds, context.GetProperty("normalize").GetBoolean());

        Assert.Equal(File.ReadAllText(Path.Combine(dir, "header-canonical-request.txt")), signature.CanonicalRequest);
        Assert.Equal(File.ReadAllText(Path.Combine(dir, "header-string-to-sign.txt")), signature.StringToSign);
        var expectedAuthorization = File.ReadAllLines(Path.Combine(dir, "header-signed-request.txt"))
            .Single(l => l.StartsWith("Authorization:", StringComparison.Ordinal))["Authorization:".Length..];
        Assert.Equal(expectedAuthorization, signature.Authorization);
    }

    [Fact]
    public void Get_vanilla_gives_the_published_authorization_header()
    {
        var signer = new SigV4Signer("us-east-1", "service", new FakeTimeProvider(VectorTime));
        var headers = new List<KeyValuePair<string, string>> { new("Host", "example.amazonaws.com") };

        var signature = signer.Sign("GET", "/", "", headers, SigV4Signer.EmptyPayloadHash, VectorCredentials);

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
            signature.Authorization);
        Assert.Contains(headers, h => h.Key == "X-Amz-Date" && h.Value == "20150830T123600Z");
    }

    [Fact]
    public void Signs_a_kinesis_request_exactly_as_AWSSDK_Core_does()
    {
        // AWSSDK.Core always signs x-amz-content-sha256, so send that header to both signers.
        var body = Encoding.UTF8.GetBytes("""{"StreamName":"clicks","Records":[{"Data":"e30=","PartitionKey":"k"}]}""");
        var hash = SigV4Signer.HashHex(body);
        var signer = new SigV4Signer("eu-west-1", "kinesis", new FakeTimeProvider(VectorTime));
        var headers = new List<KeyValuePair<string, string>>
        {
            new("Host", "kinesis.eu-west-1.amazonaws.com"),
            new("Content-Type", "application/x-amz-json-1.1"),
            new("X-Amz-Target", "Kinesis_20131202.PutRecords"),
            new("X-Amz-Content-SHA256", hash),
        };
        var ours = signer.Sign("POST", "/", "", headers, hash, VectorCredentials);

        var sdkRequest = new AWSSigningRequest
        {
            HttpMethod = HttpMethod.Post,
            RequestUri = new Uri("https://kinesis.eu-west-1.amazonaws.com/"),
            Content = body,
        };
        sdkRequest.Headers["Host"] = "kinesis.eu-west-1.amazonaws.com";
        sdkRequest.Headers["Content-Type"] = "application/x-amz-json-1.1";
        sdkRequest.Headers["X-Amz-Target"] = "Kinesis_20131202.PutRecords";
        var sdk = AWSSigV4Signer.Sign(sdkRequest, new AWSSigV4Parameters
        {
            Credentials = new BasicAWSCredentials(VectorCredentials.AccessKey, VectorCredentials.SecretKey),
            Region = RegionEndpoint.EUWest1,
            Service = "kinesis",
            SignPayload = true,
            SignedAt = VectorTime.UtcDateTime,
        });

        Assert.Equal(sdk.Headers["Authorization"], ours.Authorization);
    }

    [Fact]
    public void Signs_an_http_request_with_the_time_providers_clock_and_the_reference_verifier_accepts_it()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero));
        var signer = new SigV4Signer("us-east-1", "kinesis", time);
        var body = "{}"u8.ToArray();
        using var request = new HttpRequestMessage(HttpMethod.Post, "http://127.0.0.1:4567/");
        request.Headers.TryAddWithoutValidation("X-Amz-Target", "Kinesis_20131202.ListShards");
        request.Content = new ByteArrayContent(body);
        request.Content.Headers.ContentType = new("application/x-amz-json-1.1");

        var signature = signer.Sign(request, body, new ImmutableCredentials("AKIDTEST", "secret", "session-token"));

        Assert.Equal("20260304T050607Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Equal("127.0.0.1:4567", request.Headers.Host);
        Assert.Equal("session-token", request.Headers.GetValues("X-Amz-Security-Token").Single());
        Assert.Equal("content-type;host;x-amz-date;x-amz-security-token;x-amz-target", signature.SignedHeaders);
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=AKIDTEST/20260304/us-east-1/kinesis/aws4_request, ", request.Headers.GetValues("Authorization").Single());

        var problem = ReferenceSigV4Verifier.Verify(
            "POST", "/", "",
            name => name switch
            {
                "host" => request.Headers.Host,
                "content-type" => request.Content.Headers.ContentType!.ToString(),
                _ => request.Headers.TryGetValues(name, out var v) ? string.Join(',', v) : null,
            },
            body, "us-east-1", "kinesis", key => key == "AKIDTEST" ? "secret" : null, ["x-amz-target"], time.GetUtcNow());
        Assert.Null(problem);
    }

    [Fact]
    public void Signing_again_later_replaces_the_date_and_signature()
    {
        var time = new FakeTimeProvider(VectorTime);
        var signer = new SigV4Signer("us-east-1", "kinesis", time);
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://kinesis.us-east-1.amazonaws.com/");
        request.Content = new ByteArrayContent([]);
        var first = signer.Sign(request, [], VectorCredentials);
        time.Advance(TimeSpan.FromDays(1));

        var second = signer.Sign(request, [], VectorCredentials);

        Assert.NotEqual(first.Authorization, second.Authorization);
        Assert.Equal("20150831T123600Z", request.Headers.GetValues("X-Amz-Date").Single());
        Assert.Single(request.Headers.GetValues("Authorization"));
    }

    /// <summary>A request as written in the suite's request.txt.</summary>
    private sealed record RawRequest(string Method, string Path, string Query, List<KeyValuePair<string, string>> Headers, byte[] Body)
    {
        public static RawRequest Parse(byte[] file)
        {
            var text = Encoding.UTF8.GetString(file);
            var headerEnd = text.IndexOf("\n\n", StringComparison.Ordinal);
            var head = headerEnd < 0 ? text : text[..headerEnd];
            var body = headerEnd < 0 ? [] : Encoding.UTF8.GetBytes(text[(headerEnd + 2)..]);
            var lines = head.Split('\n');
            var requestLine = lines[0];
            var method = requestLine[..requestLine.IndexOf(' ', StringComparison.Ordinal)];
            var target = requestLine[(method.Length + 1)..requestLine.LastIndexOf(" HTTP/", StringComparison.Ordinal)];
            var question = target.IndexOf('?', StringComparison.Ordinal);
            var headers = new List<KeyValuePair<string, string>>();
            foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
            {
                if (char.IsWhiteSpace(line[0]))
                {
                    // Folded continuation of the previous header's value.
                    var last = headers[^1];
                    headers[^1] = new(last.Key, last.Value + "\n" + line);
                    continue;
                }
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers.Add(new(line[..colon], line[(colon + 1)..]));
            }
            return new RawRequest(
                method,
                question < 0 ? target : target[..question],
                question < 0 ? "" : target[(question + 1)..],
                headers,
                body);
        }
    }
}
