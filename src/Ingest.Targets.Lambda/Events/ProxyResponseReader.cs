using System.Globalization;
using System.Text.Json;
using Ingest.Core.Integration;
using Microsoft.Extensions.Primitives;

namespace Ingest.Targets.Lambda.Events;

/// <summary>
/// Turns a function's proxy answer into the client's response, as API Gateway reads it:
/// <c>statusCode</c>, <c>headers</c>, <c>multiValueHeaders</c> (their values win for a name in
/// both), <c>body</c>, <c>isBase64Encoded</c> (decoded bit-exact) and, in 2.0, <c>cookies</c> (one
/// <c>Set-Cookie</c> each). In 2.0 an answer without <c>statusCode</c> (any JSON value) is the body
/// of a 200 <c>application/json</c> response. Anything else is malformed:
/// <see cref="IntegrationFailure.InvalidResponse"/> with the reason.
/// </summary>
internal static class ProxyResponseReader
{
    /// <summary>Content type when the function sets none.</summary>
    public const string DefaultContentType = "application/json";

    /// <summary>Reads <paramref name="payload"/> (the Invoke answer) as a proxy response.</summary>
    public static IntegrationResult Read(byte[] payload, LambdaPayloadFormat format, int integrationStatus)
    {
        if (payload.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return Malformed("the function's answer is empty", integrationStatus);
        }
        try
        {
            return ReadCore(payload, format, integrationStatus);
        }
        catch (JsonException ex)
        {
            return Malformed($"the function's answer is not JSON ({ex.Message})", integrationStatus);
        }
        catch (InvalidOperationException ex)
        {
            // A string that is not UTF-8, or escapes a lone surrogate: JSON the reader accepts but no text.
            return Malformed($"the function's answer holds a string that is not valid Unicode ({ex.Message})", integrationStatus);
        }
    }

