using System.Text;
using System.Text.Json;
using Ingest.Core.Templates;
using static Ingest.Core.Tests.Templates.MappingTemplateTests;

namespace Ingest.Core.Tests.Templates;

public sealed class TemplateFilterTests
{
    private static readonly string[] Pieces = ["\"", "\\", "{", "}", "[", "]", ":", ",", "\n", "\r", "\t", "\0", " ", "a", "é", "😀", "\\u0022"];

    [Theory]
    [InlineData("hello", "aGVsbG8=")]
    [InlineData("", "")]
    [InlineData("é☃😀", "w6nimIPwn5iA")]
    public void Base64_encode_and_decode_round_trip(string text, string base64)
    {
        var request = TemplateRequests.Create(text);
        Assert.Equal(base64, Render("{{ input.body | base64_encode }}", request));
        Assert.Equal(text, Render("{{ input.body | base64_encode | base64_decode }}", request));
        Assert.Equal(text, Render("{{ input.body | base64_decode }}", TemplateRequests.Create(base64)));
    }

    [Fact]
    public void Base64_decode_of_text_that_is_not_base64_is_a_render_error()
    {
        var error = Assert.Throws<TemplateRenderException>(() => Render("{{ input.body | base64_decode }}", TemplateRequests.Create("%%%")));
        Assert.Contains("base64_decode: the value is not base64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("a\"b", "a\\\"b")]
    [InlineData("back\\slash", "back\\\\slash")]
    [InlineData("line\nbreak\ttab", "line\\nbreak\\ttab")]
    [InlineData("<tag>&'", "<tag>&'")]
    [InlineData("é☃", "é☃")]
    public void Json_escape_gives_the_inside_of_a_json_string(string text, string escaped)
    {
        Assert.Equal(escaped, Render("{{ input.body | json_escape }}", TemplateRequests.Create(text)));
    }

    [Theory]
    [InlineData("\"}")]
    [InlineData("\", \"admin\": true, \"x\": \"")]
    [InlineData("\\\"}, {\"injected\": 1}")]
    [InlineData("\u0000\u001f\u007f\u2028\u2029")]
    [InlineData("\"\\\\\\\"")]
    [InlineData("}]}]}\"")]
    public void Json_escape_keeps_a_hostile_field_inside_its_string(string hostile)
    {
        var body = JsonSerializer.Serialize(new { name = hostile });
        var output = Render("""{"Item":{"name":{"S":"{{ input.json.name | json_escape }}"},"role":{"S":"user"}}}""", TemplateRequests.Create(body));
        using var document = JsonDocument.Parse(output);
        var item = document.RootElement.GetProperty("Item");
        Assert.Equal(2, item.EnumerateObject().Count());
        Assert.Equal(hostile, item.GetProperty("name").GetProperty("S").GetString());
        Assert.Equal("user", item.GetProperty("role").GetProperty("S").GetString());
    }

    [Fact]
    public void Json_escape_of_every_character_and_random_text_stays_valid_json()
    {
        var all = new StringBuilder();
        for (var c = 0; c < 0xD800; c++)
        {
            all.Append((char)c);
        }
        var random = new Random(20261126);
        var texts = new List<string> { all.ToString() };
        for (var i = 0; i < 200; i++)
        {
            var text = new string[random.Next(0, 40)];
            for (var j = 0; j < text.Length; j++)
            {
                text[j] = Pieces[random.Next(Pieces.Length)];
            }
            texts.Add(string.Concat(text));
        }
        var template = Compile("""{"v":"{{ input.json.v | json_escape }}"}""");
        foreach (var text in texts)
        {
            var request = TemplateRequests.Create(JsonSerializer.Serialize(new { v = text }));
            var output = template.Render(TemplateScope.ForRequest(request), CancellationToken.None);
            using var document = JsonDocument.Parse(output);
            Assert.Equal(text, document.RootElement.GetProperty("v").GetString());
        }
    }

