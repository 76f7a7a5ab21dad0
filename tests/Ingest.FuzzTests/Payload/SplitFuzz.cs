using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Payload;
using Ingest.FuzzTests.Engine;
using Microsoft.Extensions.Primitives;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Payload;

/// <summary>
/// <c>split: ndjson</c> and <c>split: array</c> (<see cref="PayloadPolicy.Decode(ReadOnlyMemory{byte}, StringValues)"/>):
/// a body becomes events or a clear rejection, never an exception; every event is valid JSON and a
/// slice of the body; when System.Text.Json reads the whole body as an array (or each line), the
/// split finds exactly as many items.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class SplitFuzz(ITestOutputHelper output)
{
    private const int MaxItems = 100;

    private static readonly string[] Dictionary = ["\n", "\r\n", "[", "]", "{", "}", ",", "\"", "\\\"", "\\u00", "\\ud800", "1e999", "-0", "null", "true", "[[[[[[[[", "]]]]]]]]", "\t", " ", "\u2028", "\uFEFF"];

    private static readonly PayloadPolicy Ndjson = Compile("ndjson");
    private static readonly PayloadPolicy Array = Compile("array");

    [Fact]
    public void Ndjson_and_array_bodies_split_into_valid_items_or_a_clear_rejection() =>
        FuzzRunner.RunAndAssert("split", Mutations.Inputs(Corpus.Load("split"), Mutations.TextFrom("[]{},:\"\\ \n\r\t0123456789.eE+-truefalsn"), Dictionary), Check, output);

    internal static void Check(byte[] input)
    {
        CheckNdjson(input);
        CheckArray(input);
    }

    private static void CheckNdjson(byte[] input)
    {
        var decoded = Ndjson.Decode(input, StringValues.Empty);
        CheckItems(input, decoded);
        if (decoded.Rejection is not null)
        {
            return;
        }
        // Reference: one event per line that is not blank, each read by System.Text.Json.
        var expected = 0;
        var parsed = 0;
        for (var position = 0; position < input.Length;)
        {
            var newline = input.AsSpan(position).IndexOf((byte)'\n');
            var end = newline < 0 ? input.Length : position + newline;
            var raw = input.AsMemory(position..end);
            position = end + 1;
            if (raw.Span.IndexOfAnyExcept(" \t\r"u8) < 0)
            {
                continue;
            }
            expected++;
            var line = raw.Span[^1] == (byte)'\r' ? raw[..^1] : raw;
            if (ParsesShallow(line))
            {
                parsed++;
            }
        }
        PropertyBrokenException.Check(decoded.Count + (decoded.Rejected?.Count ?? 0) == expected, $"ndjson: {decoded.Count} items + {decoded.Rejected?.Count ?? 0} rejected for {expected} lines");
        PropertyBrokenException.Check(decoded.Count >= parsed, $"ndjson: {parsed} lines parse but only {decoded.Count} items");
    }

    private static void CheckArray(byte[] input)
    {
        var decoded = Array.Decode(input, StringValues.Empty);
        CheckItems(input, decoded);
        // Reference: a body System.Text.Json reads as an array of N (shallow) elements splits into N.
        try
        {
            using var document = JsonDocument.Parse(input, new JsonDocumentOptions { MaxDepth = 32 });
            if (document.RootElement.ValueKind == JsonValueKind.Array)
            {
                var count = document.RootElement.GetArrayLength();
                if (count is > 0 and <= MaxItems)
                {
                    PropertyBrokenException.Check(decoded.Rejection is null && decoded.Count == count, $"array: {count} elements but {(decoded.Rejection is null ? decoded.Count + " items" : "a rejection")}");
                }
            }
        }
        catch (JsonException)
        {
        }
    }

    private static void CheckItems(byte[] input, DecodedPayload decoded)
    {
        if (decoded.Rejection is not null)
        {
            PropertyBrokenException.Check(decoded.Items is null || decoded.Items.Count == 0, "a rejection with items");
            return;
        }
        PropertyBrokenException.Check(decoded.Items is not null, "split without items or rejection");
        PropertyBrokenException.Check(decoded.Count <= MaxItems, $"{decoded.Count} items past maxItems {MaxItems}");
        foreach (var item in decoded.Items!)
        {
            PropertyBrokenException.Check(input.AsSpan().IndexOf(item.Span) >= 0, "an item that is not a slice of the body");
            try
            {
                using var _ = JsonDocument.Parse(item, new JsonDocumentOptions { MaxDepth = 256 });
            }
            catch (JsonException e)
            {
                throw new PropertyBrokenException("an accepted item is not JSON", e);
            }
        }
    }

    private static bool ParsesShallow(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var _ = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 32 });
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static PayloadPolicy Compile(string split)
    {
        var config = ConfigLoader.Load($$"""
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /v1/events, target: sink, auth: none, public: true, split: {{split}}, maxItems: {{MaxItems}} }]
            """);
        return PayloadPolicy.Compile(config, config.Routes[0]);
    }
}
