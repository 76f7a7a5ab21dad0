using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.RegularExpressions;
using Fluid;
using Fluid.Values;

namespace Ingest.Core.Templates;

/// <summary>
/// The one Fluid parser and the one set of template options, configured once: our filters,
/// invariant culture, UTC, recursion bound, and the budget hooks on assign and capture.
/// Templates cannot read files (<c>include</c>, <c>render</c> fail) or call .NET members.
/// </summary>
internal static partial class TemplateEngine
{
    /// <summary>Nesting of scopes (<c>for</c>, <c>tablerow</c>, ...) a render may reach.</summary>
    public const int MaxRecursion = 64;

    private static readonly FluidParser Parser = new(new FluidParserOptions { AllowFunctions = false, AllowParentheses = false, AllowLiquidTag = false });

    public static TemplateOptions Options { get; } = CreateOptions();

    /// <summary>Deepest nesting of statements and expressions a template may have (render recursion stays small).</summary>
    public const int MaxDepth = 100;

    /// <summary>Most tags (<c>{% %}</c>) and deepest <c>[</c>/<c>(</c> nesting a source may have.</summary>
    public const int MaxTags = 2000;

    // Fluid's parser recurses per nested block or bracket (about 2 KB of stack a level): sources with
    // few of them parse on the caller's thread, the others on a thread with a stack for MaxTags levels.
    private const int InlineTags = 100;
    private const int LargeStackBytes = 64 * 1024 * 1024;

    private static readonly ParseOutcome NotParsed = new(null, "the template cannot be parsed");

    /// <summary>Parses and bounds a template; on failure says why ("line N: ...").</summary>
    public static IFluidTemplate? Parse(string source, TemplateLimits limits, out string? error)
    {
        if (source.Length > limits.MaxSourceChars)
        {
            error = $"the template has {source.Length} characters, more than the limit of {limits.MaxSourceChars}. Shorten it.";
            return null;
        }
        var (tags, brackets) = Scan(source);
        if (tags > MaxTags)
        {
            error = $"the template has {tags} tags ({{% %}}), more than the limit of {MaxTags}. Shorten it.";
            return null;
        }
        if (brackets > MaxTags)
        {
            error = $"the template nests brackets more than {MaxTags} deep. Shorten it.";
            return null;
        }
        ParseOutcome outcome;
        if (tags <= InlineTags && brackets <= InlineTags)
        {
            outcome = ParseBounded(source);
        }
        else
        {
            outcome = NotParsed;
            ExceptionDispatchInfo? failure = null;
            var thread = new Thread(
                () =>
                {
                    // An exception must not end the process from this thread: it is thrown again on the caller's.
                    try
                    {
                        outcome = ParseBounded(source);
                    }
                    catch (Exception ex)
                    {
                        failure = ExceptionDispatchInfo.Capture(ex);
                    }
                },
                LargeStackBytes)
            { Name = "template parser" };
            thread.Start();
            thread.Join();
            failure?.Throw();
        }
        error = outcome.Error;
        return outcome.Template;
    }

    private sealed record ParseOutcome(IFluidTemplate? Template, string? Error);

    private static ParseOutcome ParseBounded(string source)
    {
        IFluidTemplate? parsed;
        string? parseError;
        try
        {
            if (!Parser.TryParse(source, out parsed, out parseError))
            {
                parsed = null;
            }
        }
        catch (Exception ex) when (ex is ParseException or InvalidOperationException or ArgumentException or FormatException or OverflowException or InsufficientExecutionStackException)
        {
            parsed = null;
            parseError = ex.Message;
        }
        if (parsed is null)
        {
            return new ParseOutcome(null, Describe(parseError));
        }
        if (!DepthCheck.Within(parsed, MaxDepth))
        {
            return new ParseOutcome(null, $"statements or expressions are nested deeper than {MaxDepth} levels (e.g. a chain of more than {MaxDepth} filters, or of and/or). Simplify the template.");
        }

        var rewriter = new LimitRewriter();
        var template = rewriter.VisitTemplate(parsed);
        var unknown = rewriter.Filters.Where(f => !Options.Filters.TryGetValue(f, out _)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            return new ParseOutcome(null, $"unknown filter{(unknown.Count > 1 ? "s" : "")} {string.Join(", ", unknown.Select(f => $"'{f}'"))}. See docs/templates.md for the filters there are.");
        }
        return new ParseOutcome(template, null);
    }

