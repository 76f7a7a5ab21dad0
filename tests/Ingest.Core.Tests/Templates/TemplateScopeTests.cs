using System.Text;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Microsoft.Extensions.Primitives;
using static Ingest.Core.Tests.Templates.MappingTemplateTests;

namespace Ingest.Core.Tests.Templates;

public sealed class TemplateScopeTests
{
    private const string Device = """{"device":{"id":"d-7","tags":["a","b","c"],"temp":21.5,"ok":true,"none":null,"odd name":1}}""";

    [Theory]
    [InlineData("{{ input.body }}", Device)]
    [InlineData("{{ input.json.device.id }}", "d-7")]
    [InlineData("{{ input.json.device.tags[1] }}", "b")]
    [InlineData("{{ input.json.device.tags.size }}", "3")]
    [InlineData("{{ input.json.device.tags.last }}", "c")]
    [InlineData("{{ input.json.device.temp | plus: 1 }}", "22.5")]
    [InlineData("{% if input.json.device.ok %}yes{% endif %}", "yes")]
    [InlineData("{{ input.json.device.none | default: 'nil' }}", "nil")]
    [InlineData("{{ input.json.device['odd name'] }}", "1")]
    [InlineData("{{ input.json.missing.deeper | default: 'nil' }}", "nil")]
    [InlineData("{% if input.json.device contains 'temp' %}has{% endif %}", "has")]
    [InlineData("{{ input.json.device.tags }}", "abc")]
    [InlineData("{% for t in input.json.device.tags %}{{ forloop.index }}={{ t }};{% endfor %}", "1=a;2=b;3=c;")]
    [InlineData("{% for pair in input.json.device %}{{ pair[0] }},{% endfor %}", "id,tags,temp,ok,none,odd name,")]
    [InlineData("{{ input.json.device.tags | join: '|' }}", "a|b|c")]
    public void Input_body_and_json(string source, string expected)
    {
        Assert.Equal(expected, Render(source, TemplateRequests.Create(Device)));
    }

    [Fact]
    public void An_object_prints_as_its_json()
    {
        Assert.Equal("""{"x":[1,{"y":"z"}]}""", Render("{{ input.json.o }}", TemplateRequests.Create("""{"o":{"x":[1,{"y":"z"}]}}""")));
    }

    [Fact]
    public void A_body_that_is_not_json_has_no_json()
    {
        Assert.Equal("nil|not json", Render("{{ input.json | default: 'nil' }}|{{ input.body }}", TemplateRequests.Create("not json")));
    }

    [Fact]
    public void A_binary_body_is_base64()
    {
        var bytes = new byte[] { 0, 1, 2, 0xFF, 0xFE };
        Assert.Equal(Convert.ToBase64String(bytes) + "|true", Render("{{ input.body }}|{{ input.isBase64Encoded }}", TemplateRequests.Create(bodyBytes: bytes, isBinary: true)));
    }

    [Fact]
    public void Path_query_and_headers()
    {
        var request = TemplateRequests.Create(
            pathParameters: new Dictionary<string, string> { ["id"] = "d-9" },
            query: "?limit=10&tag=a&tag=b",
            headers: new Dictionary<string, string> { ["X-Foo"] = "bar", ["Content-Type"] = "application/json" });
        Assert.Equal("d-9", Render("{{ input.path.id }}", request));
        Assert.Equal("10", Render("{{ input.query.limit }}", request));
        Assert.Equal("a,b", Render("{{ input.query.tag }}", request));
        Assert.Equal("nil", Render("{{ input.query.nope | default: 'nil' }}", request));
        Assert.Equal("bar", Render("{{ input.header.x-foo }}", request));
        Assert.Equal("bar", Render("{{ input.header['X-FOO'] }}", request));
        Assert.Equal("application/json", Render("{{ input.headers.content-type }}", request));
        Assert.Equal("Content-Type,Host,X-Foo,", Render("{% assign names = '' %}{% for h in input.headers %}{% assign names = names | append: h[0] | append: ',' %}{% endfor %}{{ names | split: ',' | sort | join: ',' }},", request));
    }

    [Fact]
    public void Stage_variables()
    {
        var request = TemplateRequests.Create(stage: "prod", stageVariables: new Dictionary<string, string> { ["table"] = "devices-prod" });
        Assert.Equal("devices-prod|prod", Render("{{ stageVariables.table }}|{{ context.stage }}", request));
        Assert.Equal("nil|$default", Render("{{ stageVariables.table | default: 'nil' }}|{{ context.stage }}"));
    }

    [Theory]
    [InlineData("{{ context.requestId }}", "0195f1a2-0000-7000-8000-000000000001")]
    [InlineData("{{ context.sourceIp }}", "203.0.113.7")]
    [InlineData("{{ context.identity.sourceIp }}", "203.0.113.7")]
    [InlineData("{{ context.identity.apiKeyId }}", "key-1")]
    [InlineData("{{ context.identity.principal }}", "device-42")]
    [InlineData("{{ context.authorizer.principalId }}", "device-42")]
    [InlineData("{{ context.authorizer.tenant }}", "acme")]
    [InlineData("{{ context.requestTime }}", "25/Nov/2026:21:14:44 +0000")]
    [InlineData("{{ context.requestTimeEpoch }}", "1795641284123")]
    [InlineData("{{ context.httpMethod }}", "POST")]
    [InlineData("{{ context.routeKey }}", "POST /v1/devices/{id}/events")]
    [InlineData("{{ context.resourcePath }}", "/v1/devices/{id}/events")]
    [InlineData("{{ context.path }}", "/v1/devices/d-1/events")]
    [InlineData("{{ context.domainName }}", "api.example")]
    [InlineData("{{ context.traceparent }}", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    public void Context(string source, string expected)
    {
        Assert.Equal(expected, Render(source));
    }

    [Fact]
    public void A_response_template_sees_the_backend_answer_and_the_request()
    {
        var request = TemplateRequests.Create(Device);
        var response = new IntegrationResult
        {
            IntegrationStatus = 200,
            ContentType = "application/x-amz-json-1.0",
            Headers = [new("x-amzn-RequestId", new StringValues("r-1"))],
            Body = Encoding.UTF8.GetBytes("""{"Item":{"id":{"S":"d-7"},"n":{"N":"3"}}}"""),
        };
        var template = Compile("{{ integration.status }}|{{ integration.json.Item.id.S }}|{{ integration.json.Item.n.N | plus: 1 }}|{{ integration.header.X-AMZN-REQUESTID }}|{{ integration.header.content-type }}|{{ integration.contentType }}|{{ input.json.device.id }}|{{ integration.body | size }}");
        var output = template.Render(TemplateScope.ForResponse(request, response), CancellationToken.None);
        Assert.Equal("200|d-7|4|r-1|application/x-amz-json-1.0|application/x-amz-json-1.0|d-7|41", output);
    }

    [Fact]
    public void A_request_template_has_no_integration()
    {
        Assert.Equal("none", Render("{{ integration.status | default: 'none' }}"));
    }
}
