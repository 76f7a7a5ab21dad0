using System.Text.Json;
using Ingest.Core.Payload;

namespace Ingest.Core.Tests.Payload;

public class JsonSchemaTests
{
    private const string Reading = """
        {
          "type": "object",
          "title": "reading",
          "required": ["device", "temp"],
          "additionalProperties": false,
          "properties": {
            "device": { "type": "string", "minLength": 1, "maxLength": 8, "pattern": "^d-[0-9]+$" },
            "temp": { "type": "number", "minimum": -50, "maximum": 60 },
            "unit": { "enum": ["C", "F"] },
            "seq": { "type": "integer", "exclusiveMinimum": 0, "multipleOf": 2 },
            "tags": { "type": "array", "maxItems": 2, "items": { "type": "string" } },
            "meta": { "type": ["object", "null"], "maxProperties": 1, "additionalProperties": { "type": "boolean" } },
            "v": { "const": 1 }
          }
        }
        """;

    private static JsonSchema Schema(string text)
    {
        var errors = new List<string>();
        var schema = JsonSchema.Load(text, errors);
        Assert.Empty(errors);
        return schema!;
    }

    private static JsonError? Check(string schema, string json)
    {
        using var document = JsonDocument.Parse(json);
        return Schema(schema).Validate(document.RootElement);
    }

    [Theory]
    [InlineData("""{"device":"d-1","temp":21.5}""")]
    [InlineData("""{"device":"d-12","temp":-50,"unit":"C","seq":4,"tags":["a"],"meta":{"x":true},"v":1.0}""")]
    [InlineData("""{"device":"d-1","temp":60,"meta":null}""")]
    public void Accepts_matching_documents(string json) => Assert.Null(Check(Reading, json));

    [Theory]
    [InlineData("""{"device":"d-1"}""", "$.temp", "required")]
    [InlineData("""{"device":"d-1","temp":"hot"}""", "$.temp", "expected number")]
    [InlineData("""{"device":"d-1","temp":61}""", "$.temp", "maximum")]
    [InlineData("""{"device":"x-1","temp":1}""", "$.device", "pattern")]
    [InlineData("""{"device":"","temp":1}""", "$.device", "shorter")]
    [InlineData("""{"device":"d-1","temp":1,"unit":"K"}""", "$.unit", "enum")]
    [InlineData("""{"device":"d-1","temp":1,"seq":3}""", "$.seq", "multiple")]
    [InlineData("""{"device":"d-1","temp":1,"seq":0}""", "$.seq", "above 0")]
    [InlineData("""{"device":"d-1","temp":1,"seq":2.5}""", "$.seq", "expected integer")]
    [InlineData("""{"device":"d-1","temp":1,"tags":["a",2]}""", "$.tags[1]", "expected string")]
    [InlineData("""{"device":"d-1","temp":1,"tags":["a","b","c"]}""", "$.tags", "more than 2 items")]
    [InlineData("""{"device":"d-1","temp":1,"meta":{"x":1}}""", "$.meta.x", "expected boolean")]
    [InlineData("""{"device":"d-1","temp":1,"other":1}""", "$.other", "not allowed")]
    [InlineData("""{"device":"d-1","temp":1,"v":2}""", "$.v", "must be 1")]
    [InlineData("""[1]""", "$", "expected object")]
    public void Reports_the_first_error_path(string json, string path, string reason)
    {
        var error = Check(Reading, json);

        Assert.NotNull(error);
        Assert.Equal(path, error.Value.Path);
        Assert.Contains(reason, error.Value.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_keywords_and_bad_values_are_all_reported()
    {
        var errors = new List<string>();

        var schema = JsonSchema.Load("""
            {"type":"objet","oneOf":[],"properties":{"a":{"$ref":"#/x","minLength":-1}},"items":[{}],"pattern":"("}
            """, errors);

        Assert.Null(schema);
        Assert.Equal(6, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("#/type:", StringComparison.Ordinal) && e.Contains("\"objet\" is not a type"));
        Assert.Contains(errors, e => e.StartsWith("#/oneOf:", StringComparison.Ordinal) && e.Contains("not supported"));
        Assert.Contains(errors, e => e.StartsWith("#/properties/a/$ref:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("#/properties/a/minLength:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("#/items:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("#/pattern:", StringComparison.Ordinal));
    }

    [Fact]
    public void Loads_from_a_file_and_says_which_file_is_missing()
    {
        var path = Path.Combine(Path.GetTempPath(), $"schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{"type":"object","required":["temp"]}""");
        try
        {
            var errors = new List<string>();
            Assert.NotNull(JsonSchema.Load($"file:{path}", errors));
            Assert.Null(JsonSchema.Load("file:/nowhere/schema.json", errors));
            Assert.Null(JsonSchema.Load("schema.json", errors));
            Assert.Equal(2, errors.Count);
            Assert.Contains("'/nowhere/schema.json' does not exist", errors[0], StringComparison.Ordinal);
            Assert.Contains("write file:PATH", errors[1], StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
