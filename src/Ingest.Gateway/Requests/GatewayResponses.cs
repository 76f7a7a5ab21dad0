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

    /// <summary><c>X-Content-Type-Options</c> of every gateway answer: browsers must not guess another type than JSON.</summary>
    internal static readonly Microsoft.Extensions.Primitives.StringValues NoSniff = "nosniff";

    /// <summary><c>Cache-Control</c> of every gateway error.</summary>
    internal static readonly Microsoft.Extensions.Primitives.StringValues NoStore = "no-store";

    /// <summary>Writes a gateway rejection. Returns the body length for the access log.</summary>
    public static int Write(HttpContext context, Rejection rejection)
    {
        var response = context.Response;
        response.StatusCode = rejection.Status;
        response.ContentType = "application/json";
        response.ContentLength = rejection.Body.Length;
        // Static values: no allocation. An error is about this one request, never to be cached.
        response.Headers.XContentTypeOptions = NoSniff;
        response.Headers.CacheControl = NoStore;
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
        response.Headers.XContentTypeOptions = NoSniff;
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
