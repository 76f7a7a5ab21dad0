using System.Net.WebSockets;
using System.Text.Unicode;
using Ingest.Core.Payload;
using Ingest.Gateway.Admin;
using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// The @connections API of API Gateway on the admin port, for connections of this instance:
/// <c>POST /admin/connections/{id}</c> pushes the body to the client as one message (text when it
/// is UTF-8, else binary), <c>GET</c> describes the connection, <c>DELETE</c> closes it (1000).
/// A connection that is not open here is 410 Gone.
/// </summary>
internal sealed class ConnectionsAdmin(WebSocketConnections connections, GatewayRuntime runtime)
{
    private const string Prefix = "/admin/connections/";

    public static bool Handles(string path) => path.StartsWith(Prefix, StringComparison.Ordinal) && path.Length > Prefix.Length;

    public async Task HandleAsync(HttpContext context, string path)
    {
        var response = context.Response;
        var id = Uri.UnescapeDataString(path[Prefix.Length..]);
        var method = context.Request.Method;
        if (method is not ("GET" or "POST" or "DELETE"))
        {
            response.Headers.Allow = "GET, POST, DELETE";
            await AdminEndpoints.WriteJsonAsync(response, 405, Message("Method Not Allowed"));
            return;
        }
        if (!connections.TryGet(id, out var connection) || connection!.IsClosing)
        {
            await Gone(response, id);
            return;
        }
        switch (method)
        {
            case "GET":
                await AdminEndpoints.WriteJsonAsync(response, 200, json =>
                {
                    json.WriteStartObject();
                    json.WriteString("connectionId", connection.Id);
                    json.WriteString("connectedAt", connection.ConnectedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                    json.WriteString("lastActiveAt", connection.LastActiveAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
                    WriteOptional(json, "stage", connection.Stage);
                    WriteOptional(json, "sourceIp", connection.SourceIpText);
                    json.WriteStartObject("identity");
                    WriteOptional(json, "sourceIp", connection.SourceIpText);
                    WriteOptional(json, "userAgent", connection.UserAgent);
                    WriteOptional(json, "apiKeyId", connection.ApiKeyId);
                    WriteOptional(json, "principal", connection.Principal);
                    json.WriteEndObject();
                    json.WriteEndObject();
                });
                return;
            case "DELETE":
                if (!await connection.CloseAsync(WebSocketCloseStatus.NormalClosure, "Closed by the gateway"))
                {
                    await Gone(response, id);
                    return;
                }
                response.StatusCode = StatusCodes.Status204NoContent;
                return;
        }
        var limit = runtime.Current.Config.WebSocket.MaxMessageBytes;
        var body = await PayloadPolicy.ReadBodyAsync(context.Request, limit, context.RequestAborted);
        if (body is null)
        {
            await AdminEndpoints.WriteJsonAsync(response, 413, Message($"The message is above webSocket.maxMessageBytes ({limit})."));
            return;
        }
        var type = Utf8.IsValid(body) ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
        if (!await connection.SendAsync(body, type, context.RequestAborted))
        {
            await Gone(response, id);
            return;
        }
        await AdminEndpoints.WriteJsonAsync(response, 200, json =>
        {
            json.WriteStartObject();
            json.WriteString("connectionId", connection.Id);
            json.WriteNumber("bytes", body.Length);
            json.WriteEndObject();
        });
    }

    // API Gateway answers GoneException (410) for a connection that is not open.
    private static Task Gone(HttpResponse response, string id) =>
        AdminEndpoints.WriteJsonAsync(response, 410, Message($"Gone: no open connection '{id}' on this instance."));

    private static Action<System.Text.Json.Utf8JsonWriter> Message(string message) => json =>
    {
        json.WriteStartObject();
        json.WriteString("message", message);
        json.WriteEndObject();
    };

    private static void WriteOptional(System.Text.Json.Utf8JsonWriter json, string name, string? value)
    {
        if (value is not null)
        {
            json.WriteString(name, value);
        }
    }
}
