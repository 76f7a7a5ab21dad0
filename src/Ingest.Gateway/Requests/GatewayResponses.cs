using System.Buffers;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Requests;

/// <summary>
/// The gateway's own answers, as in DESIGN.md's status table. Bodies are fixed JSON
/// <c>{"message": "..."}</c> encoded once at start.
/// </summary>
internal static class GatewayResponses
{
    public static readonly byte[] NotFound = Message("Not Found");
    public static readonly byte[] MissingAuthenticationToken = Message("Missing Authentication Token");
    public static readonly byte[] MethodNotAllowed = Message("Method Not Allowed");
    public static readonly byte[] RequestEntityTooLarge = Message("Request Entity Too Large");
    public static readonly byte[] UnsupportedMediaType = Message("Unsupported Media Type");
    public static readonly byte[] ServiceUnavailable = Message("Service Unavailable");
    public static readonly byte[] BadRequest = Message("Bad Request");
    public static readonly byte[] InternalServerError = Message("Internal Server Error");

    private static readonly byte[] AcceptedPrefix = "{\"requestId\":\""u8.ToArray();
    private static readonly byte[] AcceptedMiddle = "\",\"accepted\":"u8.ToArray();

    public static byte[] Message(string message) =>
        Encoding.UTF8.GetBytes($"{{\"message\":\"{System.Text.Encodings.Web.JavaScriptEncoder.Default.Encode(message)}\"}}");

    /// <summary>Writes a JSON error. Returns the body length for the access log.</summary>
    public static int WriteError(HttpContext context, int status, byte[] body, int? retryAfterSeconds = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        if (retryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        response.BodyWriter.Write(body);
        return body.Length;
    }

    /// <summary>Writes <c>202 {"requestId":"...","accepted":n}</c> without allocating.</summary>
    public static int WriteAccepted(HttpContext context, Guid requestId, int accepted)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = "application/json";
        Span<byte> buffer = stackalloc byte[96];
        AcceptedPrefix.CopyTo(buffer);
        var length = AcceptedPrefix.Length;
        requestId.TryFormat(buffer[length..], out var written);
        length += written;
        AcceptedMiddle.CopyTo(buffer[length..]);
        length += AcceptedMiddle.Length;
        accepted.TryFormat(buffer[length..], out written, default, System.Globalization.CultureInfo.InvariantCulture);
        length += written;
        buffer[length++] = (byte)'}';
        response.ContentLength = length;
        response.BodyWriter.Write(buffer[..length]);
        return length;
    }
}
