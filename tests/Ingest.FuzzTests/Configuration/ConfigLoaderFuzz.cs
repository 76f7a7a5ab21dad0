using System.Text;
using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.FuzzTests.Engine;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Sqs;
using Xunit.Abstractions;

namespace Ingest.FuzzTests.Configuration;

/// <summary>
/// <see cref="ConfigLoader.Load"/> of mutated YAML: it either binds or throws
/// <see cref="ConfigException"/>, never another exception; a file that binds is validated, and
/// validation reports problems as a list instead of throwing.
/// </summary>
[Collection(FuzzCollection.Name)]
public sealed class ConfigLoaderFuzz(ITestOutputHelper output)
{
    private const string YamlAlphabet = "abcdefghijklmnopqrstuvwxyz:{}[],-#&*!|>'\"%@` \n\t0123456789.${}/\\";

    private static readonly string[] Dictionary =
    [
        ": ", "- ", "\n  ", "{ ", " }", "[", "]", "${", "${file:", "}", "&a ", "*a", "<<: *a", "!!str ", "!!binary ", "|\n  ", ">-\n  ", "'", "\"", "\\u0000", "~", "null", "true", "1e400", "-1", "0x", "9999999999999999999999", "30s", "1ms", "-5m",
        "routes:", "targets:", "type: kinesis", "type: sqs", "stream: s", "queue: q", "route: POST /v1/{id}", "auth: none", "public: true", "shards:", "throttle:", "schema: ", "split: ndjson", "resourcePolicy:", "allow: [", "10.0.0.0/8", "::/0",
    ];

    private static readonly IReadOnlyDictionary<string, ITargetKind> Kinds = new Dictionary<string, ITargetKind>
    {
        ["sqs"] = new SqsTargetKind(),
        ["kinesis"] = new KinesisTargetKind(),
    };

    private static readonly string BaseDirectory = Directory.CreateTempSubdirectory("ingest-fuzz-config").FullName;

    [Fact]
    public void Config_loader_throws_only_ConfigException() =>
        FuzzRunner.RunAndAssert("config", Mutations.Inputs(Corpus.Load("config"), Mutations.TextFrom(YamlAlphabet), Dictionary), Check, output);

    [Fact]
    public void Seeds_load()
    {
        // The seeds (other than inputs kept from findings) are good files: the fuzzer starts from inputs that reach the binder and validator.
        var loaded = 0;
        var directory = Path.Combine(AppContext.BaseDirectory, "Corpus", "config");
        foreach (var file in Directory.GetFiles(directory).Where(f => !Path.GetFileName(f).StartsWith("found-", StringComparison.Ordinal)))
        {
            var error = Record.Exception(() => ConfigLoader.Load(File.ReadAllText(file), BaseDirectory, Environment));
            Assert.True(error is null, $"{Path.GetFileName(file)}: {error?.Message}");
            loaded++;
        }
        Assert.True(loaded >= 10, $"{loaded} seeds");
    }

    internal static void Check(byte[] input)
    {
        var yaml = Encoding.UTF8.GetString(input);
        IngestConfig config;
        try
        {
            config = ConfigLoader.Load(yaml, BaseDirectory, Environment);
        }
        catch (ConfigException e)
        {
            PropertyBrokenException.Check(e.Errors.Count > 0 && e.Errors.All(m => !string.IsNullOrWhiteSpace(m)), "a ConfigException without messages");
            return;
        }
        try
        {
            ConfigValidator.Validate(config, Kinds);
        }
        catch (ConfigException)
        {
            // Compiling parts of a route (a schema) reports through ConfigException too.
        }
    }

    private static string? Environment(string name) => name.StartsWith("MISSING", StringComparison.Ordinal) ? null : "value-of-" + name;
}
