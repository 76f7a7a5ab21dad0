using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;
using Ingest.Core.Configuration;

namespace Ingest.ConfigDocs;

/// <summary>
/// Writes the configuration reference (docs/configuration.md): one table per options class reached
/// from <see cref="IngestConfig"/>, every key with its type, default and meaning. Meanings and
/// defaults come from the XML docs ("Default: ..."); a key whose docs state no default shows the
/// value the class starts with.
/// </summary>
internal static partial class ConfigurationReference
{
    public const string RegenerateCommand = "dotnet run --project tools/Ingest.ConfigDocs";

    public static string Generate() => Generate(typeof(IngestConfig), XmlDocs.For(typeof(IngestConfig).Assembly));

    public static string Generate(Type root, XmlDocs docs)
    {
        var sections = Sections(root);
        var markdown = new StringBuilder();
        markdown.Append(CultureInfo.InvariantCulture, $$"""
            # Configuration reference

            <!-- Generated from the XML docs of the options classes (src/Ingest.Core/Configuration) by
                 `{{RegenerateCommand}}`. Do not edit: change the docs in the code and regenerate. -->

            Every key of the YAML file, with its default. Keys are camelCase; unknown keys are errors.
            Durations are written `250ms`, `5s`, `2m`, `1h`, `1d`; sizes are bytes. Any value may be
            `${VAR}` (an environment variable) or `${file:PATH}` (a file, relative to the config file),
            which is how secrets are given; they are never printed. `ingest validate --config FILE`
            checks a file and lists every problem at once. Working examples: `config/ingest.local.yaml`,
            `config/ingest.compose.yaml`.

            Sections: {{string.Join(", ", sections.Select(s => $"[`{s.Paths[0]}`](#{Anchor(s.Type)})"))}}.

            """);
        foreach (var section in sections)
        {
            markdown.Append('\n');
            markdown.Append(CultureInfo.InvariantCulture, $"## <a id=\"{Anchor(section.Type)}\"></a>`{section.Paths[0]}`\n\n");
            var summary = docs.Summary(section.Type);
            if (summary.Length > 0)
            {
                markdown.Append(summary).Append("\n\n");
            }
            if (section.Paths.Count > 1)
            {
                markdown.Append("Used at ").Append(string.Join(", ", section.Paths.Select(p => $"`{p}`"))).Append(".\n\n");
            }
            markdown.Append("| key | type | default | meaning |\n|---|---|---|---|\n");
            var instance = Activator.CreateInstance(section.Type);
            foreach (var property in Properties(section.Type))
            {
                var (meaning, stated) = SplitDefault(docs.Summary(property));
                var value = stated ?? DefaultOf(property, instance, meaning);
                markdown.Append(CultureInfo.InvariantCulture,
                    $"| `{Key(property.Name)}` | {TypeName(property.PropertyType)} | {Cell(value)} | {Cell(meaning)} |\n");
            }
        }
        return markdown.ToString();
    }

    /// <summary>The YAML key of a property (camelCase, as the config loader binds it).</summary>
    public static string Key(string propertyName) => char.ToLowerInvariant(propertyName[0]) + propertyName[1..];

    /// <summary>
    /// Every options class reachable from <paramref name="root"/>, each with every path it is used at,
    /// in reading order: a class, then the classes nested in it.
    /// </summary>
    internal static List<Section> Sections(Type root)
    {
        var sections = new List<Section>();
        var byType = new Dictionary<Type, Section>();
        Visit(root, "");
        return sections;

        void Visit(Type type, string path)
        {
            var section = new Section(type, [path.Length == 0 ? "(top level)" : path]);
            byType[type] = section;
            sections.Add(section);
            foreach (var property in Properties(type))
            {
                var (options, suffix) = OptionsClass(property.PropertyType);
                if (options is null)
                {
                    continue;
                }
                var key = Key(property.Name);
                var childPath = (path.Length == 0 ? key : $"{path}.{key}") + suffix;
                if (byType.TryGetValue(options, out var known))
                {
                    known.Paths.Add(childPath);
                    continue;
                }
                Visit(options, childPath);
            }
        }
    }

    internal sealed record Section(Type Type, List<string> Paths);

    private static IEnumerable<PropertyInfo> Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite).OrderBy(p => p.MetadataToken);

    // An options class, directly or as the items of a list or the values of a map; the path suffix says which.
    private static (Type? Options, string Suffix) OptionsClass(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            return (IsOptions(type.GetGenericArguments()[0]) ? type.GetGenericArguments()[0] : null, "[]");
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            return (IsOptions(type.GetGenericArguments()[1]) ? type.GetGenericArguments()[1] : null, ".<name>");
        }
        return (IsOptions(type) ? type : null, "");
    }

    private static bool IsOptions(Type type) => type.IsClass && type != typeof(string);

    private static string TypeName(Type type)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            return $"list of {TypeName(type.GetGenericArguments()[0])}";
        }
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            return $"map of name to {TypeName(type.GetGenericArguments()[1])}";
        }
        return type switch
        {
            _ when type == typeof(string) => "string",
            _ when type == typeof(int) || type == typeof(long) => "integer",
            _ when type == typeof(double) || type == typeof(decimal) => "number",
            _ when type == typeof(bool) => "true/false",
            _ when type == typeof(TimeSpan) => "duration",
            _ => $"[{Key(type.Name.Replace("Options", "", StringComparison.Ordinal))}](#{Anchor(type)})",
        };
    }

    private static string Anchor(Type type) => type.Name.ToLowerInvariant();

    // "... Default: 250ms." -> ("...", "250ms"). The sentence runs to a period followed by a space or the end.
    internal static (string Meaning, string? Default) SplitDefault(string summary)
    {
        var match = DefaultSentence().Match(summary);
        if (!match.Success)
        {
            return (summary, null);
        }
        var meaning = (summary[..match.Index] + summary[(match.Index + match.Length)..]).Trim();
        return (meaning, match.Groups["value"].Value.Trim());
    }

    [GeneratedRegex(@"Default:\s*(?<value>.+?)(?:\.(?=\s)|\.$|$)", RegexOptions.Singleline)]
    private static partial Regex DefaultSentence();

    // The value a fresh options object holds, written as in the YAML file.
    private static string DefaultOf(PropertyInfo property, object? instance, string meaning)
    {
        var value = property.GetValue(instance);
        return value switch
        {
            null => "none",
            "" => meaning.Contains("Required", StringComparison.Ordinal) ? "required" : "none",
            string s => $"`{s}`",
            bool b => b ? "`true`" : "`false`",
            TimeSpan t => $"`{Durations.Format(t)}`",
            IFormattable f when property.PropertyType.IsPrimitive || Nullable.GetUnderlyingType(property.PropertyType) is not null
                => $"`{f.ToString(null, CultureInfo.InvariantCulture)}`",
            IDictionary { Count: 0 } or ICollection { Count: 0 } => "none",
            IEnumerable items when value is not IDictionary => $"`[{string.Join(", ", items.Cast<object>())}]`",
            _ => "see section",
        };
    }

    private static string Cell(string text) => text.Length == 0 ? "" : text.Replace("|", "\\|", StringComparison.Ordinal);
}
