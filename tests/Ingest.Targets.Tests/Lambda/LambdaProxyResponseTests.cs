using System.Text;
using Ingest.Core.Integration;
using Ingest.Targets.Lambda;
using Ingest.Targets.Lambda.Events;

namespace Ingest.Targets.Tests.Lambda;

/// <summary>How a function's proxy answer becomes the client's response, and which answers are malformed.</summary>
public sealed class LambdaProxyResponseTests
{
    [Theory]
    [InlineData(LambdaPayloadFormat.V1)]
    [InlineData(LambdaPayloadFormat.V2)]
    public void Status_headers_multi_value_headers_and_body_are_mapped(LambdaPayloadFormat format)
    {
        var result = Read(
            """
            {"statusCode":201,
             "headers":{"Content-Type":"text/plain; charset=utf-8","X-One":"1","X-Both":"from-headers","X-Number":7,"Content-Length":"999","Connection":"close"},
             "multiValueHeaders":{"X-Both":["a","b"],"Set-Cookie":["s=1","t=2"]},
             "body":"caf\u00e9 \"quoted\"","isBase64Encoded":false,"somethingElse":{"ignored":true}}
            """,
            format);

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal(201, result.StatusCode);
        Assert.Equal(200, result.IntegrationStatus);
        Assert.Equal("text/plain; charset=utf-8", result.ContentType);
        Assert.Equal("café \"quoted\"", Encoding.UTF8.GetString(result.Body.Span));
        var headers = result.Headers.ToDictionary(h => h.Key, h => string.Join("|", h.Value.ToArray()), StringComparer.OrdinalIgnoreCase);
        Assert.Equal("1", headers["X-One"]);
        Assert.Equal("7", headers["X-Number"]);
        Assert.Equal("a|b", headers["X-Both"]);
        Assert.Equal("s=1|t=2", headers["Set-Cookie"]);
        Assert.False(headers.ContainsKey("Content-Length"), "the gateway sets the length of what it sends");
        Assert.False(headers.ContainsKey("Connection"), "hop-by-hop headers are the gateway's");
        Assert.False(headers.ContainsKey("Content-Type"), "the content type is returned apart");
    }

    [Fact]
    public void Cookies_of_2_0_become_Set_Cookie_headers_beside_those_in_headers()
    {
        var result = Read("""{"statusCode":200,"cookies":["a=1; Path=/","b=2"],"headers":{"set-cookie":"c=3"},"body":"x"}""", LambdaPayloadFormat.V2);

        Assert.Equal("c=3|a=1; Path=/|b=2", string.Join("|", Assert.Single(result.Headers, h => h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase)).Value.ToArray()));
        Assert.Equal(ProxyResponseReader.DefaultContentType, result.ContentType);
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public void Statuses_without_a_body_drop_the_one_given(int status)
    {
        var result = Read($$"""{"statusCode":{{status}},"body":"ignored"}""", LambdaPayloadFormat.V1);

        Assert.Equal(status, result.StatusCode);
        Assert.True(result.Body.IsEmpty);
        Assert.Null(result.ContentType);
    }

    [Theory]
    [InlineData("""{"message":"hello","count":2}""")]
    [InlineData("\"just a string\"")]
    [InlineData("[1,2,3]")]
    [InlineData("42")]
    [InlineData("null")]
    [InlineData("""{"body":"not a proxy answer without statusCode"}""")]
    public void In_2_0_an_answer_without_statusCode_is_the_body_of_a_200(string payload)
    {
        var result = Read(payload, LambdaPayloadFormat.V2);

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal(200, result.StatusCode);
        Assert.Equal("application/json", result.ContentType);
        Assert.Equal(payload, Encoding.UTF8.GetString(result.Body.Span));
    }

    [Theory]
    [InlineData(LambdaPayloadFormat.V1)]
    [InlineData(LambdaPayloadFormat.V2)]
    public void Base64_bodies_are_decoded_bit_exact(LambdaPayloadFormat format)
    {
        var bytes = new byte[65536];
        new Random(11).NextBytes(bytes);
        // isBase64Encoded after body: the decoding waits for it.
        var result = Read($$"""{"statusCode":200,"headers":{"content-type":"application/octet-stream"},"body":"{{Convert.ToBase64String(bytes)}}","isBase64Encoded":true}""", format);

        Assert.Equal(IntegrationFailure.None, result.Failure);
        Assert.Equal("application/octet-stream", result.ContentType);
        Assert.True(bytes.AsSpan().SequenceEqual(result.Body.Span));
    }

    [Fact]
    public void A_string_status_code_is_accepted_as_api_gateway_does()
    {
        Assert.Equal(202, Read("""{"statusCode":"202","body":""}""", LambdaPayloadFormat.V1).StatusCode);
    }

    [Fact]
    public void No_body_is_an_empty_response_without_content_type()
    {
        var result = Read("""{"statusCode":204}""", LambdaPayloadFormat.V1);

        Assert.Equal(204, result.StatusCode);
        Assert.True(result.Body.IsEmpty);
        Assert.Null(result.ContentType);
    }

    [Theory]
    [InlineData(LambdaPayloadFormat.V2, "not json at all", "not JSON")]
    [InlineData(LambdaPayloadFormat.V2, "{\"statusCode\":200,", "not JSON")]
    [InlineData(LambdaPayloadFormat.V2, "{} trailing", "not JSON")]
    [InlineData(LambdaPayloadFormat.V2, "", "empty")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":"abc","body":"x"}""", "statusCode is not a number")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":200.5}""", "statusCode is not a number")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":{"code":200}}""", "statusCode is not a number")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":99}""", "statusCode 99 is not an HTTP status")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":101}""", "statusCode 101 is not an HTTP status")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":600}""", "statusCode 600 is not an HTTP status")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":200,"body":{"a":1}}""", "body is a object, not a string")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"body":42}""", "body is a number, not a string")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"headers":["a"]}""", "headers is a list, not an object")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"headers":{"x":{"y":1}}}""", "headers.x is a object")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"multiValueHeaders":{"x":[{"y":1}]}}""", "multiValueHeaders.x holds a object")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"isBase64Encoded":"yes","body":"eA=="}""", "isBase64Encoded is a string")]
    [InlineData(LambdaPayloadFormat.V1, """{"statusCode":200,"isBase64Encoded":true,"body":"***"}""", "not valid base64")]
    [InlineData(LambdaPayloadFormat.V2, """{"statusCode":200,"cookies":"a=1"}""", "cookies is a string")]
    [InlineData(LambdaPayloadFormat.V1, """{"body":"no status"}""", "statusCode is missing")]
    [InlineData(LambdaPayloadFormat.V1, "\"a string\"", "not a JSON object")]
    public void Malformed_answers_are_InvalidResponse_with_the_reason(LambdaPayloadFormat format, string payload, string reason)
    {
        var result = Read(payload, format);

        Assert.Equal(IntegrationFailure.InvalidResponse, result.Failure);
        Assert.StartsWith("malformed Lambda proxy response: ", result.Reason);
        Assert.Contains(reason, result.Reason);
        Assert.Equal(200, result.IntegrationStatus);
    }

    private static IntegrationResult Read(string payload, LambdaPayloadFormat format) =>
        ProxyResponseReader.Read(Encoding.UTF8.GetBytes(payload), format, integrationStatus: 200);
}
