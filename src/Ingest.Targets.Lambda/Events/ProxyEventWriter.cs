using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using Ingest.Core.Integration;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Ingest.Targets.Lambda.Events;

/// <summary>
/// Writes the API Gateway proxy event a function receives, in payload format 1.0 (REST APIs) or
/// 2.0 (HTTP APIs), field names and shapes as API Gateway sends them. Differences kept from AWS:
/// 2.0 joins repeated headers and query parameters with commas and moves <c>Cookie</c> into
/// <c>cookies</c>; 1.0 keeps header names as received and gives the last value in <c>headers</c> and
/// all of them in <c>multiValueHeaders</c>. Binary bodies, and bodies that are not UTF-8, are sent
/// base64 with <c>isBase64Encoded: true</c>. The gateway adds <c>X-Forwarded-For</c>,
/// <c>X-Forwarded-Proto</c>, <c>X-Forwarded-Port</c> and its <c>traceparent</c>; a body it inflated
/// loses its <c>Content-Encoding</c>.
/// </summary>
internal static class ProxyEventWriter
{
    /// <summary>Time format of <c>requestContext.requestTime</c> / <c>time</c>, e.g. <c>12/Mar/2020:19:03:58 +0000</c>.</summary>
    public const string TimeFormat = "dd/MMM/yyyy:HH:mm:ss +0000";

    /// <summary>Writes the event of <paramref name="request"/> in <paramref name="format"/>.</summary>
    public static void Write(Utf8JsonWriter writer, IntegrationRequest request, LambdaPayloadFormat format)
    {
        var headers = EventHeaders(request);
        if (format == LambdaPayloadFormat.V1)
        {
            WriteV1(writer, request, headers);
        }
        else
        {
            WriteV2(writer, request, headers);
        }
        writer.Flush();
    }

