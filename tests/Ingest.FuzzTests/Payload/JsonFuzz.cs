using System.Text;
using System.Text.Json;
using Ingest.Core.Payload;
using Ingest.FuzzTests.Engine;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Payload;

/// <summary>
/// <see cref="JsonScanner"/> against System.Text.Json on the same bytes, and
/// <see cref="JsonSchema"/> loading and validating: no exception, the scanner accepts exactly what
/// the reference reader accepts (away from the depth limit), every error names a path.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class JsonFuzz(ITestOutputHelper output)
{
    private const string JsonAlphabet = "[]{},:\"\\ \n\t0123456789.eE+-truefalsnu/\u00e9";

    private static readonly string[] Dictionary = ["\"", "\\\"", "\\u", "\\ud800", "\\udc00", "\\uD83D\\uDE00", "1e999", "-0", "0.0e-0", "01", "NaN", "Infinity", "null", "true", "false", "[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]", "{\"a\":", "\u00ff", "\uFEFF", "/*", "*/", "//"];

    private static readonly JsonSchema[] Schemas = Corpus.Load("schema").Seeds
        .Select(s => JsonSchema.Load(Encoding.UTF8.GetString(s), new List<string>()))
        .OfType<JsonSchema>()
        .ToArray();

    [Fact]
    public void Json_scanner_agrees_with_System_Text_Json_and_schemas_never_throw() =>
        FuzzRunner.RunAndAssert("json", Mutations.Inputs(Corpus.Load("json"), Mutations.TextFrom(JsonAlphabet), Dictionary), CheckJson, output);

    [Fact]
    public void Schema_sources_load_or_list_their_errors() =>
        FuzzRunner.RunAndAssert("schema", Mutations.Inputs(Corpus.Load("schema"), Mutations.TextFrom(JsonAlphabet), [.. Dictionary, "\"type\":", "\"object\"", "\"properties\":", "\"required\":", "\"items\":", "\"enum\":", "\"pattern\":", "\"minimum\":", "\"maxLength\":", "\"$ref\":", "\"additionalProperties\":", "\"anyOf\":", "(a+)+$"]), CheckSchema, output);

    [Fact]
    public void Schema_seeds_load()
    {
        Assert.True(Schemas.Length >= 10, $"{Schemas.Length} schema seeds load");
    }

    internal static void CheckJson(byte[] input)
    {
        var error = JsonScanner.Validate(input);
        if (error is { } e)
        {
            PropertyBrokenException.Check(e.Path.StartsWith('$') && !string.IsNullOrEmpty(e.Reason), $"error without a path or reason: {e}");
        }
        // Accepted by the scanner: the reference reads it too (any depth up to the scanner's own limit).
        var deep = Parse(input, 256);
        if (error is null)
        {
            PropertyBrokenException.Check(deep is not null, "the scanner accepts what System.Text.Json refuses");
        }
        // Read by the reference well within the depth limit: the scanner accepts it.
        using var shallow = Parse(input, 32);
        if (shallow is not null)
        {
            PropertyBrokenException.Check(error is null, $"the scanner refuses valid JSON: {error}");
            foreach (var schema in Schemas)
            {
                if (schema.Validate(shallow.RootElement) is { } schemaError)
                {
                    PropertyBrokenException.Check(schemaError.Path.StartsWith('$'), $"schema error without a path: {schemaError}");
                }
            }
        }
        deep?.Dispose();

        var items = new List<Range>();
        if (JsonScanner.SplitArray(input, items, 50, out var tooMany) is null && !tooMany)
        {
            foreach (var item in items)
            {
                PropertyBrokenException.Check(Parse(input.AsMemory()[item], 256) is { } doc && Dispose(doc), "a split item is not JSON");
            }
        }
    }

    internal static void CheckSchema(byte[] input)
    {
        var source = Encoding.UTF8.GetString(input);
        if (source.TrimStart().StartsWith("file:", StringComparison.Ordinal))
        {
            // Paths come from the operator's config, not from clients.
            return;
        }
        var errors = new List<string>();
        var schema = JsonSchema.Load(source, errors);
        PropertyBrokenException.Check((schema is null) == (errors.Count > 0), $"schema {(schema is null ? "null" : "loaded")} with {errors.Count} errors");
        if (schema is null)
        {
            return;
        }
        foreach (var instance in Instances)
        {
            using var document = JsonDocument.Parse(instance);
            schema.Validate(document.RootElement);
        }
    }

    private static readonly string[] Instances =
    [
        "{}", "[]", "null", "true", "0", "-1.5e3", "\"\"", "\"text \\u00e9\"", """{"temp":21.5,"device":"d-1","tags":["a","b"],"nested":{"x":[1,{"y":null}]}}""", "[1,\"two\",{\"3\":[4]}]", "12345678901234567890123456789", """{"a":{"a":{"a":{"a":{}}}}}""",
    ];

    private static JsonDocument? Parse(ReadOnlyMemory<byte> json, int maxDepth)
    {
        try
        {
            return JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool Dispose(JsonDocument document)
    {
        document.Dispose();
        return true;
    }
}
