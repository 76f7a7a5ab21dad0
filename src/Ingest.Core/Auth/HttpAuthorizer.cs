using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Auth;

/// <summary>
/// A custom authorizer (<c>type: http</c> or <c>type: lambda</c>) with API Gateway's REQUEST
/// contract (payload format 2.0): the gateway sends the request's route, path, headers and
/// identity, the authorizer answers <c>{"isAuthorized": bool, "context": {...}}</c> (or an IAM
/// policy document). Allow: context values go to the request; deny: 403 explicit deny; identity
/// missing: 401; authorizer failed, timed out or unreachable: 500. Results are cached by identity
/// for <c>cacheTtl</c>.
/// </summary>
internal sealed class HttpAuthorizer(
    string name,
    AuthorizerOptions options,
    IdentitySource[] identitySources,
    AuthorizerInvoker invoker,
    AuthorizerResultCache cache,
    TimeProvider time,
    ILogger logger) : AuthStep
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan DefaultCacheTtl = TimeSpan.FromSeconds(300);
    public const int DefaultCacheEntries = 10_000;

    private readonly TimeSpan _ttl = options.CacheTtl ?? DefaultCacheTtl;
    private readonly TimeSpan _timeout = options.Timeout ?? DefaultTimeout;
    private readonly int _capacity = options.CacheEntries ?? DefaultCacheEntries;
    private long _cacheFullLoggedMs;

    public override async ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken)
    {
        var request = context.Http.Request;
        var identities = new string[identitySources.Length];
        for (var i = 0; i < identitySources.Length; i++)
        {
            var source = identitySources[i];
            var values = source.IsHeader ? request.Headers[source.Name] : request.Query[source.Name];
            if (values.Count == 0 || string.IsNullOrEmpty(values[0]))
            {
                return AuthRejections.IdentityMissing;
            }
            identities[i] = values.ToString();
        }

        var key = Sha256Key.Of(Encoding.UTF8.GetBytes(string.Join('\n', identities)));
        if (_ttl > TimeSpan.Zero && cache.TryGet(key, out var cached))
        {
            return Apply(context, cached!);
        }

        AuthorizerResult result;
        using (var timeout = new CancellationTokenSource(_timeout, time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
        {
            try
            {
                var answer = await invoker.InvokeAsync(BuildEvent(context, identities, time.GetUtcNow()), linked.Token);
                result = ParseResult(answer);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Failed($"no answer within {Durations.Format(_timeout)}");
            }
            catch (HttpRequestException e)
            {
                return Failed($"unreachable: {e.HttpRequestError}");
            }
            catch (AuthorizerFailure e)
            {
                return Failed(e.Message);
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
            {
                return Failed("the answer is not an authorizer response (isAuthorized or policyDocument)");
            }
        }

        if (_ttl > TimeSpan.Zero && !cache.Set(key, result, _ttl, _capacity))
        {
            var now = time.GetUtcNow().ToUnixTimeMilliseconds();
            if (now - Interlocked.Read(ref _cacheFullLoggedMs) > 60_000)
            {
                Interlocked.Exchange(ref _cacheFullLoggedMs, now);
                AuthLog.AuthorizerCacheFull(logger, name, cache.Count);
            }
        }
        return Apply(context, result);
    }

    private Rejection Failed(string reason)
    {
        AuthLog.AuthorizerFailed(logger, name, reason);
        return AuthRejections.AuthorizerFailed(reason);
    }

    private static Rejection? Apply(RequestContext context, AuthorizerResult result)
    {
        if (!result.Allowed)
        {
            return AuthRejections.AuthorizerDeny;
        }
        if (result.PrincipalId is not null)
        {
            context.Principal = result.PrincipalId;
        }
        if (result.Context is not null)
        {
            context.AuthorizerContext = context.AuthorizerContext is { Count: > 0 } earlier
                ? earlier.Concat(result.Context).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value)
                : result.Context;
        }
        return null;
    }

    /// <summary>The REQUEST event of payload format 2.0.</summary>
    internal static byte[] BuildEvent(RequestContext context, string[] identities, DateTimeOffset now)
    {
        var request = context.Http.Request;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("version", "2.0");
            json.WriteString("type", "REQUEST");
            json.WriteString("routeKey", context.Route.RouteKey);
            json.WriteString("rawPath", request.Path.Value ?? "/");
            json.WriteString("rawQueryString", request.QueryString.HasValue ? request.QueryString.Value![1..] : "");
            json.WriteStartArray("identitySource");
            foreach (var identity in identities)
            {
                json.WriteStringValue(identity);
            }
            json.WriteEndArray();
            json.WriteStartObject("headers");
            foreach (var (headerName, values) in request.Headers)
            {
                json.WriteString(headerName.ToLowerInvariant(), values.ToString());
            }
            json.WriteEndObject();
            if (request.Query.Count > 0)
            {
                json.WriteStartObject("queryStringParameters");
                foreach (var (queryName, values) in request.Query)
                {
                    json.WriteString(queryName, values.ToString());
                }
                json.WriteEndObject();
            }
            json.WriteStartObject("requestContext");
            json.WriteString("requestId", context.RequestId.ToString());
            json.WriteString("routeKey", context.Route.RouteKey);
            json.WriteString("stage", "$default");
            json.WriteString("sourceIp", context.ClientIp?.ToString());
            json.WriteNumber("timeEpoch", now.ToUnixTimeMilliseconds());
            json.WriteStartObject("http");
            json.WriteString("method", request.Method);
            json.WriteString("path", request.Path.Value ?? "/");
            json.WriteString("protocol", request.Protocol);
            json.WriteString("sourceIp", context.ClientIp?.ToString());
            json.WriteString("userAgent", request.Headers.UserAgent.ToString());
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>The simple response (<c>isAuthorized</c>) or an IAM policy (<c>policyDocument</c>).</summary>
    internal static AuthorizerResult ParseResult(byte[] answer)
    {
        using var document = JsonDocument.Parse(answer);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException("not an object");
        }
        bool allowed;
        if (root.TryGetProperty("isAuthorized", out var isAuthorized) && isAuthorized.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            allowed = isAuthorized.GetBoolean();
        }
        else if (root.TryGetProperty("policyDocument", out var policy) && Property(policy, "Statement") is { } statements)
        {
            var anyAllow = false;
            var anyDeny = false;
            foreach (var statement in statements.ValueKind == JsonValueKind.Array ? statements.EnumerateArray().ToArray() : [statements])
            {
                var effect = Property(statement, "Effect") is { ValueKind: JsonValueKind.String } e ? e.GetString() : null;
                anyAllow |= string.Equals(effect, "Allow", StringComparison.OrdinalIgnoreCase);
                anyDeny |= string.Equals(effect, "Deny", StringComparison.OrdinalIgnoreCase);
            }
            allowed = anyAllow && !anyDeny;
        }
        else
        {
            throw new FormatException("no isAuthorized");
        }
        var principal = root.TryGetProperty("principalId", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        Dictionary<string, string>? values = null;
        if (root.TryGetProperty("context", out var contextElement) && contextElement.ValueKind == JsonValueKind.Object)
        {
            values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in contextElement.EnumerateObject())
            {
                values[property.Name] = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString()! : property.Value.GetRawText();
            }
        }
        return new AuthorizerResult(allowed, principal, values);
    }

    // IAM policy keys are PascalCase; some serializers camelCase them.
    private static JsonElement? Property(JsonElement element, string name)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }
        return null;
    }
}