    [Fact]
    public void Json_escape_of_a_sliced_surrogate_pair_is_still_json()
    {
        // slice cuts the emoji in half; the lone half becomes U+FFFD instead of breaking the output.
        var output = Render("""{"v":"{{ input.body | slice: 0, 2 | json_escape }}"}""", TemplateRequests.Create("a😀"));
        using var document = JsonDocument.Parse(output);
        Assert.Equal("a\uFFFD", document.RootElement.GetProperty("v").GetString());
    }

    [Theory]
    [InlineData("{{ input.json.o | json }}", """{"x":[1,{"y":"z"}]}""")]
    [InlineData("{{ input.json.s | json }}", "\"q\\\"uote\"")]
    [InlineData("{{ input.json.n | json }}", "1.5")]
    [InlineData("{{ input.json.b | json }}", "false")]
    [InlineData("{{ input.json.missing | json }}", "null")]
    [InlineData("{{ input.json.a | json }}", "[1,\"two\",null]")]
    [InlineData("{{ input.path | json }}", """{"id":"d-1"}""")]
    [InlineData("{{ input.json.a | size | json }}", "3")]
    public void Json_gives_json_text(string source, string expected)
    {
        var body = """{"o":{"x":[1,{"y":"z"}]},"s":"q\"uote","n":1.5,"b":false,"a":[1,"two",null]}""";
        Assert.Equal(expected, Render(source, TemplateRequests.Create(body)));
    }

    [Fact]
    public void Json_of_the_context_is_an_object()
    {
        using var document = JsonDocument.Parse(Render("{{ context.identity | json }}"));
        Assert.Equal("key-1", document.RootElement.GetProperty("apiKeyId").GetString());
        Assert.Equal("203.0.113.7", document.RootElement.GetProperty("sourceIp").GetString());
    }

    [Theory]
    [InlineData("{{ input.json | json_path: '$.a.b[0]' }}", "first")]
    [InlineData("{{ input.json | json_path: '$.a.b[1].c' }}", "deep")]
    [InlineData("{{ input.json | json_path: \"$['odd name']\" }}", "odd")]
    [InlineData("{{ input.json | json_path: '$.a.b[9]' | default: 'nil' }}", "nil")]
    [InlineData("{{ input.json | json_path: '$.nope.deeper' | default: 'nil' }}", "nil")]
    [InlineData("{{ input.json | json_path: '$.a' | json }}", """{"b":["first",{"c":"deep"}]}""")]
    [InlineData("{{ input.json | json_path: '$' | json }}", """{"a":{"b":["first",{"c":"deep"}]},"odd name":"odd"}""")]
    [InlineData("{{ input.body | json_path: '$.a.b[1].c' }}", "deep")]
    [InlineData("{{ input.body | json_path: '$.a.b' | json }}", """["first",{"c":"deep"}]""")]
    [InlineData("{{ context | json_path: '$.identity.apiKeyId' }}", "key-1")]
    public void Json_path_reads_a_part_of_json(string source, string expected)
    {
        var body = """{"a":{"b":["first",{"c":"deep"}]},"odd name":"odd"}""";
        Assert.Equal(expected, Render(source, TemplateRequests.Create(body)));
    }

    [Theory]
    [InlineData("a.b")]
    [InlineData("$.")]
    [InlineData("$[x]")]
    [InlineData("$[\"open")]
    [InlineData("$[-1]")]
    public void Json_path_refuses_paths_it_does_not_read(string path)
    {
        var error = Assert.Throws<TemplateRenderException>(() => Render("{{ input.json | json_path: '" + path + "' }}", TemplateRequests.Create("{}")));
        Assert.Contains("is not a path this filter reads", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_path_of_text_that_is_not_json_is_nil()
    {
        Assert.Equal("nil", Render("{{ input.body | json_path: '$.a' | default: 'nil' }}", TemplateRequests.Create("not json")));
    }
}
