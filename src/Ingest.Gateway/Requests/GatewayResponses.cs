using System.Buffers;
using System.Text;
using Ingest.Core.Requests;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Requests;

/// <summary>
/// Writes the gateway's own answers: rejections from DESIGN.md's status table and the 202 of
/// accepted events.
/// </summary>
internal static class GatewayResponses
{
    private static readonly byte[] AcceptedPrefix = "{\"requestId\":\""u8.ToArray();
    private static readonly byte[] AcceptedMiddle = "\",\"accepted\":"u8.ToArray();

    /// <summary>Writes a gateway rejection. Returns the body length for the access log.</summary>
    public static int Write(HttpContext context, Rejection rejection)
    {
        var response = context.Response;
        response.StatusCode = rejection.Status;
        response.ContentType = "application/json";
        response.ContentLength = rejection.Body.Length;
        foreach (var (name, value) in rejection.Headers)
        {
            response.Headers[name] = value;
        }
        response.BodyWriter.Write(rejection.Body);
        return rejection.Body.Length;
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
