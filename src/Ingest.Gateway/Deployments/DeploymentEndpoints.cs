using System.Globalization;
using System.Text;
using System.Text.Json;
using Ingest.Gateway.Admin;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Deployments;

/// <summary>
/// The deployments part of the admin API (the caller has checked the admin token):
/// <list type="table">
/// <item><term>GET /admin/deployments</term><description>every recorded deployment, oldest first, and the active one.</description></item>
/// <item><term>POST /admin/deployments</term><description>deploy a configuration file: JSON <c>{"content": "&lt;the YAML&gt;", "note": "...", "source": "/path/ingest.yaml"}</c>,
/// or the YAML itself with <c>Content-Type: application/yaml</c> and <c>?note=</c>. 201 with the record; 400 with every problem (nothing changes).</description></item>
/// <item><term>POST /admin/deployments/{n}/activate</term><description>serve deployment n again (rollback), optional body <c>{"stage": "prod"}</c>; 404 for an unknown n.</description></item>
/// </list>
/// </summary>
internal sealed class DeploymentEndpoints(DeploymentActivator activator)
{
    public const string Prefix = "/admin/deployments";

    /// <summary>Largest configuration file accepted by a deploy.</summary>
    private const long MaxFileBytes = 16L * 1024 * 1024;

    /// <summary>Number of the recorded deployment being served; null when it was never recorded.</summary>
    public int? ActiveNumber => activator.Active?.Number;

    /// <summary>True for paths this class answers.</summary>
    public static bool Handles(string path) =>
        path == Prefix || path.StartsWith(Prefix + "/", StringComparison.Ordinal);

    public async Task HandleAsync(HttpContext context, string path)
    {
        var method = context.Request.Method;
        if (path == Prefix)
        {
            switch (method)
            {
                case "GET":
                    await AdminEndpoints.WriteJsonAsync(context.Response, 200, WriteList);
                    return;
                case "POST":
                    await DeployAsync(context);
                    return;
                default:
                    context.Response.Headers.Allow = "GET, POST";
                    await WriteMessageAsync(context.Response, 405, "Method Not Allowed");
                    return;
            }
        }
        var rest = path[(Prefix.Length + 1)..];
        const string Activate = "/activate";
        if (!rest.EndsWith(Activate, StringComparison.Ordinal)
            || !int.TryParse(rest[..^Activate.Length], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            await WriteMessageAsync(context.Response, 404, "Not Found. Use POST /admin/deployments/{number}/activate; GET /admin/deployments lists the numbers.");
            return;
        }
        if (method != "POST")
        {
            context.Response.Headers.Allow = "POST";
            await WriteMessageAsync(context.Response, 405, "Method Not Allowed");
            return;
        }
        string? stage = null;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            try
            {
                using var body = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                if (body.RootElement.ValueKind == JsonValueKind.Object && body.RootElement.TryGetProperty("stage", out var s) && s.ValueKind == JsonValueKind.String)
                {
                    stage = s.GetString();
                }
            }
            catch (JsonException e)
            {
                await WriteMessageAsync(context.Response, 400, $"Body is not JSON: {e.Message} Send {{\"stage\": \"prod\"}} or no body.");
                return;
            }
        }
        var outcome = await activator.ActivateAsync(number, stage, context.RequestAborted);
        if (outcome is null)
        {
            await WriteMessageAsync(context.Response, 404, $"No deployment {number}. GET /admin/deployments lists the recorded ones.");
            return;
        }
        await WriteOutcomeAsync(context.Response, outcome, 200);
    }

    private async Task DeployAsync(HttpContext context)
    {
        var request = context.Request;
        // The public listeners' body ceiling applies here too; configuration files may be larger.
        if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = MaxFileBytes;
        }
        string content;
        string? note = request.Query["note"].FirstOrDefault();
        string? source = request.Query["source"].FirstOrDefault();
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        var text = await reader.ReadToEndAsync(context.RequestAborted);
        if (request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) == true)
        {
            try
            {
                using var body = JsonDocument.Parse(text);
                var root = body.RootElement;
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                {
                    await WriteMessageAsync(context.Response, 400, "Body must be {\"content\": \"<the configuration file>\", \"note\": \"...\", \"source\": \"/path/ingest.yaml\"}.");
                    return;
                }
                content = c.GetString()!;
                note = root.TryGetProperty("note", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : note;
                source = root.TryGetProperty("source", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : source;
            }
            catch (JsonException e)
            {
                await WriteMessageAsync(context.Response, 400, $"Body is not JSON: {e.Message}");
                return;
            }
        }
        else
        {
            content = text;
        }
        if (source is not null && !Path.IsPathFullyQualified(source))
        {
            await WriteMessageAsync(context.Response, 400, $"source: '{source}' must be a full path (relative ${{file:...}} paths resolve against its folder).");
            return;
        }
        var outcome = await activator.DeployAsync(content, note, source, context.RequestAborted);
        await WriteOutcomeAsync(context.Response, outcome, 201);
    }

    private static Task WriteOutcomeAsync(HttpResponse response, DeployOutcome outcome, int status)
    {
        if (!outcome.Ok)
        {
            return AdminEndpoints.WriteJsonAsync(response, 400, json =>
            {
                json.WriteStartObject();
                json.WriteString("message", $"Not deployed; the current configuration keeps serving. {outcome.Errors.Count} problem(s):{Environment.NewLine}  - {string.Join(Environment.NewLine + "  - ", outcome.Errors)}");
                WriteList(json, "errors", outcome.Errors);
                json.WriteEndObject();
            });
        }
        return AdminEndpoints.WriteJsonAsync(response, status, json =>
        {
            json.WriteStartObject();
            json.WritePropertyName("deployment");
            WriteRecord(json, outcome.Deployment!, active: true);
            WriteList(json, "kept", outcome.Kept);
            WriteList(json, "started", outcome.Started);
            WriteList(json, "retired", outcome.Retired);
            WriteList(json, "restartRequired", outcome.RestartRequired);
            json.WriteEndObject();
        });
    }

    private void WriteList(Utf8JsonWriter json)
    {
        var active = activator.Active?.Number;
        json.WriteStartObject();
        if (active is { } number)
        {
            json.WriteNumber("active", number);
        }
        else
        {
            json.WriteNull("active");
        }
        json.WriteStartArray("deployments");
        foreach (var record in activator.Store.List())
        {
            WriteRecord(json, record, record.Number == active);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteRecord(Utf8JsonWriter json, DeploymentRecord record, bool active)
    {
        json.WriteStartObject();
        json.WriteNumber("number", record.Number);
        json.WriteString("createdAt", record.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
        json.WriteString("sha256", record.Sha256);
        json.WriteString("note", record.Note);
        json.WriteString("source", record.Source);
        json.WriteBoolean("active", active);
        json.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string> items)
    {
        json.WriteStartArray(name);
        foreach (var item in items)
        {
            json.WriteStringValue(item);
        }
        json.WriteEndArray();
    }

    private static Task WriteMessageAsync(HttpResponse response, int status, string message) =>
        AdminEndpoints.WriteJsonAsync(response, status, json =>
        {
            json.WriteStartObject();
            json.WriteString("message", message);
            json.WriteEndObject();
        });
}
