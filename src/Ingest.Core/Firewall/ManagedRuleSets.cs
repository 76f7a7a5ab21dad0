namespace Ingest.Core.Firewall;

/// <summary>
/// The built-in rule sets a route enables with <c>managedRules: [sqli, xss]</c>: common probes of
/// SQL injection and script injection, looked for in the path, the decoded query and the body
/// prefix, case-insensitively. Deliberately small: they catch scanners and copy-pasted payloads,
/// not a determined attacker, and they can match honest text (a comment containing
/// "'; drop"), so start with <c>firewall.managedRules.action: count</c> and watch the metric.
/// </summary>
public static class ManagedRuleSets
{
    /// <summary>Names routes may list.</summary>
    public static readonly string[] Names = ["sqli", "xss"];

    /// <summary>Rule id of a set in the access log and the metric: <c>managed:sqli</c>.</summary>
    public static string RuleId(string set) => $"managed:{set}";

    // Built once per process: the sets' alternations are large, and a Regex is immutable and thread-safe.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<(string Set, TimeSpan Timeout), System.Text.RegularExpressions.Regex> Compiled = new();

    /// <summary>The set's pattern on the firewall's regex engine (case-insensitive), shared by every deployment with the same timeout.</summary>
    internal static System.Text.RegularExpressions.Regex Regex(string set, TimeSpan timeout) =>
        Compiled.GetOrAdd((set, timeout), static key => TextMatcher.CompileRegex(Pattern(key.Set), ignoreCase: true, key.Timeout));

    internal static string Pattern(string set) => set switch
    {
        "sqli" => string.Join('|',
            @"'\s*\)?\s*(or|and)\s+'?[\w]+'?\s*(=|<|>|like\b)",       // ' or 1=1, ' or 'a'='a, ') and x like
            @"\b(or|and)\s+(\d+)\s*=\s*\d+",                          // 1 or 1=1
            @"\bunion(\s|\+|/\*.*\*/)+(all(\s|\+)+|distinct(\s|\+)+)?select\b",
            @";\s*(drop|truncate|alter|create|delete|insert|update|exec|execute|shutdown)\s",
            @"'\s*\)?\s*;?\s*(--|#|/\*)",                            // quote closed, rest commented out
            @"\b(sleep|benchmark|pg_sleep|load_file)\s*\(",
            @"\bwaitfor\s+delay\b",
            @"\binformation_schema\b",
            @"\bxp_cmdshell\b",
            @"\binto\s+(out|dump)file\b"),
        "xss" => string.Join('|',
            @"<\s*/?\s*script\b",
            @"\b(javascript|vbscript|livescript)\s*:",
            @"<[^>]*\bon[a-z]+\s*=",                                 // event handler attribute in a tag
            @"<\s*(iframe|frame|object|embed|applet|base|meta)\b",
            @"\bsrcdoc\s*=",
            @"\bdata\s*:\s*text/html",
            @"\bdocument\s*\.\s*(cookie|domain|write)\b"),
        _ => throw new ArgumentOutOfRangeException(nameof(set), set, "not a managed rule set"),
    };
}
