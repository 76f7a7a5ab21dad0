using System.Reflection;
using Ingest.Core.Configuration;

namespace Ingest.ConfigDocs.Tests;

public class ConfigurationReferenceTests
{
    private static readonly string Generated = ConfigurationReference.Generate();

    [Fact]
    public void Docs_configuration_md_is_up_to_date()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "configuration.md");
        var committed = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : "";

        Assert.True(committed == Generated,
            $"docs/configuration.md is out of date with the options classes. Regenerate it: {ConfigurationReference.RegenerateCommand}");
    }

    [Fact]
    public void Every_key_of_every_options_class_has_a_row_under_its_section()
    {
        foreach (var section in ConfigurationReference.Sections(typeof(IngestConfig)))
        {
            var table = Generated[Generated.IndexOf($"<a id=\"{section.Type.Name.ToLowerInvariant()}\">", StringComparison.Ordinal)..];
            var end = table.IndexOf("\n## ", StringComparison.Ordinal);
            table = end < 0 ? table : table[..end];
            foreach (var property in section.Type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
            {
                Assert.Contains($"| `{ConfigurationReference.Key(property.Name)}` |", table, StringComparison.Ordinal);
            }
        }
    }

    [Theory]
    [InlineData("redis", "timeout", "250ms")]                  // stated in the docs
    [InlineData("limits", "requestHeadersTimeout", "10s")]
    [InlineData("(top level)", "compat", "`http-v2`")]        // no "Default:" in the docs: the initial value
    [InlineData("targets.<name>.retry", "maxAttempts", "8")]
    public void Rows_show_the_default(string section, string key, string expected)
    {
        var row = Generated.Split('\n')
            .SkipWhile(line => !line.EndsWith($"`{section}`", StringComparison.Ordinal))
            .First(line => line.StartsWith($"| `{key}` |", StringComparison.Ordinal));

        Assert.Equal(expected, row.Split(" | ")[2]);
    }

    [Fact]
    public void Nested_classes_list_every_path_they_are_used_at()
    {
        var throttle = ConfigurationReference.Sections(typeof(IngestConfig)).Single(s => s.Type == typeof(ThrottleOptions));

        Assert.Equal("throttle", throttle.Paths[0]);
        Assert.Contains("routes[].throttle", throttle.Paths);
        Assert.Contains("usagePlans[].throttle", throttle.Paths);
    }

    [Theory]
    [InlineData("Backend timeout. Default: 29s.", "Backend timeout.", "29s")]
    [InlineData("Cap; full means 503. Default: 1073741824 (1 GiB).", "Cap; full means 503.", "1073741824 (1 GiB)")]
    [InlineData("Default: 1.5 times the rate. Rounded up.", "Rounded up.", "1.5 times the rate")]
    [InlineData("Tokens per second.", "Tokens per second.", null)]
    public void The_default_sentence_is_taken_out_of_the_meaning(string summary, string meaning, string? value)
    {
        Assert.Equal((meaning, value), ConfigurationReference.SplitDefault(summary));
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Ingest.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"no Ingest.sln above {AppContext.BaseDirectory}");
    }
}
