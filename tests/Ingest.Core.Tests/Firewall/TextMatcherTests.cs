using System.Diagnostics;
using Ingest.Core.Firewall;

namespace Ingest.Core.Tests.Firewall;

public class TextMatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(100);

    [Theory]
    [InlineData("exactly", "/admin", false, "/admin", true)]
    [InlineData("exactly", "/admin", false, "/admin/x", false)]
    [InlineData("contains", "sqlmap", false, "Mozilla sqlmap/1.7", true)]
    [InlineData("contains", "sqlmap", false, "SQLMAP/1.7", false)]
    [InlineData("contains", "sqlmap", true, "SQLMAP/1.7", true)]
    [InlineData("startsWith", "/wp-", false, "/wp-login.php", true)]
    [InlineData("startsWith", "/wp-", false, "/v1/wp-", false)]
    [InlineData("endsWith", ".php", false, "/index.php", true)]
    [InlineData("endsWith", ".php", false, "/index.php5", false)]
    [InlineData("regex", @"^/v\d+/internal(/|$)", false, "/v2/internal/x", true)]
    [InlineData("regex", @"^/v\d+/internal(/|$)", false, "/v2/internals", false)]
    [InlineData("regex", "curl|wget", true, "WGET/1.21", true)]
    public void Literal_and_regex_conditions_match_as_written(string kind, string operand, bool ignoreCase, string text, bool expected)
    {
        var options = new TextMatchOptions { IgnoreCase = ignoreCase };
        typeof(TextMatchOptions).GetProperty(char.ToUpperInvariant(kind[0]) + kind[1..])!.SetValue(options, operand);
        Assert.Null(TextMatcher.Problem(options));

        Assert.Equal(expected, TextMatcher.Compile(options, Timeout).IsMatch(text));
    }

    [Theory]
    [InlineData("(a+)+$")]
    [InlineData("(a|aa)+$")]
    [InlineData("(x+x+)+y")]
    [InlineData(@"^(\w+\s?)*$")]
    public void Catastrophic_patterns_run_in_linear_time_on_hostile_input(string pattern)
    {
        // A backtracking engine needs 2^n steps for these on n characters followed by a mismatch:
        // at n = 100 000 it would never finish. The firewall's engine is linear in the input.
        var hostile = new string(pattern.Contains('x') ? 'x' : 'a', 100_000) + "!";
        var matcher = TextMatcher.Compile(new TextMatchOptions { Regex = pattern }, TimeSpan.FromSeconds(5));

        var clock = Stopwatch.StartNew();
        var matched = matcher.IsMatch(hostile);
        clock.Stop();

        Assert.False(matched);
        // Linear: milliseconds. Backtracking: 2^100000 steps. The bound only needs to tell them apart on a busy machine.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"{pattern} took {clock.Elapsed}");
    }

    [Fact]
    public void A_backtracking_engine_on_the_same_pattern_runs_out_of_time()
    {
        // The contrast that makes the test above meaningful: the same pattern and a 40-character
        // input hit a 100 ms timeout on the default engine.
        var backtracking = new System.Text.RegularExpressions.Regex("(a+)+$", System.Text.RegularExpressions.RegexOptions.None, Timeout);

        Assert.Throws<System.Text.RegularExpressions.RegexMatchTimeoutException>(() => backtracking.IsMatch(new string('a', 40) + "!"));
    }

    [Fact]
    public void A_regex_that_runs_out_of_time_counts_as_a_match()
    {
        // Any engine can be made to run out of a tiny budget with enough input; the firewall then
        // treats the input as hostile rather than letting it through uninspected.
        var matcher = TextMatcher.Compile(new TextMatchOptions { Regex = @"^(\w+\d+)+\s" }, TimeSpan.FromTicks(1));
        var huge = string.Concat(Enumerable.Repeat("ab1", 2_000_000));

        Assert.True(matcher.IsMatch(huge));
    }

    [Theory]
    [InlineData(@"(a)\1", "cannot run on the linear-time engine")]
    [InlineData("(?=admin)", "cannot run on the linear-time engine")]
    [InlineData("(?>a+)b", "cannot run on the linear-time engine")]
    [InlineData("([a-z", "is not a valid .NET regular expression")]
    public void Patterns_the_engine_cannot_run_are_refused_with_the_fix(string pattern, string problem)
    {
        var message = TextMatcher.Problem(new TextMatchOptions { Regex = pattern });

        Assert.NotNull(message);
        Assert.Contains(problem, message);
    }

    [Fact]
    public void Exactly_one_operator_is_required()
    {
        Assert.Contains("set one of", TextMatcher.Problem(new TextMatchOptions()));
        Assert.Contains("set only one of", TextMatcher.Problem(new TextMatchOptions { Contains = "a", Regex = "b" }));
        Assert.Contains("empty text matches everything", TextMatcher.Problem(new TextMatchOptions { Contains = "" }));
    }
}
