using Ingest.Core.Integration;

namespace Ingest.Core.Templates;

// API of the mapping templates (Liquid via Fluid). Implementation in progress: the bodies below
// are placeholders until the templates work lands.

/// <summary>
/// A request or response mapping template: Liquid (Fluid), the stand-in for API Gateway's VTL.
/// Compiled once at config load; rendering is bounded in time so a template cannot loop forever.
/// </summary>
public sealed class MappingTemplate
{
    /// <summary>
    /// Compiles <paramref name="source"/>; on a syntax error adds "<paramref name="where"/>: line N: ..."
    /// to <paramref name="errors"/> and returns null. Null or empty source: null, no error.
    /// </summary>
    public static MappingTemplate? Compile(string? source, string where, ICollection<string> errors) =>
        string.IsNullOrEmpty(source) ? null : throw new NotImplementedException();

    /// <summary>Renders over <paramref name="scope"/>. Throws <see cref="TemplateRenderException"/> on an error or past the time limit.</summary>
    public string Render(TemplateScope scope, CancellationToken cancellationToken) =>
        throw new NotImplementedException();
}

/// <summary>A template failed while rendering (error or time limit); the request gets 500, the reason goes to the access log.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>What a template sees: body, parameters, stage variables, context (and the backend's answer in a response template).</summary>
public sealed class TemplateScope
{
    /// <summary>Scope of a request template.</summary>
    public static TemplateScope ForRequest(IntegrationRequest request) => throw new NotImplementedException();

    /// <summary>Scope of a response template: the request's, plus the backend's status, headers and body.</summary>
    public static TemplateScope ForResponse(IntegrationRequest request, IntegrationResult response) => throw new NotImplementedException();
}
