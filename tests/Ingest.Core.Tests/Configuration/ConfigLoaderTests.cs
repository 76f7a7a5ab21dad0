using Ingest.Core.Configuration;

namespace Ingest.Core.Tests.Configuration;

public class ConfigLoaderTests
{
    [Fact]
    public void Binds_keys_durations_and_scalar_or_list_auth()
    {
        var config = ConfigLoader.Load("""
            compat: rest-v1
            defaults: { maxBodyBytes: 1024, timeout: 2m }
            targets:
              q: { type: sqs, queue: events, batch: { linger: 250ms, maxRecords: 5 } }
            routes:
              - { route: POST /v1/events, target: q, auth: none, public: true }
              - { route: POST /v1/other, target: q, auth: [apiKey, iam] }
            """);

        Assert.Equal("rest-v1", config.Compat);
        Assert.Equal(1024, config.Defaults.MaxBodyBytes);
        Assert.Equal(TimeSpan.FromMinutes(2), config.Defaults.Timeout);
        Assert.Equal(TimeSpan.FromMilliseconds(250), config.Targets["q"].Batch!.Linger);
        Assert.Equal(5, config.Targets["q"].Batch!.MaxRecords);
        Assert.Equal(["none"], config.Routes[0].Auth);
        Assert.Equal(["apiKey", "iam"], config.Routes[1].Auth);
        Assert.True(config.Routes[0].Public);
    }

    [Fact]
    public void Reports_every_unknown_key_and_bad_value_at_once()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("""
            listn: []
            defaults: { maxBodyBytes: lots, timeout: soon }
            targets:
              q: { type: sqs, queu: events }
            routes:
              - { route: POST /v1/events, target: q, auth: none, pubic: true }
            """));

        Assert.Equal(5, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.StartsWith("listn (line 1): unknown key", StringComparison.Ordinal) && e.Contains("listen"));
        Assert.Contains(error.Errors, e => e.StartsWith("defaults.maxBodyBytes (line 2): 'lots' is not a number", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("defaults.timeout (line 2): 'soon' is not a duration", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("targets.q.queu (line 4): unknown key", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.StartsWith("routes[0].pubic (line 6): unknown key", StringComparison.Ordinal));
    }

    [Fact]
    public void Expands_environment_and_file_secrets_without_printing_them()
    {
        var dir = Directory.CreateTempSubdirectory();
        File.WriteAllText(Path.Combine(dir.FullName, "secret"), "from-file\n");
        var env = new Dictionary<string, string> { ["KEY_ID"] = "AKID" };

        var config = ConfigLoader.Load("""
            aws: { accessKeyId: "${KEY_ID}", secretAccessKey: "${file:secret}" }
            """, dir.FullName, name => env.GetValueOrDefault(name));

        Assert.Equal("AKID", config.Aws.AccessKeyId);
        Assert.Equal("from-file", config.Aws.SecretAccessKey);

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("""
            aws: { accessKeyId: "${MISSING}", secretAccessKey: "${file:nope}" }
            """, dir.FullName, name => env.GetValueOrDefault(name)));
        Assert.Equal(2, error.Errors.Count);
        Assert.Contains(error.Errors, e => e.Contains("environment variable MISSING is not set", StringComparison.Ordinal));
        Assert.Contains(error.Errors, e => e.Contains("secret file 'nope' does not exist", StringComparison.Ordinal));
    }

    [Fact]
    public void A_secret_never_appears_in_an_error()
    {
        var env = new Dictionary<string, string> { ["SIZE"] = "s3cr3t-value" };

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("defaults: { maxBodyBytes: \"${SIZE}\" }", ".", name => env.GetValueOrDefault(name)));

        Assert.DoesNotContain("s3cr3t-value", error.Message, StringComparison.Ordinal);
        Assert.Contains("${SIZE}", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5000)]
    [InlineData("2m", 120000)]
    [InlineData("1.5s", 1500)]
    [InlineData("1h", 3600000)]
    public void Parses_durations(string text, double milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("5")]
    [InlineData("ms")]
    [InlineData("5 parsecs")]
    [InlineData("-5s")]
    public void Refuses_bad_durations(string text) => Assert.False(Durations.TryParse(text, out _));

    [Fact]
    public void Invalid_yaml_names_the_line()
    {
        var error = Assert.Throws<ConfigException>(() => ConfigLoader.Load("routes:\n  - { route: [unclosed\n"));
        Assert.Single(error.Errors);
        Assert.Contains("not valid YAML", error.Errors[0], StringComparison.Ordinal);
    }
}
