using System.Text;
using Fluid;

namespace Ingest.Core.Templates;

/// <summary>
/// A request or response mapping template: Liquid (Fluid), the stand-in for API Gateway's VTL.
/// Compiled once at config load; rendering is bounded in time so a template cannot loop forever.
/// The language, the variables and the filters are described in docs/templates.md.
/// </summary>
public sealed class MappingTemplate
{
    // Renders are synchronous: one reusable builder per thread, dropped when a render made it large.
    private const int KeptBuilderChars = 64 * 1024;

    [ThreadStatic]
    private static StringBuilder? t_builder;

    private readonly IFluidTemplate _template;
    private readonly TemplateLimits _limits;

    private MappingTemplate(IFluidTemplate template, string where, TemplateLimits limits)
    {
        _template = template;
        Where = where;
        _limits = limits;
    }

    /// <summary>Where the template is configured (e.g. <c>routes[2] (GET /items/{id}).requestTemplate</c>); starts every render error.</summary>
    public string Where { get; }

    /// <summary>
    /// Compiles <paramref name="source"/>; on a syntax error adds "<paramref name="where"/>: line N: ..."
    /// to <paramref name="errors"/> and returns null. Null or empty source: null, no error.
    /// </summary>
    public static MappingTemplate? Compile(string? source, string where, ICollection<string> errors) =>
        Compile(source, where, errors, TemplateLimits.Default);

    /// <summary>As <see cref="Compile(string?, string, ICollection{string})"/>, with other limits than <see cref="TemplateLimits.Default"/>.</summary>
    public static MappingTemplate? Compile(string? source, string where, ICollection<string> errors, TemplateLimits limits)
    {
        ArgumentNullException.ThrowIfNull(errors);
        ArgumentNullException.ThrowIfNull(limits);
        if (string.IsNullOrEmpty(source))
        {
            return null;
        }
        var template = TemplateEngine.Parse(source, limits, out var error);
        if (template is null)
        {
            errors.Add($"{where}: {error}");
            return null;
        }
        return new MappingTemplate(template, where, limits);
    }

    /// <summary>
    /// Renders over <paramref name="scope"/>. Throws <see cref="TemplateRenderException"/> on an error or past
    /// a limit of <see cref="TemplateLimits"/> (time, output size, steps, range size, nesting), and
    /// <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fires.
    /// </summary>
    public string Render(TemplateScope scope, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scope);
        var builder = t_builder ?? new StringBuilder(1024);
        t_builder = null;
        builder.Clear();
        try
        {
            var context = new RenderContext(TemplateEngine.Options, _limits, scope.Now, cancellationToken);
            scope.Bind(context);
            using var output = new LimitedWriter(builder, context);
            var rendering = _template.RenderAsync(output, NullEncoder.Default, context);
            if (!rendering.IsCompletedSuccessfully)
            {
                rendering.AsTask().GetAwaiter().GetResult();
            }
            return builder.ToString();
        }
        catch (TemplateLimitException ex)
        {
            throw new TemplateRenderException($"{Where}: {ex.Message}", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("The maximum level of recursion", StringComparison.Ordinal))
        {
            // Fluid reports both of its bounds with this one message.
            throw new TemplateRenderException($"{Where}: the template ran more than {_limits.MaxSteps} steps or nested deeper than {TemplateEngine.MaxRecursion} levels", ex);
        }
        catch (Exception ex) when (ex is not TemplateRenderException)
        {
            throw new TemplateRenderException($"{Where}: {ex.Message}", ex);
        }
        finally
        {
            if (builder.Capacity <= KeptBuilderChars)
            {
                t_builder = builder;
            }
        }
    }
}

/// <summary>A template failed while rendering (error or time limit); the request gets 500, the reason goes to the access log.</summary>
public sealed class TemplateRenderException(string message, Exception? inner = null) : Exception(message, inner);
