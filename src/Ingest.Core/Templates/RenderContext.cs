using System.Globalization;
using System.Text;
using Fluid;
using Fluid.Values;

namespace Ingest.Core.Templates;

/// <summary>A limit of <see cref="TemplateLimits"/> was reached; turned into <see cref="TemplateRenderException"/> by <see cref="MappingTemplate.Render"/>.</summary>
internal sealed class TemplateLimitException(string message) : Exception(message);

/// <summary>
/// The Fluid context of one render, with its budget: the deadline, the caller's cancellation and
/// the output size. Checked on every write, assign, capture, loop iteration and filter of ours,
/// so a render stops within one iteration's work of its deadline.
/// </summary>
internal sealed class RenderContext : TemplateContext
{
    private readonly TemplateLimits _limits;
    private readonly long _deadline;
    private readonly CancellationToken _cancellation;

    public RenderContext(TemplateOptions options, TemplateLimits limits, DateTimeOffset now, CancellationToken cancellation)
        : base(options)
    {
        _limits = limits;
        _cancellation = cancellation;
        var time = limits.TimeProvider;
        _deadline = time.GetTimestamp() + (long)(limits.RenderTime.TotalSeconds * time.TimestampFrequency);
        MaxSteps = limits.MaxSteps;
        Now = () => now;
    }

    public TemplateLimits Limits => _limits;

    /// <summary>Throws when the caller cancelled or the time limit passed.</summary>
    public void Check()
    {
        _cancellation.ThrowIfCancellationRequested();
        if (_limits.TimeProvider.GetTimestamp() > _deadline)
        {
            throw new TemplateLimitException(string.Create(CultureInfo.InvariantCulture, $"the template ran longer than its limit of {_limits.RenderTime.TotalMilliseconds:0} ms"));
        }
    }

    /// <summary>Checks a value an assign or capture is about to keep.</summary>
    public FluidValue CheckKept(string identifier, FluidValue value)
    {
        Check();
        if (value is StringValue && value.ToStringValue().Length > _limits.MaxOutputChars)
        {
            throw new TemplateLimitException($"'{identifier}' would hold more than {_limits.MaxOutputChars} characters");
        }
        return value;
    }

    public void CheckLength(int length)
    {
        if (length > _limits.MaxOutputChars)
        {
            throw new TemplateLimitException($"the output is longer than the limit of {_limits.MaxOutputChars} characters");
        }
    }
}

/// <summary>Output of a render (or a capture): a string builder that checks the budget on every write.</summary>
internal sealed class LimitedWriter(StringBuilder builder, RenderContext context) : StringWriter(builder, CultureInfo.InvariantCulture)
{
    private readonly StringBuilder _builder = builder;

    public override void Write(char value)
    {
        Before(1);
        _builder.Append(value);
    }

    public override void Write(string? value)
    {
        if (value is not null)
        {
            Before(value.Length);
            _builder.Append(value);
        }
    }

    public override void Write(char[] buffer, int index, int count)
    {
        Before(count);
        _builder.Append(buffer, index, count);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        Before(buffer.Length);
        _builder.Append(buffer);
    }

    public override void Write(StringBuilder? value)
    {
        if (value is not null)
        {
            Before(value.Length);
            _builder.Append(value);
        }
    }

    private void Before(int count)
    {
        context.Check();
        context.CheckLength(_builder.Length + count);
    }
}
