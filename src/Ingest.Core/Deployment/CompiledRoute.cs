using Ingest.Core.Pipeline;
using Ingest.Core.Routing;

namespace Ingest.Core.Deployment;

/// <summary>A route ready to serve: everything resolved, defaults applied, nothing to parse per request.</summary>
public sealed class CompiledRoute
{
    /// <summary>Route key as written, e.g. <c>POST /v1/events</c>.</summary>
    public required string RouteKey { get; init; }

    public required string Method { get; init; }

    public required RouteTemplate Template { get; init; }

    public required IEventTarget Target { get; init; }

    public required long MaxBodyBytes { get; init; }

    /// <summary>Allowed media types, lower case, without parameters.</summary>
    public required string[] ContentTypes { get; init; }

    /// <summary>Request headers copied into the envelope, lower case.</summary>
    public required string[] CapturedHeaders { get; init; }

    public required string Ack { get; init; }

    public required TimeSpan Timeout { get; init; }

    /// <summary>True when <paramref name="contentType"/>'s media type is allowed.</summary>
    public bool AllowsContentType(string? contentType)
    {
        if (contentType is null)
        {
            return false;
        }
        var media = contentType.AsSpan();
        var semicolon = media.IndexOf(';');
        if (semicolon >= 0)
        {
            media = media[..semicolon];
        }
        media = media.Trim();
        foreach (var allowed in ContentTypes)
        {
            if (media.Equals(allowed, StringComparison.OrdinalIgnoreCase) || allowed == "*/*")
            {
                return true;
            }
        }
        return false;
    }
}
