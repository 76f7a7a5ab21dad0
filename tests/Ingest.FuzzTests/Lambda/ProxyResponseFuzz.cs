using System.Text.Json;
using Ingest.Core.Integration;
using Ingest.FuzzTests.Engine;
using Ingest.Targets.Lambda;
using Ingest.Targets.Lambda.Events;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Lambda;

/// <summary>
/// A function's answer is outside input: <see cref="ProxyResponseReader"/> on mutated proxy
/// answers never throws, maps an answer or refuses it as malformed with a reason, agrees with
/// System.Text.Json on what is JSON, and in 2.0 passes plain JSON values through byte for byte.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class ProxyResponseFuzz(ITestOutputHelper output)
{
    private const string Alphabet = "{}[],:\"\\ 0123456789.-etrufalsnAB=+/\u00e9";

    private static readonly string[] Dictionary =
    [
        "\"statusCode\":", "\"headers\":", "\"multiValueHeaders\":", "\"body\":", "\"isBase64Encoded\":", "\"cookies\":",
        "true", "false", "null", "200", "\"200\"", "99", "600", "2147483648", "1e3", "\"AAEC\"", "\"=\"", "\\u0000", "\\ud800",
    ];

    [Fact]
    public void Proxy_answers_are_mapped_or_refused_cleanly() =>
        FuzzRunner.RunAndAssert("lambda-response", Mutations.Inputs(Corpus.Load("lambda-response"), Mutations.TextFrom(Alphabet), Dictionary), Check, output);

    [Fact]
    public void Seeds_cover_answers_and_malformed_ones()
    {
        var failures = Corpus.Load("lambda-response").Seeds
            .Select(s => ProxyResponseReader.Read(s, LambdaPayloadFormat.V1, 200).Failure)
            .ToHashSet();
        Assert.Equal([IntegrationFailure.None, IntegrationFailure.InvalidResponse], failures.Order());
    }

    [Theory]
    // InvalidOperationException from GetString: a cookie that is not UTF-8, a name escaping a lone surrogate.
    [InlineData("found-invalid-utf8-cookie.json")]
    [InlineData("found-lone-surrogate-name.json")]
    public void Found_inputs_are_refused_as_malformed(string seed)
    {
        var input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", "lambda-response", seed));

        Check(input);
        Assert.Equal(IntegrationFailure.InvalidResponse, ProxyResponseReader.Read(input, LambdaPayloadFormat.V2, 200).Failure);
    }

    internal static void Check(byte[] input)
    {
        var json = IsJson(input);
        foreach (var format in (ReadOnlySpan<LambdaPayloadFormat>)[LambdaPayloadFormat.V1, LambdaPayloadFormat.V2])
        {
            var result = ProxyResponseReader.Read(input, format, 200);
            switch (result.Failure)
            {
                case IntegrationFailure.None:
                    PropertyBrokenException.Check(json, $"{format}: mapped an answer System.Text.Json does not read");
                    PropertyBrokenException.Check(result.StatusCode is >= 100 and <= 599, $"{format}: status {result.StatusCode}");
                    PropertyBrokenException.Check(result.Headers.All(h => h.Key.Length > 0 && !h.Key.Equals("content-length", StringComparison.OrdinalIgnoreCase)), $"{format}: framing header passed on");
                    break;
                case IntegrationFailure.InvalidResponse:
                    PropertyBrokenException.Check(result.Reason?.StartsWith("malformed Lambda proxy response: ", StringComparison.Ordinal) == true, $"{format}: refused without a reason");
                    break;
                default:
                    throw new PropertyBrokenException($"{format}: unexpected failure {result.Failure}");
            }
            if (format == LambdaPayloadFormat.V2 && json && input.AsSpan().TrimStart(" \t\r\n"u8) is [not (byte)'{', ..])
            {
                PropertyBrokenException.Check(
                    result.Failure == IntegrationFailure.None && result.StatusCode == 200 && result.Body.Span.SequenceEqual(input),
                    "2.0: a plain JSON value is not the body of a 200");
            }
        }
    }

    private static bool IsJson(byte[] input)
    {
        try
        {
            using var document = JsonDocument.Parse(input);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
