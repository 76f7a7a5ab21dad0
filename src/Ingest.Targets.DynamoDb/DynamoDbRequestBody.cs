using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Ingest.Targets.DynamoDb;

/// <summary>
/// The body sent to DynamoDB from a rendered request template: a JSON object, with
/// <c>TableName</c> set to the target's table. A template may leave <c>TableName</c> out; naming
/// another table is refused, so that a route can only ever touch its own table.
/// </summary>
internal static class DynamoDbRequestBody
{
    // DynamoDB nests documents at most 32 levels; the request wraps them a few more.
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    /// <summary>The body to send, or null with <paramref name="error"/> saying what is wrong with the rendered text.</summary>
    public static byte[]? Prepare(string rendered, string table, out string? error)
    {
        var utf8 = Encoding.UTF8.GetBytes(rendered);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, Options);
        }
        catch (JsonException ex)
        {
            error = $"the rendered request is not JSON ({ex.Message}); use json_escape or json for values taken from the request";
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = $"the rendered request is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object";
                return null;
            }
            if (root.TryGetProperty("TableName", out var named))
            {
                if (named.ValueKind != JsonValueKind.String || named.GetString() != table)
                {
                    error = $"the rendered request names TableName {named.GetRawText()}; this target only uses table '{table}'. Remove TableName from the template";
                    return null;
                }
                error = null;
                return utf8;
            }
            var buffer = new ArrayBufferWriter<byte>(utf8.Length + table.Length + 16);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("TableName", table);
                foreach (var property in root.EnumerateObject())
                {
                    property.WriteTo(writer);
                }
                writer.WriteEndObject();
            }
            error = null;
            return buffer.WrittenSpan.ToArray();
        }
    }
}