/// <summary>The authorizer answered, but not with a usable response; the message is the reason.</summary>
internal sealed class AuthorizerFailure(string message) : Exception(message);

/// <summary>How an authorizer is called: plain HTTP POST or Lambda Invoke.</summary>
internal abstract class AuthorizerInvoker
{
    /// <summary>Sends the event and returns the authorizer's response body.</summary>
    public abstract Task<byte[]> InvokeAsync(byte[] payload, CancellationToken cancellationToken);
}

/// <summary><c>type: http</c>: POST the event as JSON to <c>url</c>; any 2xx answer is a response.</summary>
internal sealed class HttpInvoker(Uri url, AuthHttpClient http) : AuthorizerInvoker
{
    public override async Task<byte[]> InvokeAsync(byte[] payload, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(payload);
        content.Headers.ContentType = new("application/json");
        using var response = await http.Client.PostAsync(url, content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AuthorizerFailure($"answered {(int)response.StatusCode}");
        }
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }
}

/// <summary>
/// <c>type: lambda</c>: Lambda Invoke (<c>POST /2015-03-31/functions/{function}/invocations</c>),
/// SigV4-signed for service <c>lambda</c> with the gateway's <c>aws</c> credentials.
/// </summary>
internal sealed class LambdaInvoker(Uri endpoint, string function, string region, string accessKeyId, string secretAccessKey, string? sessionToken, AuthHttpClient http, TimeProvider time)
    : AuthorizerInvoker
{
    private readonly SigV4Signer _signer = new(region, "lambda", time);
    private readonly SigV4Credentials _credentials = new(accessKeyId, secretAccessKey, sessionToken);

    public override async Task<byte[]> InvokeAsync(byte[] payload, CancellationToken cancellationToken)
    {
        var url = new Uri(endpoint, $"/2015-03-31/functions/{Uri.EscapeDataString(function)}/invocations");
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(payload) };
        request.Content.Headers.ContentType = new("application/json");
        _signer.Sign(request, payload, _credentials);
        using var response = await http.Client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new AuthorizerFailure($"Lambda Invoke answered {(int)response.StatusCode}");
        }
        if (response.Headers.TryGetValues("X-Amz-Function-Error", out var error))
        {
            throw new AuthorizerFailure($"the function failed ({string.Join(',', error)})");
        }
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }
}
