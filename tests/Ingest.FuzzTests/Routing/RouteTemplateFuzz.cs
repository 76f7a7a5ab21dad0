using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Ingest.Core.Routing;
using Ingest.FuzzTests.Engine;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Routing;

/// <summary>
/// Route templates and paths: input is <c>TEMPLATE\nPATH</c>. Parsing either succeeds or names an
/// error; matching never throws; <see cref="RouteTemplate.Matches"/> and
/// <see cref="RouteTemplate.TryGetValues"/> agree and every parameter gets a value.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class RouteTemplateFuzz(ITestOutputHelper output)
{
    private static readonly string[] Dictionary = ["/", "//", "{", "}", "{id}", "{proxy+}", "+", "{a}{b}", "{}", "%2F", "%", "..", ".", "?", "#", "\n", "\u00e9", "{id+}/x"];

    [Fact]
    public void Templates_parse_or_say_why_and_matching_is_consistent() =>
        FuzzRunner.RunAndAssert("route", Mutations.Inputs(Corpus.Load("route"), Mutations.TextFrom("/{}+abc-_.%\n0123"), Dictionary), Check, output);

    internal static void Check(byte[] input)
    {
        var text = Encoding.UTF8.GetString(input);
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        var templateText = newline < 0 ? text : text[..newline];
        var path = newline < 0 ? text : text[(newline + 1)..];

        var template = RouteTemplate.TryParse(templateText, out var error);
        if (template is null)
        {
            PropertyBrokenException.Check(!string.IsNullOrEmpty(error), "refused without a reason");
            return;
        }
        var matches = template.Matches(path);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        var got = template.TryGetValues(path, values);
        PropertyBrokenException.Check(matches == got, $"Matches says {matches}, TryGetValues says {got}");
        if (got)
        {
            PropertyBrokenException.Check(template.ParameterNames.All(values.ContainsKey), "a parameter without a value");
        }
        if (template.IsLiteral)
        {
            PropertyBrokenException.Check(template.Matches(template.Text), "a literal template does not match itself");
        }
    }

    /// <summary>A path built from a template by filling its parameters matches it and gives the values back.</summary>
    [Property(MaxTest = 2000)]
    public Property Filled_templates_match_and_give_their_values_back() =>
        Prop.ForAll(Arb.From(FilledTemplates), filled =>
        {
            var template = RouteTemplate.TryParse(filled.Template, out var error);
            if (template is null)
            {
                return false.Label($"did not parse: {error}");
            }
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            return (template.TryGetValues(filled.Path, values) && filled.Values.All(kv => values.TryGetValue(kv.Key, out var v) && v == kv.Value))
                .Label($"{filled.Template} vs {filled.Path}");
        });

    private sealed record Filled(string Template, string Path, Dictionary<string, string> Values);

    private static Gen<string> Word(string alphabet) =>
        from length in Gen.Choose(1, 8)
        from chars in Gen.ArrayOf(Gen.Elements(alphabet.ToCharArray()), length)
        select new string(chars);

    private static Gen<Filled> FilledTemplates =>
        from count in Gen.Choose(1, 6)
        from kinds in Gen.ArrayOf(Gen.Choose(0, 1), count)
        from literals in Gen.ArrayOf(Word("abcdefghijklmnopqrstuvwxyz0123456789-_."), count)
        from values in Gen.ArrayOf(Word("abcdefghijklmnopqrstuvwxyzABC0123456789-_.~"), count)
        from greedy in Gen.Elements(false, true)
        from rest in Gen.ArrayOf(Word("abc123"), 3)
        select Build(kinds, literals, values, greedy, rest);

    private static Filled Build(int[] kinds, string[] literals, string[] values, bool greedy, string[] rest)
    {
        var template = new StringBuilder();
        var path = new StringBuilder();
        var expected = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < kinds.Length; i++)
        {
            if (kinds[i] == 0)
            {
                template.Append('/').Append(literals[i]);
                path.Append('/').Append(literals[i]);
            }
            else
            {
                template.Append("/{p").Append(i).Append('}');
                path.Append('/').Append(values[i]);
                expected["p" + i] = values[i];
            }
        }
        if (greedy)
        {
            template.Append("/{rest+}");
            var tail = string.Join('/', rest);
            path.Append('/').Append(tail);
            expected["rest"] = tail;
        }
        return new Filled(template.ToString(), path.ToString(), expected);
    }
}
