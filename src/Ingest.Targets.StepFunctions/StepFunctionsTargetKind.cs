using System.Text.RegularExpressions;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.StepFunctions;

/// <summary>
/// <c>type: stepfunctions</c>: starts an execution of <c>stateMachineArn</c> per request (JSON 1.0,
/// SigV4 service <c>states</c>). Default: <c>StartExecution</c> on <c>aws.endpoints.stepfunctions</c>
/// (else <c>https://states.REGION.amazonaws.com</c>), answered 200 with <c>{executionArn, startDate}</c>.
/// <c>sync: true</c> (express workflows): <c>StartSyncExecution</c> on
/// <c>aws.endpoints.stepfunctionsSync</c> (else <c>https://sync-states.REGION.amazonaws.com</c>),
/// answered with the execution's output. The execution name is the request id, so a retried call
/// does not start a second execution; the input is the rendered request template, else the body.
/// </summary>
public sealed partial class StepFunctionsTargetKind : ISyncTargetKind
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "stepfunctions";

    /// <summary>Service name in the SigV4 scope.</summary>
    public const string SigningName = "states";

    /// <summary>Key of <c>aws.endpoints</c> for StartExecution.</summary>
    public const string EndpointKey = "stepfunctions";

    /// <summary>Key of <c>aws.endpoints</c> for StartSyncExecution (a separate host at AWS).</summary>
    public const string SyncEndpointKey = "stepfunctionsSync";

    /// <summary>Largest answer read: a sync execution answers with its input and output (256 KiB each at most).</summary>
    public const long MaxResponseBytes = 2 * 1024 * 1024;

    // arn:aws:states:us-east-1:123456789012:stateMachine:name (versions and aliases add ":qualifier").
    [GeneratedRegex(@"^arn:aws[a-zA-Z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_-]{1,128})?$")]
    private static partial Regex StateMachineArnPattern();

    public string Type => TypeName;

    public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (string.IsNullOrWhiteSpace(options.StateMachineArn))
        {
            errors.Add($"{where}.stateMachineArn: missing. Set the state machine's ARN, e.g. arn:aws:states:us-east-1:123456789012:stateMachine:orders.");
        }
        else if (!StateMachineArnPattern().IsMatch(options.StateMachineArn))
        {
            errors.Add($"{where}.stateMachineArn: '{options.StateMachineArn}' is not a state machine ARN. Write e.g. arn:aws:states:us-east-1:123456789012:stateMachine:orders.");
        }
        var aws = config.Aws;
        AwsTargetSettings.Validate(where, EndpointKey, "https://states.us-east-1.amazonaws.com", aws, errors);
        if (options.Sync)
        {
            AwsTargetSettings.Validate(where, SyncEndpointKey, "https://sync-states.us-east-1.amazonaws.com", aws, errors);
            if (aws.Endpoints.ContainsKey(EndpointKey) && !aws.Endpoints.ContainsKey(SyncEndpointKey))
            {
                errors.Add($"{where}: sync: true calls StartSyncExecution on its own host, but only aws.endpoints.stepfunctions is set. Set aws.endpoints.stepfunctionsSync as well (AWS: https://sync-states.{aws.Region}.amazonaws.com; a local emulator: usually the same URL).");
            }
        }
        NotFor(where, "function", options.Function, errors);
        NotFor(where, "payloadFormat", options.PayloadFormat, errors);
        NotFor(where, "invocationType", options.InvocationType, errors);
        NotFor(where, "queue", options.Queue, errors);
        NotFor(where, "stream", options.Stream, errors);
        NotFor(where, "url", options.Url, errors);
        NotFor(where, "table", options.Table, errors);
        NotFor(where, "bucket", options.Bucket, errors);
    }

    public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context)
    {
        var aws = context.Config.Aws;
        var endpoint = options.Sync
            ? AwsTargetSettings.Endpoint(name, SyncEndpointKey, aws, $"https://sync-states.{aws.Region}.amazonaws.com")
            : AwsTargetSettings.Endpoint(name, EndpointKey, aws, $"https://states.{aws.Region}.amazonaws.com");
        HttpMessageHandler handler = AwsTargetSettings.Handler();
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        // The route timeout (the token) bounds each call.
        var http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var call = new AwsServiceCall(http, new SigV4Signer(aws.Region, SigningName, context.TimeProvider), AwsTargetSettings.Credentials(name, aws), MaxResponseBytes);
        return new StepFunctionsTarget(
            name,
            call,
            endpoint,
            options.StateMachineArn!,
            options.Sync,
            context.Config.Compat == "rest-v1",
            context.LoggerFactory.CreateLogger($"Ingest.Targets.{name}"));
    }

    private static void NotFor(string where, string key, string? value, ICollection<string> errors)
    {
        if (value is not null)
        {
            errors.Add($"{where}.{key}: does not apply to stepfunctions targets. Remove it.");
        }
    }
}
