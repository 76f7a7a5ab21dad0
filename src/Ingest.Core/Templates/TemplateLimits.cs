namespace Ingest.Core.Templates;

/// <summary>
/// Bounds of one template render, so that a template (or the data it loops over) cannot hold a
/// request thread or fill memory. Past any of them the render stops with <see cref="TemplateRenderException"/>.
/// </summary>
public sealed record TemplateLimits
{
    /// <summary>The limits every route's templates get.</summary>
    public static TemplateLimits Default { get; } = new();

    /// <summary>Longest a render may take. Default: 1s.</summary>
    public TimeSpan RenderTime { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest output, and longest value an <c>assign</c> or <c>capture</c> may hold, in characters. Default: 10485760 (10 Mi).</summary>
    public int MaxOutputChars { get; init; } = 10 * 1024 * 1024;

    /// <summary>Statements and loop iterations one render may execute. Default: 1000000.</summary>
    public int MaxSteps { get; init; } = 1_000_000;

    /// <summary>Items a range such as <c>(1..n)</c> may have. Default: 100000.</summary>
    public int MaxRangeItems { get; init; } = 100_000;

    /// <summary>Longest template source, in characters. Default: 307200 (300 Ki, API Gateway's mapping template limit).</summary>
    public int MaxSourceChars { get; init; } = 300 * 1024;

    /// <summary>Clock of the render time limit. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
