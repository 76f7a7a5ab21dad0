using System.Text;
using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Payload;
using Ingest.FuzzTests.Auth;
using Ingest.FuzzTests.Configuration;
using Ingest.FuzzTests.Payload;

namespace Ingest.FuzzTests.Regressions;

/// <summary>
/// Every failure the fuzz targets found, with the input that showed it (kept as a seed under
/// <c>Corpus/&lt;target&gt;/found-*</c>). Each test failed before its fix.
/// </summary>
public sealed class FoundByFuzzingTests
{
    [Theory]
    // YamlDotNet threw InvalidOperationException / ArgumentException instead of YamlException.
    [InlineData("found-yaml-scanner-state.yaml")]
    [InlineData("found-yaml-unsupported-event.yaml")]
    // A mapping used as a key: InvalidCastException in the binder.
    [InlineData("found-mapping-as-key.yaml")]
    [InlineData("found-broken-flow-mappings.yaml")]
    [InlineData("found-empty-key.yaml")]
    // refresh: 609999999999999999999999s: OverflowException in Durations.TryParse.
    [InlineData("found-duration-overflow.yaml")]
    // rate: 1e4005 (infinity): ArgumentException serializing the config in StagesValidation.
    [InlineData("found-infinite-rate.yaml")]
    public void Config_loader_reports_a_config_error(string seed)
    {
        var yaml = Encoding.UTF8.GetString(Seed("config", seed));

        var error = Record.Exception(() => ConfigLoader.Load(yaml, Path.GetTempPath(), name => "x"));

        Assert.True(error is null or ConfigException, $"{seed}: {error}");
        ConfigLoaderFuzz.Check(Seed("config", seed));
    }

    [Fact]
    public void Duration_past_TimeSpan_range_is_not_a_duration()
    {
        Assert.False(Durations.TryParse("609999999999999999999999s", out _));
        Assert.False(Durations.TryParse("99999999999999999999d", out _));
        Assert.True(Durations.TryParse("3650d", out var tenYears));
        Assert.Equal(TimeSpan.FromDays(3650), tenYears);
    }

    [Theory]
    // Schema validation threw InvalidOperationException on a string / property name with invalid UTF-8.
    [InlineData("found-invalid-utf8-string.json")]
    [InlineData("found-invalid-utf8-name.json")]
    // An enum compare threw ArgumentOutOfRangeException on an exponent past int range.
    [InlineData("found-huge-exponent.json")]
    public void Schema_validation_refuses_unreadable_values_instead_of_throwing(string seed)
    {
        var input = Seed("json", seed);
        using var document = JsonDocument.Parse(input);
        var schemas = new[]
        {
            """{"type":"string","maxLength":10,"minLength":1}""",
            """{"type":"object","additionalProperties":false,"properties":{"a":{"type":"boolean"}}}""",
            """{"enum":["a","b",1,null]}""",
        }.Select(s => JsonSchema.Load(s, new List<string>())!);

        foreach (var schema in schemas)
        {
            var error = schema.Validate(document.RootElement);
            Assert.True(error is null || error.Value.Path.StartsWith('$'), $"{error}");
        }
        JsonFuzz.CheckJson(input);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_is_refused_by_a_string_schema()
    {
        var schema = JsonSchema.Load("""{"type":"string","maxLength":10000}""", new List<string>())!;
        using var document = JsonDocument.Parse(Seed("json", "found-invalid-utf8-string.json"));

        var error = schema.Validate(document.RootElement);

        Assert.NotNull(error);
        Assert.Equal("$", error.Value.Path);
    }

    [Fact]
    public void Scanner_names_a_key_with_a_lone_surrogate_escape_as_written()
    {
        // {"big\ud800":1O... : the error path used to throw while unescaping the key.
        var error = JsonScanner.Validate(Seed("json", "found-lone-surrogate-name.json"));

        Assert.NotNull(error);
        Assert.StartsWith("$['big", error.Value.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Schema_with_a_lone_surrogate_escape_is_a_load_error()
    {
        var errors = new List<string>();

        var schema = JsonSchema.Load(Encoding.UTF8.GetString(Seed("schema", "found-lone-surrogate.json")), errors);

        Assert.Null(schema);
        Assert.Single(errors);
    }

    [Fact]
    public void Zlib_error_code_is_invalid_data_not_an_exception()
    {
        var result = BodyInflater.Inflate(Seed("inflate", "found-zlib-error.z"), ContentCoding.Deflate, 64 * 1024);

        Assert.Equal(InflateStatus.Invalid, result.Status);
        Assert.StartsWith("corrupt deflate data", result.Reason, StringComparison.Ordinal);
    }

    [Theory]
    // A member with a wrong CRC or length was accepted when a copy of the trailer the data
    // needed appeared later in the body.
    [InlineData("found-gzip-wrong-length.gz")]
    [InlineData("found-gzip-wrong-crc.gz")]
    [InlineData("found-gzip-wrong-crc-small.gz")]
    public void Gzip_member_with_a_wrong_trailer_is_invalid(string seed)
    {
        var result = BodyInflater.Inflate(Seed("inflate", seed), ContentCoding.Gzip, 64 * 1024);

        Assert.Equal(InflateStatus.Invalid, result.Status);
        BodyInflaterFuzz.Check(Seed("inflate", seed));
    }

    [Fact]
    public void Signed_request_with_a_nul_in_its_path_is_what_Kestrel_would_pass_on()
    {
        // The harness built a request Kestrel refuses with 400 ("/...%00..."), and PathString threw.
        var input = Seed("sigv4", "found-nul-in-path.bin");

        Assert.Equal("/", SigV4Fuzz.ParseRequest(input).Target);
        new SigV4Fuzz(new NullOutput()).Check(input);
    }

    private static byte[] Seed(string target, string name) => File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Corpus", target, name));

    private sealed class NullOutput : Xunit.Abstractions.ITestOutputHelper
    {
        public void WriteLine(string message) { }

        public void WriteLine(string format, params object[] args) { }
    }
}
