using System.Text;
using Ingest.Core.Payload;

namespace Ingest.Core.Tests.Payload;

public class JsonScannerTests
{
    [Theory]
    [InlineData("""{"temp":21}""")]
    [InlineData("""  [1, "two", {"three": [null, true, false]}]  """)]
    [InlineData("\"just a string\"")]
    [InlineData("42")]
    public void Valid_json_has_no_error(string json) => Assert.Null(JsonScanner.Validate(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("""{"temp": tru}""", "$.temp")]
    [InlineData("""{"a": {"b": [1, 2, x]}}""", "$.a.b[2]")]
    [InlineData("""{"a": 1,}""", "$")]
    [InlineData("""{"a": 1""", "$.a")]
    [InlineData("""[1, 2""", "$[1]")]
    [InlineData("""[1, 2,""", "$[2]")]
    [InlineData("", "$")]
    [InlineData("{} {}", "$")]
    [InlineData("""{"odd name": [0, {"x": nope}]}""", "$['odd name'][1].x")]
    [InlineData("""{"t\u0065mp": nope}""", "$.temp")]
    public void Names_the_path_of_the_first_error(string json, string path)
    {
        var error = JsonScanner.Validate(Encoding.UTF8.GetBytes(json));

        Assert.NotNull(error);
        Assert.Equal(path, error.Value.Path);
        Assert.StartsWith("not valid JSON", error.Value.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_nesting_deeper_than_the_limit_without_reading_further()
    {
        var ok = new string('[', 64) + new string(']', 64);
        Assert.Null(JsonScanner.Validate(Encoding.UTF8.GetBytes(ok)));

        // A megabyte of '[': refused at level 65.
        var deep = Encoding.UTF8.GetBytes(new string('[', 1 << 20));
        var error = JsonScanner.Validate(deep);

        Assert.NotNull(error);
        Assert.Equal("nested deeper than 64 levels", error.Value.Reason);
        Assert.StartsWith("$[0][0]", error.Value.Path, StringComparison.Ordinal);
    }

    [Fact]
    public void Splits_an_array_keeping_each_elements_exact_bytes()
    {
        var json = """[ {"a": 1,  "b":[1,2]} ,"x" , 3.50e1,null, [ ] ]""";
        var bytes = Encoding.UTF8.GetBytes(json);
        var items = new List<Range>();

        Assert.Null(JsonScanner.SplitArray(bytes, items, 100, out var tooMany));

        Assert.False(tooMany);
        Assert.Equal(["""{"a": 1,  "b":[1,2]}""", "\"x\"", "3.50e1", "null", "[ ]"], items.Select(r => Encoding.UTF8.GetString(bytes[r])));
    }

    [Fact]
    public void Split_needs_an_array_and_stops_past_max_items()
    {
        var items = new List<Range>();
        Assert.Equal("$", JsonScanner.SplitArray("""{"a":1}"""u8, items, 10, out _)!.Value.Path);

        items.Clear();
        Assert.Null(JsonScanner.SplitArray("[1,2,3,4]"u8, items, 3, out var tooMany));
        Assert.True(tooMany);

        items.Clear();
        Assert.Equal("$[1].b", JsonScanner.SplitArray("""[{"a":1},{"b":x}]"""u8, items, 10, out _)!.Value.Path);
    }
}