    private static void WriteV1(Utf8JsonWriter w, IntegrationRequest request, List<KeyValuePair<string, StringValues>> headers)
    {
        var context = request.Context;
        var http = context.Http.Request;
        var route = context.Route;
        var resource = Resource(route.RouteKey);
        var fullPath = FullPath(http);
        w.WriteStartObject();
        w.WriteString("version"u8, "1.0"u8);
        w.WriteString("resource"u8, resource);
        w.WriteString("path"u8, WithoutStage(fullPath, route.Stage));
        w.WriteString("httpMethod"u8, http.Method);

        w.WriteStartObject("headers"u8);
        foreach (var (name, values) in headers)
        {
            w.WriteString(name, values.Count > 0 ? values[^1] : "");
        }
        w.WriteEndObject();
        w.WriteStartObject("multiValueHeaders"u8);
        foreach (var (name, values) in headers)
        {
            WriteArray(w, name, values);
        }
        w.WriteEndObject();

        if (http.Query.Count == 0)
        {
            w.WriteNull("queryStringParameters"u8);
            w.WriteNull("multiValueQueryStringParameters"u8);
        }
        else
        {
            w.WriteStartObject("queryStringParameters"u8);
            foreach (var (name, values) in http.Query)
            {
                w.WriteString(name, values.Count > 0 ? values[^1] : "");
            }
            w.WriteEndObject();
            w.WriteStartObject("multiValueQueryStringParameters"u8);
            foreach (var (name, values) in http.Query)
            {
                WriteArray(w, name, values);
            }
            w.WriteEndObject();
        }

        w.WriteStartObject("requestContext"u8);
        WriteDomain(w, http);
        w.WriteString("extendedRequestId"u8, context.RequestId);
        w.WriteString("httpMethod"u8, http.Method);
        w.WriteStartObject("identity"u8);
        w.WriteNull("accessKey"u8);
        w.WriteNull("accountId"u8);
        w.WriteNull("apiKey"u8);
        WriteStringOrNull(w, "apiKeyId"u8, context.ApiKeyId);
        w.WriteNull("caller"u8);
        w.WriteNull("cognitoAuthenticationProvider"u8);
        w.WriteNull("cognitoAuthenticationType"u8);
        w.WriteNull("cognitoIdentityId"u8);
        w.WriteNull("cognitoIdentityPoolId"u8);
        w.WriteNull("principalOrgId"u8);
        w.WriteString("sourceIp"u8, SourceIp(request));
        w.WriteNull("user"u8);
        WriteStringOrNull(w, "userAgent"u8, http.Headers.UserAgent.Count > 0 ? http.Headers.UserAgent.ToString() : null);
        w.WriteNull("userArn"u8);
        w.WriteEndObject();
        w.WriteString("path"u8, fullPath);
        w.WriteString("protocol"u8, http.Protocol);
        w.WriteString("requestId"u8, context.RequestId);
        w.WriteString("requestTime"u8, request.RequestTime.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
        w.WriteNumber("requestTimeEpoch"u8, request.RequestTime.ToUnixTimeMilliseconds());
        w.WriteString("resourcePath"u8, resource);
        w.WriteString("stage"u8, route.Stage ?? "$default");
        if (context.Principal is not null || context.AuthorizerContext is not null)
        {
            // A REST API's Lambda authorizer: principalId beside the context values.
            w.WriteStartObject("authorizer"u8);
            WriteStringOrNull(w, "principalId"u8, context.Principal);
            foreach (var (name, value) in context.AuthorizerContext ?? EmptyMap)
            {
                if (name != "principalId")
                {
                    w.WriteString(name, value);
                }
            }
            w.WriteEndObject();
        }
        w.WriteEndObject();

        WriteMapOrNull(w, "pathParameters"u8, request.PathParameters);
        WriteMapOrNull(w, "stageVariables"u8, request.StageVariables);
        WriteBody(w, request, omitWhenEmpty: false);
        w.WriteEndObject();
    }

    private static void WriteV2(Utf8JsonWriter w, IntegrationRequest request, List<KeyValuePair<string, StringValues>> headers)
    {
        var context = request.Context;
        var http = context.Http.Request;
        var route = context.Route;
        w.WriteStartObject();
        w.WriteString("version"u8, "2.0"u8);
        w.WriteString("routeKey"u8, route.RouteKey);
        w.WriteString("rawPath"u8, RawPath(http));
        w.WriteString("rawQueryString"u8, http.QueryString.HasValue ? http.QueryString.Value!.AsSpan(1) : default);

        var cookies = http.Headers.Cookie;
        if (cookies.Count > 0)
        {
            w.WriteStartArray("cookies"u8);
            foreach (var header in cookies)
            {
                foreach (var cookie in (header ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    w.WriteStringValue(cookie);
                }
            }
            w.WriteEndArray();
        }

        w.WriteStartObject("headers"u8);
        foreach (var (name, values) in headers)
        {
            if (!name.Equals("cookie", StringComparison.OrdinalIgnoreCase))
            {
                w.WriteString(name.ToLowerInvariant(), values.ToString());
            }
        }
        w.WriteEndObject();

        if (http.Query.Count > 0)
        {
            w.WriteStartObject("queryStringParameters"u8);
            foreach (var (name, values) in http.Query)
            {
                w.WriteString(name, values.ToString());
            }
            w.WriteEndObject();
        }

        w.WriteStartObject("requestContext"u8);
        if (context.Principal is not null || context.AuthorizerContext is not null)
        {
            // An HTTP API's Lambda authorizer puts its context under "lambda".
            w.WriteStartObject("authorizer"u8);
            if (context.Principal is not null)
            {
                w.WriteString("principalId"u8, context.Principal);
            }
            if (context.AuthorizerContext is { } values)
            {
                WriteMap(w, "lambda"u8, values);
            }
            w.WriteEndObject();
        }
        WriteDomain(w, http);
        w.WriteStartObject("http"u8);
        w.WriteString("method"u8, http.Method);
        w.WriteString("path"u8, FullPath(http));
        w.WriteString("protocol"u8, http.Protocol);
        w.WriteString("sourceIp"u8, SourceIp(request));
        w.WriteString("userAgent"u8, http.Headers.UserAgent.ToString());
        w.WriteEndObject();
        w.WriteString("requestId"u8, context.RequestId);
        w.WriteString("routeKey"u8, route.RouteKey);
        w.WriteString("stage"u8, route.Stage ?? "$default");
        w.WriteString("time"u8, request.RequestTime.UtcDateTime.ToString(TimeFormat, CultureInfo.InvariantCulture));
        w.WriteNumber("timeEpoch"u8, request.RequestTime.ToUnixTimeMilliseconds());
        w.WriteEndObject();

        if (request.PathParameters.Count > 0)
        {
            WriteMap(w, "pathParameters"u8, request.PathParameters);
        }
        if (request.StageVariables.Count > 0)
        {
            WriteMap(w, "stageVariables"u8, request.StageVariables);
        }
        WriteBody(w, request, omitWhenEmpty: true);
        w.WriteEndObject();
    }

    /// <summary>The request's headers as the function sees them, in order, plus the forwarding headers.</summary>
    private static List<KeyValuePair<string, StringValues>> EventHeaders(IntegrationRequest request)
    {
        var http = request.Context.Http;
        var source = http.Request.Headers;
        var headers = new List<KeyValuePair<string, StringValues>>(source.Count + 4);
        var inflated = false;
        foreach (var (name, values) in source)
        {
            if (name.Equals("content-encoding", StringComparison.OrdinalIgnoreCase) && IsInflatedEncoding(values))
            {
                // The gateway undid this encoding: the body sent is the plain one.
                inflated = true;
                continue;
            }
            if (name.Equals("x-forwarded-for", StringComparison.OrdinalIgnoreCase)
                || name.Equals("x-forwarded-proto", StringComparison.OrdinalIgnoreCase)
                || name.Equals("x-forwarded-port", StringComparison.OrdinalIgnoreCase)
                || name.Equals("traceparent", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            headers.Add(new(name, values));
        }
        if (inflated)
        {
            for (var i = 0; i < headers.Count; i++)
            {
                if (headers[i].Key.Equals("content-length", StringComparison.OrdinalIgnoreCase))
                {
                    headers[i] = new(headers[i].Key, request.Body.Length.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        // As API Gateway does: the client's address appended to what the client sent.
        var sourceIp = SourceIp(request);
        var forwardedFor = source["X-Forwarded-For"];
        headers.Add(new("X-Forwarded-For", forwardedFor.Count > 0 ? $"{forwardedFor}, {sourceIp}" : sourceIp));
        headers.Add(new("X-Forwarded-Proto", http.Request.Scheme));
        headers.Add(new("X-Forwarded-Port", http.Connection.LocalPort > 0
            ? http.Connection.LocalPort.ToString(CultureInfo.InvariantCulture)
            : http.Request.IsHttps ? "443" : "80"));
        headers.Add(new("traceparent", request.TraceParent));
        return headers;
    }

    private static bool IsInflatedEncoding(StringValues values)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!(part.Equals("gzip", StringComparison.OrdinalIgnoreCase)
                    || part.Equals("x-gzip", StringComparison.OrdinalIgnoreCase)
                    || part.Equals("deflate", StringComparison.OrdinalIgnoreCase)
                    || part.Equals("identity", StringComparison.OrdinalIgnoreCase)))
                {
                    return false;
                }
            }
        }
        return values.Count > 0;
    }

    private static void WriteBody(Utf8JsonWriter w, IntegrationRequest request, bool omitWhenEmpty)
    {
        var body = request.Body.Span;
        if (body.IsEmpty)
        {
            if (!omitWhenEmpty)
            {
                w.WriteNull("body"u8);
            }
            w.WriteBoolean("isBase64Encoded"u8, false);
            return;
        }
        // Text that is not UTF-8 would be changed by a JSON string: send it as base64 as well.
        var base64 = request.IsBinary || !Utf8.IsValid(body);
        if (base64)
        {
            w.WriteBase64String("body"u8, body);
        }
        else
        {
            w.WriteString("body"u8, body);
        }
        w.WriteBoolean("isBase64Encoded"u8, base64);
    }

    private static void WriteDomain(Utf8JsonWriter w, HttpRequest http)
    {
        var host = http.Host.Host;
        w.WriteString("domainName"u8, host);
        var dot = host.IndexOf('.', StringComparison.Ordinal);
        w.WriteString("domainPrefix"u8, dot > 0 ? host.AsSpan(0, dot) : host.AsSpan());
    }

    private static void WriteArray(Utf8JsonWriter w, string name, StringValues values)
    {
        w.WriteStartArray(name);
        foreach (var value in values)
        {
            w.WriteStringValue(value);
        }
        w.WriteEndArray();
    }

    private static void WriteMap(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyDictionary<string, string> values)
    {
        w.WriteStartObject(name);
        foreach (var (key, value) in values)
        {
            w.WriteString(key, value);
        }
        w.WriteEndObject();
    }

    private static void WriteMapOrNull(Utf8JsonWriter w, ReadOnlySpan<byte> name, IReadOnlyDictionary<string, string> values)
    {
        if (values.Count == 0)
        {
            w.WriteNull(name);
        }
        else
        {
            WriteMap(w, name, values);
        }
    }

    private static void WriteStringOrNull(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }

    private static string SourceIp(IntegrationRequest request) =>
        (request.Context.ClientIp ?? request.Context.Http.Connection.RemoteIpAddress)?.ToString() ?? "";

    /// <summary>The route's path template without the method: <c>POST /v1/{id}</c> is <c>/v1/{id}</c>.</summary>
    private static string Resource(string routeKey)
    {
        var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? routeKey : routeKey[(space + 1)..];
    }

    /// <summary>The decoded path as requested (stage prefix included).</summary>
    private static string FullPath(HttpRequest http)
    {
        var path = (http.PathBase + http.Path).Value;
        return string.IsNullOrEmpty(path) ? "/" : path;
    }

    /// <summary>The path as sent on the wire, without the query.</summary>
    private static string RawPath(HttpRequest http)
    {
        var raw = http.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            return (http.PathBase + http.Path).ToUriComponent() is { Length: > 0 } path ? path : "/";
        }
        var question = raw.IndexOf('?', StringComparison.Ordinal);
        return question < 0 ? raw : raw[..question];
    }

    /// <summary>A REST API's <c>path</c> leaves out the stage: <c>/prod/v1/events</c> in stage prod is <c>/v1/events</c>.</summary>
    private static string WithoutStage(string path, string? stage)
    {
        if (stage is null || path.Length <= stage.Length || path[0] != '/' || !path.AsSpan(1).StartsWith(stage, StringComparison.Ordinal))
        {
            return path;
        }
        var rest = path[(stage.Length + 1)..];
        return rest.Length == 0 ? "/" : rest[0] == '/' ? rest : path;
    }

    private static readonly Dictionary<string, string> EmptyMap = [];
}
