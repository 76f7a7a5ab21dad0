using System.Text;
using System.Text.Encodings.Web;

namespace Ingest.Core.Requests;

/// <summary>
/// A gateway answer that ends a request early: status, JSON <c>{"message": "..."}</c> body and
/// optional headers (Retry-After, rate-limit headers). Fixed ones are created once and shared.
/// </summary>
public sealed class Rejection
{
    public Rejection(int status, string message, KeyValuePair<string, string>[]? headers = null, string? logReason = null)
    {
        Status = status;
        Message = message;
        Body = Encoding.UTF8.GetBytes($"{{\"message\":\"{JavaScriptEncoder.Default.Encode(message)}\"}}");
        Headers = headers ?? [];
        LogReason = logReason;
    }

    public int Status { get; }

    public string Message { get; }

    /// <summary>The UTF-8 JSON body.</summary>
    public byte[] Body { get; }

    public KeyValuePair<string, string>[] Headers { get; }

    /// <summary>Why, for the access log (integrationError); never a secret.</summary>
    public string? LogReason { get; }

    /// <summary>Same answer with a reason for the access log.</summary>
    public Rejection WithReason(string reason) => new(Status, Message, Headers, reason);

    public static readonly Rejection NotFound = new(404, "Not Found");
    public static readonly Rejection MissingAuthenticationToken = new(403, "Missing Authentication Token");
    public static readonly Rejection MethodNotAllowed = new(405, "Method Not Allowed");
    public static readonly Rejection Forbidden = new(403, "Forbidden");
    public static readonly Rejection Unauthorized = new(401, "Unauthorized");
    public static readonly Rejection ExplicitDeny = new(403, "User is not authorized to access this resource with an explicit deny");
    public static readonly Rejection RequestEntityTooLarge = new(413, "Request Entity Too Large");
    public static readonly Rejection UnsupportedMediaType = new(415, "Unsupported Media Type");
    public static readonly Rejection BadRequest = new(400, "Bad Request");
    public static readonly Rejection ServiceUnavailable = new(503, "Service Unavailable", [new("Retry-After", "1")]);

    /// <summary>400 naming the first bad JSON path, as DESIGN.md's status table says.</summary>
    public static Rejection InvalidBody(string firstErrorPath) => new(400, $"Invalid request body: {firstErrorPath}");

    /// <summary>403 of an explicit resource-policy deny for <paramref name="routeKey"/>.</summary>
    public static Rejection PolicyDeny(string routeKey) =>
        new(403, $"User: anonymous is not authorized to perform: execute-api:Invoke on resource: {routeKey} with an explicit deny");
}
