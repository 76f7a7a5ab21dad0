using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Ingest.Gateway.Admin;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest test-invoke</c>: runs one request through the running gateway as a dry run.</summary>
internal static class TestInvokeCommand
{
    public static Command Create()
    {
        var config = AdminClient.ConfigOption();
        var admin = AdminClient.AdminOption();
        var method = new Option<string>("--method", "-X")
        {
            Description = "HTTP method.",
            DefaultValueFactory = _ => "POST",
        };
        var path = new Option<string>("--path", "-p")
        {
            Description = "Request path with optional query, e.g. /v1/events.",
            Required = true,
        };
        var body = new Option<string?>("--body", "-d") { Description = "Request body text, e.g. '{\"temp\":21}'." };
        var bodyFile = new Option<FileInfo?>("--body-file") { Description = "Read the request body from this file (bytes kept exact)." };
        var headers = new Option<string[]>("--header", "-H")
        {
            Description = "Request header 'Name: value'; repeat for more.",
            AllowMultipleArgumentsPerToken = false,
        };
        var contentType = new Option<string>("--content-type")
        {
            Description = "Content-Type sent with a body unless --header sets one.",
            DefaultValueFactory = _ => "application/json",
        };
        var json = new Option<bool>("--json") { Description = "Print the admin API's JSON answer as it is." };
        var command = new Command("test-invoke", """
            Run one request through the running gateway's real route table and lifecycle (authentication,
            throttling, payload checks, transformation) without the resource policy, as a dry run: nothing
            is queued or sent to the target. Prints the status, headers, body and latency the client would
            get, the transformed request (the envelope the target would receive) and the execution log.
            Calls POST /admin/test-invoke at admin.listen with admin.token from --config.
            Example: ingest test-invoke --path /v1/events --body '{"temp":21}' -H 'x-api-key: secret'
            """)
        { config, admin, method, path, body, bodyFile, headers, contentType, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            var headerList = new List<KeyValuePair<string, string>>();
            foreach (var header in result.GetValue(headers) ?? [])
            {
                var colon = header.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0)
                {
                    error.WriteLine($"--header: '{header}' is not 'Name: value'.");
                    return 1;
                }
                headerList.Add(new(header[..colon].Trim(), header[(colon + 1)..].Trim()));
            }
            byte[]? bytes = null;
            if (result.GetValue(bodyFile) is { } file)
            {
                if (!file.Exists)
                {
                    error.WriteLine($"--body-file: {file.FullName}: no such file.");
                    return 1;
                }
                bytes = await File.ReadAllBytesAsync(file.FullName, cancellationToken);
            }
            else if (result.GetValue(body) is { } text)
            {
                bytes = Encoding.UTF8.GetBytes(text);
            }
            if (bytes is not null && !headerList.Exists(h => h.Key.Equals("content-type", StringComparison.OrdinalIgnoreCase)))
            {
                headerList.Add(new("Content-Type", result.GetValue(contentType)!));
            }

            var request = BuildRequest(result.GetValue(method)!, result.GetValue(path)!, headerList, bytes);
            return await AdminApiClient.RunAsync(result, config, admin, HttpMethod.Post, "/admin/test-invoke", request, json, Print, cancellationToken);
        });
        return command;
    }

    internal static string BuildRequest(string method, string path, IReadOnlyList<KeyValuePair<string, string>> headers, byte[]? body)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("method", method.ToUpperInvariant());
            json.WriteString("path", path);
            json.WriteStartObject("headers");
            foreach (var (name, value) in headers)
            {
                json.WriteString(name, value);
            }
            json.WriteEndObject();
            if (body is not null)
            {
                if (System.Text.Unicode.Utf8.IsValid(body))
                {
                    json.WriteString("body", Encoding.UTF8.GetString(body));
                }
                else
                {
                    json.WriteBase64String("bodyBase64", body);
                }
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Print(TextWriter output, string answer)
    {
        using var document = JsonDocument.Parse(answer);
        var root = document.RootElement;
        output.WriteLine($"Status: {root.GetProperty("status").GetInt32()}");
        output.WriteLine($"Latency: {root.GetProperty("latencyMs").GetDouble():0.###} ms");
        output.WriteLine("Response headers:");
        foreach (var header in root.GetProperty("headers").EnumerateObject())
        {
            output.WriteLine($"  {header.Name}: {header.Value.GetString()}");
        }
        output.WriteLine("Response body:");
        output.WriteLine("  " + root.GetProperty("body").GetString());
        if (root.GetProperty("transformedRequest") is { ValueKind: JsonValueKind.Object } transformed)
        {
            output.WriteLine($"Transformed request (target {transformed.GetProperty("target")}, {transformed.GetProperty("type")}; dry run, not sent):");
            output.WriteLine(AdminClient.Pretty(transformed.GetProperty("events").GetRawText()));
        }
        output.WriteLine("Execution log:");
        foreach (var line in root.GetProperty("log").EnumerateArray())
        {
            output.WriteLine("  " + line.GetString());
        }
    }
}
