using System.Text.RegularExpressions;

namespace Ingest.Core.Firewall;

/// <summary>
/// One compiled text condition: a literal (ordinal, optionally case-insensitive) or a regular
/// expression on the linear-time engine. Matching reads spans and does not allocate.
/// </summary>
internal sealed class TextMatcher
{
    private enum Kind : byte
    {
        Exactly,
        Contains,
        StartsWith,
        EndsWith,
        Regex,
    }

    private readonly Kind _kind;
    private readonly string _literal;
    private readonly StringComparison _comparison;
    private readonly Regex? _regex;

    private TextMatcher(Kind kind, string literal, bool ignoreCase, Regex? regex)
    {
        _kind = kind;
        _literal = literal;
        _comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        _regex = regex;
    }

    /// <summary>Compiles a validated condition.</summary>
    public static TextMatcher Compile(TextMatchOptions options, TimeSpan regexTimeout)
    {
        if (options.Regex is { } pattern)
        {
            return new TextMatcher(Kind.Regex, "", options.IgnoreCase, CompileRegex(pattern, options.IgnoreCase, regexTimeout));
        }
        var (kind, literal) = Literal(options) ?? throw new ArgumentException("the condition has no operator", nameof(options));
        return new TextMatcher(kind, literal, options.IgnoreCase, null);
    }

    /// <summary>
    /// Every regular expression the firewall runs: non-backtracking (time linear in the input,
    /// whatever the pattern), culture-invariant, with a match timeout as a second guard.
    /// </summary>
    public static Regex CompileRegex(string pattern, bool ignoreCase, TimeSpan timeout) =>
        new(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None), timeout);

    /// <summary>Null when <paramref name="options"/> can be compiled; else what is wrong and how to fix it.</summary>
    public static string? Problem(TextMatchOptions options)
    {
        var set = new[] { options.Exactly, options.Contains, options.StartsWith, options.EndsWith, options.Regex }.Count(v => v is not null);
        if (set != 1)
        {
            return set == 0
                ? "set one of exactly, contains, startsWith, endsWith or regex"
                : "set only one of exactly, contains, startsWith, endsWith or regex (write two rules, or one regex, for more)";
        }
        if (options.Regex is { } pattern)
        {
            try
            {
                CompileRegex(pattern, options.IgnoreCase, TimeSpan.FromSeconds(1));
            }
            catch (NotSupportedException e)
            {
                return $"regex '{pattern}' cannot run on the linear-time engine ({e.Message.TrimEnd('.')}). Rewrite it without backreferences, lookarounds, atomic groups or conditionals";
            }
            catch (ArgumentException e)
            {
                return $"regex '{pattern}' is not a valid .NET regular expression ({e.Message.TrimEnd('.')}). Fix the pattern";
            }
        }
        else if (Literal(options) is (not Kind.Exactly, ""))
        {
            return "an empty text matches everything. Remove the condition, or give the text to look for";
        }
        return null;
    }

    /// <summary>True when <paramref name="text"/> satisfies the condition. A regex that runs out of time counts as a match (fail closed).</summary>
    public bool IsMatch(ReadOnlySpan<char> text) => _kind switch
    {
        Kind.Exactly => text.Equals(_literal, _comparison),
        Kind.Contains => text.Contains(_literal, _comparison),
        Kind.StartsWith => text.StartsWith(_literal, _comparison),
        Kind.EndsWith => text.EndsWith(_literal, _comparison),
        _ => IsRegexMatch(_regex!, text),
    };

    /// <summary>Runs <paramref name="regex"/>; input too costly to inspect is treated as hostile.</summary>
    public static bool IsRegexMatch(Regex regex, ReadOnlySpan<char> text)
    {
        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return true;
        }
    }

    private static (Kind, string)? Literal(TextMatchOptions options) =>
        options.Exactly is { } exactly ? (Kind.Exactly, exactly)
        : options.Contains is { } contains ? (Kind.Contains, contains)
        : options.StartsWith is { } startsWith ? (Kind.StartsWith, startsWith)
        : options.EndsWith is { } endsWith ? (Kind.EndsWith, endsWith)
        : null;
}