    private static IntegrationResult ReadCore(byte[] payload, LambdaPayloadFormat format, int integrationStatus)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            if (format == LambdaPayloadFormat.V1)
            {
                return Malformed("the function's answer is not a JSON object with statusCode", integrationStatus);
            }
            reader.Skip();
            EnsureEnd(ref reader);
            return PlainJson(payload, integrationStatus);
        }

        int? status = null;
        string? statusError = null;
        var headers = new List<KeyValuePair<string, StringValues>>();
        List<KeyValuePair<string, StringValues>>? multiValueHeaders = null;
        List<string>? cookies = null;
        var isBase64 = false;
        var hasBody = false;
        var bodyReader = default(Utf8JsonReader);
        string? shapeError = null;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("statusCode"u8))
            {
                reader.Read();
                status = ReadStatus(ref reader, out statusError);
            }
            else if (reader.ValueTextEquals("headers"u8))
            {
                reader.Read();
                shapeError ??= ReadHeaders(ref reader, headers, multiValue: false, "headers");
            }
            else if (reader.ValueTextEquals("multiValueHeaders"u8))
            {
                reader.Read();
                multiValueHeaders = [];
                shapeError ??= ReadHeaders(ref reader, multiValueHeaders, multiValue: true, "multiValueHeaders");
            }
            else if (reader.ValueTextEquals("body"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    hasBody = true;
                    // Kept to decode once isBase64Encoded is known (it may come later).
                    bodyReader = reader;
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    shapeError ??= $"body is a {Describe(reader.TokenType)}, not a string";
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("isBase64Encoded"u8))
            {
                reader.Read();
                if (reader.TokenType is JsonTokenType.True or JsonTokenType.False)
                {
                    isBase64 = reader.GetBoolean();
                }
                else if (reader.TokenType != JsonTokenType.Null)
                {
                    shapeError ??= $"isBase64Encoded is a {Describe(reader.TokenType)}, not true or false";
                    reader.Skip();
                }
            }
            else if (format == LambdaPayloadFormat.V2 && reader.ValueTextEquals("cookies"u8))
            {
                reader.Read();
                cookies = [];
                shapeError ??= ReadCookies(ref reader, cookies);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }
        EnsureEnd(ref reader);

        if (status is null && statusError is null)
        {
            if (format == LambdaPayloadFormat.V2)
            {
                // HTTP APIs: no statusCode means the whole answer is the body.
                return PlainJson(payload, integrationStatus);
            }
            return Malformed("statusCode is missing", integrationStatus);
        }
        if (statusError is not null)
        {
            return Malformed(statusError, integrationStatus);
        }
        if (shapeError is not null)
        {
            return Malformed(shapeError, integrationStatus);
        }

        byte[] body = [];
        if (hasBody)
        {
            if (isBase64)
            {
                if (!bodyReader.TryGetBytesFromBase64(out var decoded))
                {
                    return Malformed("body is not valid base64 while isBase64Encoded is true", integrationStatus);
                }
                body = decoded ?? [];
            }
            else
            {
                body = Utf8Bytes(ref bodyReader);
            }
        }

        if (status is 204 or 304)
        {
            // These statuses have no body (HTTP); whatever the function put there is dropped.
            body = [];
        }
        var merged = Merge(headers, multiValueHeaders, cookies, out var contentType);
        return new IntegrationResult
        {
            IntegrationStatus = integrationStatus,
            StatusCode = status!.Value,
            Headers = merged,
            ContentType = contentType ?? (body.Length > 0 ? DefaultContentType : null),
            Body = body,
        };
    }

    private static IntegrationResult PlainJson(byte[] payload, int integrationStatus) => new()
    {
        IntegrationStatus = integrationStatus,
        StatusCode = 200,
        ContentType = DefaultContentType,
        Body = payload,
    };

    private static IntegrationResult Malformed(string reason, int integrationStatus) =>
        IntegrationResult.Failed(IntegrationFailure.InvalidResponse, "malformed Lambda proxy response: " + reason, integrationStatus);

    private static int? ReadStatus(ref Utf8JsonReader reader, out string? error)
    {
        error = null;
        int status;
        switch (reader.TokenType)
        {
            case JsonTokenType.Number when reader.TryGetInt32(out status):
                break;
            case JsonTokenType.String when int.TryParse(reader.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out status):
                // API Gateway accepts "200" as well as 200.
                break;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                error = "statusCode is not a number";
                return null;
            default:
                error = "statusCode is not a number";
                return null;
        }
        if (status is < 200 or > 599)
        {
            // 1xx are not final answers.
            error = $"statusCode {status} is not an HTTP status for a response";
            return null;
        }
        return status;
    }

    private static string? ReadHeaders(ref Utf8JsonReader reader, List<KeyValuePair<string, StringValues>> into, bool multiValue, string field)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            var error = $"{field} is a {Describe(reader.TokenType)}, not an object";
            reader.Skip();
            return error;
        }
        string? firstError = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (multiValue && reader.TokenType == JsonTokenType.StartArray)
            {
                var values = new List<string>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (ScalarText(ref reader) is { } value)
                    {
                        values.Add(value);
                    }
                    else if (reader.TokenType != JsonTokenType.Null)
                    {
                        firstError ??= $"{field}.{name} holds a {Describe(reader.TokenType)}, not a string";
                        reader.Skip();
                    }
                }
                into.Add(new(name, values.ToArray()));
            }
            else if (ScalarText(ref reader) is { } value)
            {
                into.Add(new(name, value));
            }
            else if (reader.TokenType != JsonTokenType.Null)
            {
                firstError ??= $"{field}.{name} is a {Describe(reader.TokenType)}, not {(multiValue ? "a list of strings" : "a string")}";
                reader.Skip();
            }
        }
        return firstError;
    }

    private static string? ReadCookies(ref Utf8JsonReader reader, List<string> into)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            var error = $"cookies is a {Describe(reader.TokenType)}, not a list of strings";
            reader.Skip();
            return error;
        }
        string? firstError = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                into.Add(reader.GetString()!);
            }
            else
            {
                firstError ??= $"cookies holds a {Describe(reader.TokenType)}, not a string";
                reader.Skip();
            }
        }
        return firstError;
    }

    /// <summary>Strings as they are; numbers and booleans as written (API Gateway turns them into text too).</summary>
    private static string? ScalarText(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => System.Text.Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => null,
    };

    private static byte[] Utf8Bytes(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan.ToArray();
        }
        // Unescaped text is never longer than its escaped form.
        var buffer = new byte[reader.ValueSpan.Length];
        var written = reader.CopyString(buffer);
        return written == buffer.Length ? buffer : buffer.AsSpan(0, written).ToArray();
    }

    /// <summary>
    /// One list of response headers: <c>multiValueHeaders</c> replace <c>headers</c> of the same
    /// name, cookies become <c>Set-Cookie</c>; hop-by-hop headers and <c>Content-Length</c> are left
    /// to the gateway and <c>Content-Type</c> is returned apart.
    /// </summary>
    private static List<KeyValuePair<string, StringValues>> Merge(
        List<KeyValuePair<string, StringValues>> headers,
        List<KeyValuePair<string, StringValues>>? multiValueHeaders,
        List<string>? cookies,
        out string? contentType)
    {
        contentType = null;
        var merged = new List<KeyValuePair<string, StringValues>>(headers.Count + (multiValueHeaders?.Count ?? 0) + 1);
        foreach (var header in headers)
        {
            if (multiValueHeaders is null || !multiValueHeaders.Exists(m => m.Key.Equals(header.Key, StringComparison.OrdinalIgnoreCase)))
            {
                merged.Add(header);
            }
        }
        if (multiValueHeaders is not null)
        {
            merged.AddRange(multiValueHeaders);
        }
        for (var i = merged.Count - 1; i >= 0; i--)
        {
            var name = merged[i].Key;
            if (name.Equals("content-type", StringComparison.OrdinalIgnoreCase))
            {
                contentType ??= merged[i].Value.Count > 0 ? merged[i].Value[^1] : null;
                merged.RemoveAt(i);
            }
            else if (IsHopByHop(name) || name.Length == 0)
            {
                merged.RemoveAt(i);
            }
        }
        if (cookies is { Count: > 0 })
        {
            // One entry per name: the cookies join a Set-Cookie the headers may already carry.
            var at = merged.FindIndex(h => h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase));
            if (at >= 0)
            {
                merged[at] = new(merged[at].Key, StringValues.Concat(merged[at].Value, new StringValues(cookies.ToArray())));
            }
            else
            {
                merged.Add(new("Set-Cookie", cookies.ToArray()));
            }
        }
        return merged;
    }

    private static bool IsHopByHop(string name) =>
        name.Equals("content-length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("transfer-encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("upgrade", StringComparison.OrdinalIgnoreCase)
        || name.Equals("proxy-connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("te", StringComparison.OrdinalIgnoreCase)
        || name.Equals("trailer", StringComparison.OrdinalIgnoreCase);

    private static void EnsureEnd(ref Utf8JsonReader reader)
    {
        // Trailing data after the value is not JSON.
        if (reader.Read())
        {
            throw new JsonException($"unexpected {Describe(reader.TokenType)} after the answer");
        }
    }

    private static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "list",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };
}
