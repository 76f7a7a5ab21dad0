using System.Text;
using Ingest.Core.Auth;
using Ingest.FuzzTests.Engine;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Auth;

/// <summary>
/// <see cref="SigV4Verifier"/> on mutated signed requests (AWS's published SigV4 test requests as
/// seeds, raw HTTP/1.1 text): it answers accepted or a 403, never throws, and accepts only the one
/// known access key.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class SigV4Fuzz(ITestOutputHelper output)
{
    public const string AccessKeyId = "AKIDEXAMPLE";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    private static readonly string[] Dictionary =
    [
        "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=", ", ", "/aws4_request", "AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", ";", "host;x-amz-date", "X-Amz-Date:", "20150830T123600Z", "x-amz-content-sha256:",
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
        "%2F", "%", "%%", "&", "=", "/./", "/../", "//", "\n ", ":", "\u00e9",
    ];

    private static readonly DateTimeOffset SignedAt = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private readonly SigV4Verifier _verifier = new([new(AccessKeyId, SecretKey)], TimeSpan.FromMinutes(5), new FakeTimeProvider(SignedAt));

    [Fact]
    public void Signed_requests_verify_or_are_refused_never_throw() =>
        FuzzRunner.RunAndAssert("sigv4", Mutations.Inputs(Corpus.Load("sigv4"), Mutations.RandomBytes, Dictionary), Check, output);

    [Fact]
    public void Most_seeds_verify()
    {
        var seeds = Corpus.Load("sigv4").Seeds;
        var verified = seeds.Count(s => Verify(s, out var id) is null && id == AccessKeyId);
        Assert.True(verified >= 10, $"{verified} of {seeds.Length} seeds verify");
    }

    internal void Check(byte[] input)
    {
        var rejection = Verify(input, out var accessKeyId);
        if (rejection is null)
        {
            PropertyBrokenException.Check(accessKeyId == AccessKeyId, $"accepted with access key '{accessKeyId}'");
        }
        else
        {
            PropertyBrokenException.Check(rejection.Status == 403, $"refused with {rejection.Status}");
        }
    }

    private Ingest.Core.Requests.Rejection? Verify(byte[] input, out string? accessKeyId)
    {
        var (method, target, headers, body) = ParseRequest(input);
        var http = AuthRequests.Http(method, target, body, headers);
        return _verifier.Verify(http.Request, body, out accessKeyId);
    }

    /// <summary>
    /// Reads <c>METHOD TARGET HTTP/1.1</c>, header lines (a line starting with a space continues the
    /// previous value), a blank line and the body. Anything unreadable becomes a plausible request
    /// rather than being skipped, so every input reaches the verifier.
    /// </summary>
    internal static (string Method, string Target, List<(string, string)> Headers, byte[] Body) ParseRequest(byte[] input)
    {
        var headerEnd = input.AsSpan().IndexOf("\n\n"u8);
        var head = Encoding.UTF8.GetString(input, 0, headerEnd < 0 ? input.Length : headerEnd);
        var body = headerEnd < 0 ? [] : input[(headerEnd + 2)..];
        var lines = head.Split('\n');
        var requestLine = lines[0].Split(' ');
        var method = requestLine[0].Length > 0 ? requestLine[0] : "GET";
        // Kestrel answers 400 to a path that decodes to a NUL before any middleware runs.
        var target = requestLine.Length > 1 && requestLine[1].StartsWith('/') && !requestLine[1].Contains("%00", StringComparison.Ordinal) ? requestLine[1] : "/";
        var headers = new List<(string, string)>();
        foreach (var line in lines.Skip(1))
        {
            if (line.Length > 0 && line[0] is ' ' or '\t' && headers.Count > 0)
            {
                var (name, value) = headers[^1];
                headers[^1] = (name, value + "," + line.Trim());
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.Add((line[..colon], line[(colon + 1)..]));
            }
        }
        return (method, target, headers, body);
    }
}
