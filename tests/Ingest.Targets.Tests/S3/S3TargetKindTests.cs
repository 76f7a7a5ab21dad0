using Ingest.Core.Configuration;
using Ingest.Targets.S3.Objects;

namespace Ingest.Targets.Tests.S3;

public sealed class S3TargetKindTests
{
    private static readonly S3TargetKind Kind = new();

    private static List<string> TargetErrors(TargetOptions options, string? endpoint = null)
    {
        var config = new IngestConfig();
        if (endpoint is not null)
        {
            config.Aws.Endpoints["s3"] = endpoint;
        }
        var errors = new List<string>();
        Kind.Validate("files", options, config, errors);
        return errors;
    }

    private static List<string> RouteErrors(string route, string? key)
    {
        var errors = new List<string>();
        Kind.ValidateRoute($"routes[0] ({route})", new RouteOptions { Route = route, Target = "files" }, new TargetOptions { Type = "s3", Bucket = "files", Key = key }, errors);
        return errors;
    }

    [Fact]
    public void Good_settings_pass()
    {
        Assert.Empty(TargetErrors(new TargetOptions { Type = "s3", Bucket = "my-files.example" }, "http://127.0.0.1:4566"));
        Assert.Empty(TargetErrors(new TargetOptions { Type = "s3", Bucket = "${stageVariables.bucket}", Key = "${stageVariables.prefix}/{id}" }));
        Assert.Empty(RouteErrors("GET /files/{proxy+}", null));
        Assert.Empty(RouteErrors("ANY /v1/{tenant}/{id}", "uploads/{tenant}/{id+}.bin"));
        Assert.Empty(RouteErrors("PUT /v1/config", "settings/config.json"));
    }

    [Fact]
    public void Every_target_problem_is_reported_with_the_fix()
    {
        Assert.Equal(["targets.files.bucket: missing. Name the S3 bucket, e.g. bucket: uploads."], TargetErrors(new TargetOptions { Type = "s3" }));

        var errors = TargetErrors(new TargetOptions { Type = "s3", Bucket = "My_Bucket", Key = "/uploads/{id" }, "ftp://example");

        Assert.Contains("targets.files.bucket: 'My_Bucket' may hold only lower-case letters, digits, '.' and '-'.", errors);
        Assert.Contains(errors, e => e.StartsWith("targets.files.key: '{' at 9 is not closed", StringComparison.Ordinal));
        Assert.Contains("aws.endpoints.s3: 'ftp://example' is not an http(s) URL, e.g. http://127.0.0.1:4566 (used by target files).", errors);
        Assert.Equal(3, errors.Count);
    }

    [Theory]
    [InlineData("ab", "must be 3 to 63 characters long")]
    [InlineData("-files", "must start and end with a letter or digit")]
    [InlineData("a..b", "may not contain '..'")]
    public void Bucket_names_follow_s3_rules(string bucket, string error) => Assert.Equal(error, S3TargetKind.BucketNameError(bucket));

    [Fact]
    public void A_route_without_a_greedy_parameter_needs_a_key()
    {
        var error = Assert.Single(RouteErrors("GET /files/{id}", null));

        Assert.Equal("routes[0] (GET /files/{id}): target 'files' (s3) takes the object key from a greedy path parameter; end the route with /{proxy+} or set targets.files.key (e.g. uploads/{id}).", error);
    }

    [Fact]
    public void A_key_reading_a_parameter_the_route_lacks_is_named()
    {
        var error = Assert.Single(RouteErrors("GET /files/{id}", "uploads/{tenant}/{id}"));

        Assert.Equal("routes[0] (GET /files/{id}): targets.files.key 'uploads/{tenant}/{id}' reads {tenant}, which this route does not have. Add it to the route's path or change the key.", error);
    }

    [Fact]
    public void Methods_other_than_the_object_calls_are_refused()
    {
        var error = Assert.Single(RouteErrors("PATCH /files/{proxy+}", null));

        Assert.Equal("routes[0] (PATCH /files/{proxy+}).route: target 'files' (s3) serves GET, HEAD, PUT, POST and DELETE (or ANY), not PATCH.", error);
    }
}

public sealed class S3ObjectKeyTests
{
    [Theory]
    [InlineData("uploads/{id}", "uploads/42")]
    [InlineData("{proxy+}", "a/b/c.txt")]
    [InlineData("x/{tenant}-{id}.json", "x/acme-42.json")]
    [InlineData("fixed/name", "fixed/name")]
    public void Keys_are_filled_from_path_parameters(string template, string expected)
    {
        var key = S3ObjectKey.TryParse(template, out var error);
        Assert.Null(error);

        var parameters = new Dictionary<string, string> { ["id"] = "42", ["proxy"] = "a/b/c.txt", ["tenant"] = "acme" };

        Assert.Equal(expected, key!.Resolve(parameters, out var resolveError));
        Assert.Null(resolveError);
    }

    [Theory]
    [InlineData("..", "'.' and '..' segments")]
    [InlineData("a/../b", "'.' and '..' segments")]
    [InlineData("a/.", "'.' and '..' segments")]
    [InlineData("", "it is empty")]
    [InlineData("/a", "starts with '/'")]
    [InlineData("a\nb", "control character")]
    public void Unsafe_values_are_refused(string value, string reason)
    {
        var key = S3ObjectKey.TryParse("{id}", out _)!;

        Assert.Null(key.Resolve(new Dictionary<string, string> { ["id"] = value }, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Dots_inside_names_and_keys_at_the_size_limit_are_fine_one_byte_more_is_not()
    {
        Assert.Null(S3ObjectKey.Check("a/..b/c.../.hidden"));
        Assert.Null(S3ObjectKey.Check(new string('k', S3ObjectKey.MaxKeyBytes)));
        Assert.Contains("longer than 1024 bytes", S3ObjectKey.Check(new string('k', S3ObjectKey.MaxKeyBytes - 1) + "é"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("uploads/{id", "is not closed")]
    [InlineData("uploads/id}", "has no opening")]
    [InlineData("uploads/{}", "is not a path parameter")]
    [InlineData("uploads/{a b}", "is not a path parameter")]
    [InlineData("/uploads/{id}", "starts with '/'")]
    [InlineData("", "empty")]
    public void Bad_templates_say_why(string template, string reason)
    {
        Assert.Null(S3ObjectKey.TryParse(template, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_parameter_gives_an_empty_segment_that_is_still_checked()
    {
        var key = S3ObjectKey.TryParse("{id}", out _)!;

        Assert.Null(key.Resolve(new Dictionary<string, string>(), out var error));
        Assert.Contains("empty", error, StringComparison.Ordinal);
    }
}