    /// <summary>How many tags a source has and how deep its brackets nest at most (an upper bound of what the parser will recurse on).</summary>
    private static (int Tags, int Brackets) Scan(string source)
    {
        var tags = 0;
        var depth = 0;
        var deepest = 0;
        for (var i = 0; i < source.Length; i++)
        {
            switch (source[i])
            {
                case '{' when i + 1 < source.Length && source[i + 1] == '%':
                    tags++;
                    break;
                case '[' or '(':
                    deepest = Math.Max(deepest, ++depth);
                    break;
                case ']' or ')':
                    depth = Math.Max(0, depth - 1);
                    break;
            }
        }
        return (tags, deepest);
    }

    /// <summary>Walks the tree and stops as soon as it is deeper than the limit (so the walk itself stays shallow).</summary>
    private sealed class DepthCheck : Fluid.Ast.AstVisitor
    {
        private readonly int _limit;
        private int _depth;

        private DepthCheck(int limit) => _limit = limit;

        public static bool Within(IFluidTemplate template, int limit)
        {
            try
            {
                new DepthCheck(limit).VisitTemplate(template);
                return true;
            }
            catch (TooDeepException)
            {
                return false;
            }
        }

        public override Fluid.Ast.Statement Visit(Fluid.Ast.Statement statement)
        {
            Enter();
            try
            {
                return base.Visit(statement);
            }
            finally
            {
                _depth--;
            }
        }

        public override Fluid.Ast.Expression Visit(Fluid.Ast.Expression expression)
        {
            Enter();
            try
            {
                return base.Visit(expression);
            }
            finally
            {
                _depth--;
            }
        }

        // The base visitor does not look into indexes (a[b[c]]), which nest as deep as blocks do.
        protected override Fluid.Ast.Expression VisitMemberExpression(Fluid.Ast.MemberExpression memberExpression)
        {
            foreach (var segment in memberExpression.Segments)
            {
                if (segment is Fluid.Ast.IndexerSegment indexer)
                {
                    Visit(indexer.Expression);
                }
            }
            return memberExpression;
        }

        private void Enter()
        {
            if (++_depth > _limit)
            {
                throw new TooDeepException();
            }
        }

        private sealed class TooDeepException : Exception;
    }

    // Fluid says "Invalid 'for' tag at (2:9)\nSource:\n..."; we say "line 2: Invalid 'for' tag (column 9)".
    private static string Describe(string? parseError)
    {
        var text = parseError ?? "the template cannot be parsed";
        var sourceAt = text.IndexOf("\nSource:", StringComparison.Ordinal);
        if (sourceAt >= 0)
        {
            text = text[..sourceAt];
        }
        var position = Position().Match(text);
        if (!position.Success)
        {
            return "line 1: " + text.Trim();
        }
        var message = text[..position.Index].Trim();
        var line = int.Parse(position.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"line {line}: {message} (column {position.Groups[2].Value})");
    }

    [GeneratedRegex(@" at \((\d+):(\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex Position();

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            MaxRecursion = MaxRecursion,
            MaxSteps = TemplateLimits.Default.MaxSteps,
            FileProvider = new Microsoft.Extensions.FileProviders.NullFileProvider(),
            Assigned = static (identifier, value, context) => new ValueTask<FluidValue>(((RenderContext)context).CheckKept(identifier, value)),
            Captured = static (identifier, value, context) => new ValueTask<FluidValue>(((RenderContext)context).CheckKept(identifier, value)),
        };
        options.ValueConverters.Add(static value => value is System.Text.Json.JsonElement element ? JsonValues.From(element) : null);
        TemplateFilters.Register(options.Filters);
        return options;
    }
}
