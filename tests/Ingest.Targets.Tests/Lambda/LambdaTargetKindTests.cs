using Ingest.Core.Configuration;
using Ingest.Targets.Lambda;

namespace Ingest.Targets.Tests.Lambda;

public sealed class LambdaTargetKindTests
{
    [Theory]
    [InlineData("orders")]
    [InlineData("orders:live")]
    [InlineData("orders:$LATEST")]
    [InlineData("arn:aws:lambda:us-east-1:123456789012:function:orders")]
    [InlineData("arn:aws:lambda:us-east-1:123456789012:function:orders:7")]
    [InlineData("123456789012:function:orders")]
    public void Function_names_aliases_and_ARNs_are_valid(string function)
    {
        Assert.Empty(Validate(new TargetOptions { Type = "lambda", Function = function }));
    }

    [Fact]
    public void Every_problem_is_reported_at_once_naming_the_target_and_the_fix()
    {
        var config = new IngestConfig();
        config.Aws.Endpoints["lambda"] = "not a url";
        config.Aws.AccessKeyId = "AKID";
        var options = new TargetOptions
        {
            Type = "lambda",
            Function = "bad name with spaces",
            PayloadFormat = "3.0",
            InvocationType = "Sometimes",
            StateMachineArn = "arn:aws:states:us-east-1:123456789012:stateMachine:x",
            Queue = "q",
        };

        var errors = Validate(options, config);

        Assert.Contains(errors, e => e.StartsWith("targets.fn.function: 'bad name with spaces' is not a Lambda function name", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.fn.payloadFormat: '3.0' must be 1.0", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("targets.fn.invocationType: 'Sometimes' must be RequestResponse", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("aws.endpoints.lambda: 'not a url' is not an absolute http(s) URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("aws.secretAccessKey: missing while aws.accessKeyId is set", StringComparison.Ordinal));
        Assert.Contains("targets.fn.stateMachineArn: does not apply to lambda targets. Remove it.", errors);
        Assert.Contains("targets.fn.queue: does not apply to lambda targets. Remove it.", errors);
        Assert.Equal(7, errors.Count);
    }

    [Fact]
    public void A_missing_function_is_reported()
    {
        Assert.Equal(
            ["targets.fn.function: missing. Name the Lambda function: its name, name:alias or ARN."],
            Validate(new TargetOptions { Type = "lambda" }));
    }

    [Fact]
    public void The_invoke_URI_escapes_the_function_as_one_path_segment()
    {
        var uri = LambdaTargetKind.InvokeUri(new Uri("https://lambda.us-east-1.amazonaws.com"), "arn:aws:lambda:us-east-1:123456789012:function:orders:live");

        Assert.Equal("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aorders%3Alive/invocations", uri.AbsolutePath);
    }

    private static List<string> Validate(TargetOptions options, IngestConfig? config = null)
    {
        var errors = new List<string>();
        new LambdaTargetKind().Validate("fn", options, config ?? new IngestConfig(), errors);
        return errors;
    }
}
