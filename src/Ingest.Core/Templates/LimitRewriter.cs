using System.Text;
using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Values;

namespace Ingest.Core.Templates;

/// <summary>
/// Rewrites a parsed template so that its render stays within <see cref="TemplateLimits"/>: every
/// loop iteration checks the budget, ranges are bounded before they are built (Fluid builds the
/// whole array: <c>(1..100000000)</c> would allocate gigabytes), and captures write through the
/// budget-checked writer. Also collects the filter names the template uses.
/// </summary>
internal sealed class LimitRewriter : AstRewriter
{
    public HashSet<string> Filters { get; } = new(StringComparer.Ordinal);

    protected override Statement VisitForStatement(ForStatement forStatement)
    {
        var visited = (ForStatement)base.VisitForStatement(forStatement);
        return new ForStatement([BudgetCheck.Instance, .. visited.Statements], visited.Identifier, visited.Source, visited.Limit, visited.Offset, visited.Reversed, visited.Else);
    }

    protected override Statement VisitTableRowStatement(TableRowStatement tableRowStatement)
    {
        var visited = (TableRowStatement)base.VisitTableRowStatement(tableRowStatement);
        return new TableRowStatement([BudgetCheck.Instance, .. visited.Statements], visited.Identifier, visited.Source, visited.Limit, visited.Offset, visited.Cols);
    }

    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        var visited = (CaptureStatement)base.VisitCaptureStatement(captureStatement);
        return new BoundedCapture(visited.Identifier, visited.Statements);
    }

    protected override Expression VisitRangeExpression(RangeExpression rangeExpression)
    {
        var visited = (RangeExpression)base.VisitRangeExpression(rangeExpression);
        return new BoundedRange(visited.From, visited.To);
    }

    // Fluid's rewriter does not look into indexes (a[(1..n)]).
    protected override Expression VisitMemberExpression(MemberExpression memberExpression)
    {
        var segments = memberExpression.Segments;
        MemberSegment[]? rewritten = null;
        for (var i = 0; i < segments.Count; i++)
        {
            if (segments[i] is IndexerSegment indexer && TryRewriteExpression(indexer.Expression, out var expression))
            {
                rewritten ??= [.. segments];
                rewritten[i] = new IndexerSegment(expression);
            }
        }
        return rewritten is null ? memberExpression : new MemberExpression(rewritten);
    }

    protected override Expression VisitFilterExpression(FilterExpression filterExpression)
    {
        Filters.Add(filterExpression.Name);
        return base.VisitFilterExpression(filterExpression);
    }

    /// <summary>First statement of every loop body: stops the loop at the deadline.</summary>
    private sealed class BudgetCheck : Statement
    {
        public static readonly BudgetCheck Instance = new();

        public override ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
        {
            ((RenderContext)context).Check();
            return Normal();
        }
    }

    /// <summary><c>{% capture %}</c> that renders into a budget-checked writer.</summary>
    private sealed class BoundedCapture(string identifier, IReadOnlyList<Statement> statements) : Statement
    {
        public override async ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
        {
            var render = (RenderContext)context;
            var completion = Completion.Normal;
            await using var captured = new LimitedWriter(new StringBuilder(), render);
            foreach (var statement in statements)
            {
                completion = await statement.WriteToAsync(captured, encoder, context);
                if (completion != Completion.Normal)
                {
                    break;
                }
            }
            FluidValue result = new StringValue(captured.ToString(), false);
            if (context.Captured is { } hook)
            {
                result = await hook(identifier, result, context);
            }
            context.SetValue(identifier, result);
            return completion;
        }
    }

    /// <summary><c>(from..to)</c> refused above <see cref="TemplateLimits.MaxRangeItems"/> before anything is allocated.</summary>
    private sealed class BoundedRange(Expression from, Expression to) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var start = ToInt((await from.EvaluateAsync(context)).ToNumberValue());
            var end = ToInt((await to.EvaluateAsync(context)).ToNumberValue());
            var length = end < start ? 0L : (long)end - start + 1;
            var limit = ((RenderContext)context).Limits.MaxRangeItems;
            if (length > limit)
            {
                throw new TemplateLimitException($"the range ({start}..{end}) has more than {limit} items");
            }
            if (length == 0)
            {
                return ArrayValue.Empty;
            }
            var items = new FluidValue[length];
            for (var i = 0; i < items.Length; i++)
            {
                items[i] = NumberValue.Create(start + i);
            }
            return new ArrayValue(items);
        }

        private static int ToInt(decimal value) =>
            value >= int.MaxValue ? int.MaxValue : value <= int.MinValue ? int.MinValue : (int)value;
    }
}
