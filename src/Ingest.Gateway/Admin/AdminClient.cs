using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Gateway.Cli;

namespace Ingest.Gateway.Admin;

/// <summary>An answer of the admin API.</summary>
/// <param name="Status">HTTP status.</param>
/// <param name="Body">Body text (JSON).</param>
internal readonly record struct AdminAnswer(int Status, string Body)
{
    public bool Ok => Status is >= 200 and < 300;

    /// <summary>The <c>message</c> of an error body, or the body itself.</summary>
    public string Message
    {
        get
        {
            try
            {
                using var json = JsonDocument.Parse(Body);
                if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("message", out var message))
                {
                    return message.ToString();
                }
            }
            catch (JsonException)
            {
                // Not JSON: show it as it is.
            }
            return Body;
        }
    }
}

/// <summary>
/// How the CLI verbs that talk to a running gateway (<c>usage</c>, <c>test-invoke</c>,
/// <c>flush-cache</c>, <c>stages</c>) reach its admin API: address and token come from the same
/// configuration file the gateway runs with (<c>admin.listen</c>, <c>admin.token</c>), or from
/// <c>--admin</c> and the <c>INGEST_ADMIN_TOKEN</c> environment variable.
/// </summary>
internal sealed class AdminClient(Uri baseAddress, string? token, HttpMessageHandler? handler = null) : IDisposable
{
    private readonly HttpClient _http = new(handler ?? new SocketsHttpHandler(), disposeHandler: true)
    {
        BaseAddress = baseAddress,
        Timeout = TimeSpan.FromSeconds(60),
    };

    public Uri BaseAddress => baseAddress;

    /// <summary>The <c>--config</c> option every verb takes.</summary>
    public static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "Configuration file of the gateway (admin.listen and admin.token are read from it).",
        DefaultValueFactory = _ => "ingest.yaml",
    };

    /// <summary>The <c>--admin</c> option: admin base URL instead of the configured admin.listen.</summary>
    public static Option<string?> AdminOption() => new("--admin")
    {
        Description = "Admin API base URL, e.g. http://127.0.0.1:9090. Default: http://<admin.listen> of the configuration.",
    };

    /// <summary>Loads the configuration and builds a client, or prints why not and returns null.</summary>
    public static AdminClient? Create(ParseResult result, Option<string> configOption, Option<string?> adminOption)
    {
        var error = result.InvocationConfiguration.Error;
        var path = result.GetValue(configOption)!;
        IngestConfig config;
        try
        {
            config = ConfigFile.Load(path);
        }
        catch (ConfigException e)
        {
            error.WriteLine($"{path}: {e.Message}");
            return null;
        }
        var token = config.Admin.Token is { Length: > 0 } configured ? configured : Environment.GetEnvironmentVariable("INGEST_ADMIN_TOKEN");
        if (string.IsNullOrEmpty(token))
        {
            error.WriteLine($"{path}: admin.token is not set, so the gateway's admin API is disabled. Set admin.token (e.g. token: ${{INGEST_ADMIN_TOKEN}}) and restart the gateway.");
            return null;
        }
        var admin = result.GetValue(adminOption);
        if (admin is not null)
        {
            if (!Uri.TryCreate(admin, UriKind.Absolute, out var uri))
            {
                error.WriteLine($"--admin: '{admin}' is not a URL. Write e.g. http://127.0.0.1:9090.");
                return null;
            }
            return new AdminClient(uri, token);
        }
        return new AdminClient(BaseAddressOf(config.Admin.Listen), token);
    }

    /// <summary>http://host:port of an admin listen address; a wildcard address is reached over loopback.</summary>
    public static Uri BaseAddressOf(string listen)
    {
        var endpoint = IPEndPoint.Parse(listen);
        var address = endpoint.Address;
        if (address.Equals(IPAddress.Any))
        {
            address = IPAddress.Loopback;
        }
        else if (address.Equals(IPAddress.IPv6Any))
        {
            address = IPAddress.IPv6Loopback;
        }
        return new Uri($"http://{new IPEndPoint(address, endpoint.Port)}/");
    }

    public async Task<AdminAnswer> SendAsync(HttpMethod method, string path, string? jsonBody, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }
        using var response = await _http.SendAsync(request, cancellationToken);
        return new AdminAnswer((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }

    /// <summary>
    /// Sends a request and handles what every verb handles alike: an unreachable gateway and
    /// error answers are printed, and null is returned.
    /// </summary>
    public async Task<AdminAnswer?> CallAsync(ParseResult result, HttpMethod method, string path, string? jsonBody, CancellationToken cancellationToken)
    {
        var error = result.InvocationConfiguration.Error;
        AdminAnswer answer;
        try
        {
            answer = await SendAsync(method, path, jsonBody, cancellationToken);
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException || e.HttpRequestError == HttpRequestError.ConnectionError)
        {
            error.WriteLine($"Cannot reach the admin API at {BaseAddress}: {e.Message}. Is the gateway running (ingest serve --config ...)? Use --admin URL for another address.");
            return null;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"The admin API at {BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0}s.");
            return null;
        }
        if (!answer.Ok)
        {
            error.WriteLine($"{method} {path}: {answer.Status} {answer.Message}");
            return null;
        }
        return answer;
    }

    /// <summary>Indented JSON for people.</summary>
    public static string Pretty(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, PrettyOptions))
        {
            document.RootElement.WriteTo(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static readonly JsonWriterOptions PrettyOptions = new()
    {
        Indented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public void Dispose() => _http.Dispose();
}
