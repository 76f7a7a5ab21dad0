using System.Globalization;
using System.Text;
using System.Text.Json;
using Fluid;
using Fluid.Values;
using Ingest.Core.Integration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Templates;

/// <summary>
/// What a template sees: <c>input</c> (body, parameters), <c>stageVariables</c>, <c>context</c>
/// (request id, source ip, identity, time, route, stage) and, in a response template,
/// <c>integration</c> (the backend's status, headers and body). Values are read when the template
/// reaches them: the body is decoded or parsed only if the template uses it. docs/templates.md lists every name.
/// </summary>
public sealed class TemplateScope
{
    private readonly IntegrationRequest _request;
    private readonly IntegrationResult? _response;
    private string? _body;
    private FluidValue? _json;
    private string? _responseBody;
    private FluidValue? _responseJson;

    private TemplateScope(IntegrationRequest request, IntegrationResult? response)
    {
        _request = request;
        _response = response;
    }

    /// <summary>Scope of a request template.</summary>
    public static TemplateScope ForRequest(IntegrationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new TemplateScope(request, null);
    }

    /// <summary>Scope of a response template: the request's, plus the backend's status, headers and body.</summary>
    public static TemplateScope ForResponse(IntegrationRequest request, IntegrationResult response)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(response);
        return new TemplateScope(request, response);
    }

    /// <summary>The request time every <c>date</c> filter's <c>'now'</c> reads, so a render is repeatable.</summary>
    internal DateTimeOffset Now => _request.RequestTime;

    internal void Bind(TemplateContext context)
    {
        context.SetValue("input", new DictionaryValue(new InputMembers(this)));
        context.SetValue("context", new DictionaryValue(new ContextMembers(_request)));
        context.SetValue("stageVariables", new DictionaryValue(new StringMap(_request.StageVariables)));
        if (_response is not null)
        {
            context.SetValue("integration", new DictionaryValue(new IntegrationMembers(this)));
        }
    }

    private string Body => _body ??= _request.IsBinary ? Convert.ToBase64String(_request.Body.Span) : Encoding.UTF8.GetString(_request.Body.Span);

    private FluidValue Json => _json ??= Parse(_request.Body);

    private string ResponseBody => _responseBody ??= Encoding.UTF8.GetString(_response!.Body.Span);

    private FluidValue ResponseJson => _responseJson ??= Parse(_response!.Body);

    // The scope lives for one request; its document is collected with it (pooled buffers are simply not returned).
    private static FluidValue Parse(ReadOnlyMemory<byte> body) =>
        JsonValues.TryParse(body) is { } document ? JsonValues.From(document.RootElement) : NilValue.Instance;

    /// <summary>A fixed set of names whose values are made when read.</summary>
    private abstract class Members(string[] names) : IFluidIndexable
    {
        public int Count => names.Length;

        public IEnumerable<string> Keys => names;

        public bool TryGetValue(string name, out FluidValue value)
        {
            value = Get(name)!;
            return value is not null;
        }

        protected abstract FluidValue? Get(string name);
    }

    private sealed class InputMembers(TemplateScope scope) : Members(Names)
    {
        private static readonly string[] Names = ["body", "json", "isBase64Encoded", "path", "query", "header", "headers"];

        protected override FluidValue? Get(string name) => name switch
        {
            "body" => new StringValue(scope.Body, false),
            "json" => scope.Json,
            "isBase64Encoded" => BooleanValue.Create(scope._request.IsBinary),
            "path" => new DictionaryValue(new StringMap(scope._request.PathParameters)),
            "query" => new DictionaryValue(new QueryMap(scope._request.Context.Http.Request.Query)),
            "header" or "headers" => new DictionaryValue(new HeaderMap(scope._request.Context.Http.Request.Headers)),
            _ => null,
        };
    }

    private sealed class ContextMembers(IntegrationRequest request) : Members(Names)
    {
        private static readonly string[] Names = ["requestId", "sourceIp", "identity", "authorizer", "requestTime", "requestTimeEpoch", "httpMethod", "routeKey", "resourcePath", "path", "stage", "domainName", "traceparent"];

        protected override FluidValue? Get(string name)
        {
            var context = request.Context;
            return name switch
            {
                "requestId" => new StringValue(context.RequestId.ToString(), false),
                "sourceIp" => Text(context.ClientIp?.ToString()),
                "identity" => new DictionaryValue(new IdentityMembers(request)),
                "authorizer" => new DictionaryValue(new AuthorizerMembers(request)),
                "requestTime" => new StringValue(request.RequestTime.UtcDateTime.ToString("dd/MMM/yyyy:HH:mm:ss +0000", CultureInfo.InvariantCulture), false),
                "requestTimeEpoch" => NumberValue.Create(request.RequestTime.ToUnixTimeMilliseconds()),
                "httpMethod" => new StringValue(context.Http.Request.Method, false),
                "routeKey" => new StringValue(context.Route.RouteKey, false),
                "resourcePath" => new StringValue(ResourcePath(context.Route.RouteKey), false),
                "path" => new StringValue(context.Http.Request.Path.Value ?? "/", false),
                "stage" => new StringValue(context.Route.Stage ?? "$default", false),
                "domainName" => new StringValue(context.Http.Request.Host.Host, false),
                "traceparent" => new StringValue(request.TraceParent, false),
                _ => null,
            };
        }

        private static string ResourcePath(string routeKey)
        {
            var space = routeKey.IndexOf(' ', StringComparison.Ordinal);
            return space >= 0 ? routeKey[(space + 1)..] : routeKey;
        }
    }

    private sealed class IdentityMembers(IntegrationRequest request) : Members(Names)
    {
        private static readonly string[] Names = ["apiKeyId", "principal", "sourceIp", "userAgent"];

        protected override FluidValue? Get(string name) => name switch
        {
            "apiKeyId" => Text(request.Context.ApiKeyId),
            "principal" => Text(request.Context.Principal),
            "sourceIp" => Text(request.Context.ClientIp?.ToString()),
            "userAgent" => Text(request.Context.Http.Request.Headers.UserAgent.ToString()),
            _ => null,
        };
    }

    /// <summary><c>context.authorizer</c>: <c>principalId</c> and the context values an authorizer returned.</summary>
    private sealed class AuthorizerMembers(IntegrationRequest request) : IFluidIndexable
    {
        public int Count => Keys.Count();

        public IEnumerable<string> Keys =>
            (request.Context.AuthorizerContext?.Keys ?? []).Where(k => k != "principalId").Prepend("principalId");

        public bool TryGetValue(string name, out FluidValue value)
        {
            if (request.Context.AuthorizerContext is { } values && values.TryGetValue(name, out var text))
            {
                value = new StringValue(text, false);
                return true;
            }
            if (name == "principalId")
            {
                value = Text(request.Context.Principal);
                return true;
            }
            value = NilValue.Instance;
            return false;
        }
    }

    private sealed class IntegrationMembers(TemplateScope scope) : Members(Names)
    {
        private static readonly string[] Names = ["status", "body", "json", "contentType", "header", "headers"];

        protected override FluidValue? Get(string name) => name switch
        {
            "status" => NumberValue.Create(scope._response!.IntegrationStatus != 0 ? scope._response.IntegrationStatus : scope._response.StatusCode),
            "body" => new StringValue(scope.ResponseBody, false),
            "json" => scope.ResponseJson,
            "contentType" => Text(scope._response!.ContentType),
            "header" or "headers" => new DictionaryValue(new ResponseHeaderMap(scope._response!)),
            _ => null,
        };
    }

    private sealed class StringMap(IReadOnlyDictionary<string, string> values) : IFluidIndexable
    {
        public int Count => values.Count;

        public IEnumerable<string> Keys => values.Keys;

        public bool TryGetValue(string name, out FluidValue value)
        {
            if (values.TryGetValue(name, out var text))
            {
                value = new StringValue(text, false);
                return true;
            }
            value = NilValue.Instance;
            return false;
        }
    }

    /// <summary>Query parameters; a repeated one is its values joined by commas (as HTTP APIs pass them).</summary>
    private sealed class QueryMap(IQueryCollection query) : IFluidIndexable
    {
        public int Count => query.Count;

        public IEnumerable<string> Keys => query.Keys;

        public bool TryGetValue(string name, out FluidValue value)
        {
            if (query.TryGetValue(name, out var values))
            {
                value = new StringValue(values.ToString(), false);
                return true;
            }
            value = NilValue.Instance;
            return false;
        }
    }

    /// <summary>Request headers by name, any case; a repeated one is its values joined by commas.</summary>
    private sealed class HeaderMap(IHeaderDictionary headers) : IFluidIndexable
    {
        public int Count => headers.Count;

        public IEnumerable<string> Keys => headers.Keys;

        public bool TryGetValue(string name, out FluidValue value)
        {
            if (headers.TryGetValue(name, out var values))
            {
                value = new StringValue(values.ToString(), false);
                return true;
            }
            value = NilValue.Instance;
            return false;
        }
    }

    /// <summary>The backend's response headers by name, any case, with <c>Content-Type</c>.</summary>
    private sealed class ResponseHeaderMap(IntegrationResult response) : IFluidIndexable
    {
        public int Count => Keys.Count();

        public IEnumerable<string> Keys =>
            response.Headers.Select(h => h.Key).Concat(response.ContentType is null ? [] : ["Content-Type"]).Distinct(StringComparer.OrdinalIgnoreCase);

        public bool TryGetValue(string name, out FluidValue value)
        {
            StringValues found = default;
            foreach (var (key, values) in response.Headers)
            {
                if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    found = StringValues.Concat(found, values);
                }
            }
            if (found.Count == 0 && response.ContentType is { } contentType && name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                found = contentType;
            }
            value = found.Count == 0 ? NilValue.Instance : new StringValue(found.ToString(), false);
            return found.Count > 0;
        }
    }

    private static FluidValue Text(string? value) => string.IsNullOrEmpty(value) ? NilValue.Instance : new StringValue(value, false);
}
