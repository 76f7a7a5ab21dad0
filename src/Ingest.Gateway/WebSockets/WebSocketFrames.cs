using System.Text.Json;
using Ingest.Core.Requests;

namespace Ingest.Gateway.WebSockets;

/// <summary>
/// The frames the gateway answers each message with, in the order the messages came:
/// <c>{"type":"ack","eventId":"...","requestId":"..."}</c> once the event is taken, or
/// <c>{"type":"error","status":429,"message":"Too Many Requests","requestId":"...","connectionId":"...","retryAfter":1}</c>
/// with the status and message the HTTP path would answer (<c>retryAfter</c> only with a Retry-After).
/// </summary>
internal static class WebSocketFrames
{
    private static readonly JsonEncodedText Type = JsonEncodedText.Encode("type");
    private static readonly JsonEncodedText Ack = JsonEncodedText.Encode("ack");
    private static readonly JsonEncodedText Error = JsonEncodedText.Encode("error");
    private static readonly JsonEncodedText EventId = JsonEncodedText.Encode("eventId");
    private static readonly JsonEncodedText RequestId = JsonEncodedText.Encode("requestId");
    private static readonly JsonEncodedText Status = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText Message = JsonEncodedText.Encode("message");
    private static readonly JsonEncodedText ConnectionId = JsonEncodedText.Encode("connectionId");
    private static readonly JsonEncodedText RetryAfter = JsonEncodedText.Encode("retryAfter");

    /// <summary>Writes the ack of a message whose event <paramref name="eventId"/> was taken.</summary>
    public static ReadOnlyMemory<byte> WriteAck(WebSocketConnection connection, Guid eventId, Guid requestId)
    {
        var json = connection.NewFrame();
        json.WriteStartObject();
        json.WriteString(Type, Ack);
        json.WriteString(EventId, eventId);
        json.WriteString(RequestId, requestId);
        json.WriteEndObject();
        json.Flush();
        return connection.FrameBuffer.WrittenMemory;
    }

    /// <summary>Writes the error frame of a refused message.</summary>
    public static ReadOnlyMemory<byte> WriteError(WebSocketConnection connection, Rejection rejection, Guid requestId)
    {
        var json = connection.NewFrame();
        json.WriteStartObject();
        json.WriteString(Type, Error);
        json.WriteNumber(Status, rejection.Status);
        json.WriteString(Message, rejection.Message);
        json.WriteString(RequestId, requestId);
        json.WriteString(ConnectionId, connection.Id);
        foreach (var (name, value) in rejection.Headers)
        {
            if (string.Equals(name, "Retry-After", StringComparison.OrdinalIgnoreCase) && int.TryParse(value, out var seconds))
            {
                json.WriteNumber(RetryAfter, seconds);
            }
        }
        json.WriteEndObject();
        json.Flush();
        return connection.FrameBuffer.WrittenMemory;
    }
}
