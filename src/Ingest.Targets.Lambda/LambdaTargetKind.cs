using System.Text.RegularExpressions;
using Ingest.Core.Aws;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.Lambda;

/// <summary>The Lambda proxy event a route sends: API Gateway's REST (1.0) or HTTP API (2.0) format.</summary>
public enum LambdaPayloadFormat
{
    /// <summary>Payload format 1.0 (REST APIs): <c>resource</c>, <c>multiValueHeaders</c>, <c>requestContext.identity</c>.</summary>
    V1,

    /// <summary>Payload format 2.0 (HTTP APIs): <c>rawPath</c>, <c>cookies</c>, comma-joined headers; plain JSON answers allowed.</summary>
    V2,
}

/// <summary>
/// <c>type: lambda</c>: calls a function with Lambda <c>Invoke</c> (SigV4, service <c>lambda</c>,
/// endpoint <c>aws.endpoints.lambda</c>, else AWS). Settings: <c>function</c> (name, ARN or
/// <c>name:alias</c>; required), <c>payloadFormat</c> (<c>1.0</c> or <c>2.0</c>; default 2.0, 1.0 with
/// <c>compat: rest-v1</c>), <c>invocationType</c> (<c>RequestResponse</c>, default, or <c>Event</c>:
/// the client gets 202 once Lambda queued the event). A route with a <c>requestTemplate</c> sends the
/// rendered text as the payload and answers 200 with the function's result (non-proxy);
/// without one, the route is a proxy integration.
/// </summary>
public sealed partial class LambdaTargetKind : ISyncTargetKind
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "lambda";

    /// <summary>Service name in the SigV4 scope and key of <c>aws.endpoints</c>.</summary>
    public const string ServiceName = "lambda";

    /// <summary>Largest Invoke answer read: the 6 MB synchronous payload limit plus room for headers of the proxy response.</summary>
    public const long MaxResponseBytes = 7 * 1024 * 1024;

    // Lambda's FunctionName pattern: name, partial ARN or ARN, optional version or alias.
    [GeneratedRegex(@"^(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?$")]
    private static partial Regex FunctionNamePattern();

    public string Type => TypeName;

    public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (string.IsNullOrWhiteSpace(options.Function))
        {
            errors.Add($"{where}.function: missing. Name the Lambda function: its name, name:alias or ARN.");
        }
        else if (options.Function.Length > 170 || !FunctionNamePattern().IsMatch(options.Function))
        {
            errors.Add($"{where}.function: '{options.Function}' is not a Lambda function name. Write e.g. my-function, my-function:live or arn:aws:lambda:us-east-1:123456789012:function:my-function.");
        }
        if (options.PayloadFormat is { } format && format is not ("1.0" or "2.0"))
        {
            errors.Add($"{where}.payloadFormat: '{format}' must be 1.0 (REST API events) or 2.0 (HTTP API events; quote it in YAML: \"2.0\").");
        }
        if (options.InvocationType is { } type && type is not ("RequestResponse" or "Event"))
        {
            errors.Add($"{where}.invocationType: '{type}' must be RequestResponse (wait for the result, the default) or Event (answer 202 once queued).");
        }
        AwsTargetSettings.Validate(where, ServiceName, "https://lambda.us-east-1.amazonaws.com", config.Aws, errors);
        NotFor(where, "stateMachineArn", options.StateMachineArn, errors);
        NotFor(where, "sync", options.Sync ? "true" : null, errors);
        NotFor(where, "queue", options.Queue, errors);
        NotFor(where, "stream", options.Stream, errors);
        NotFor(where, "url", options.Url, errors);
        NotFor(where, "table", options.Table, errors);
        NotFor(where, "bucket", options.Bucket, errors);
    }

    public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context)
    {
        var aws = context.Config.Aws;
        var restV1 = context.Config.Compat == "rest-v1";
        var endpoint = AwsTargetSettings.Endpoint(name, ServiceName, aws, $"https://lambda.{aws.Region}.amazonaws.com");
        var credentials = AwsTargetSettings.Credentials(name, aws);
        HttpMessageHandler handler = AwsTargetSettings.Handler();
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        // The route timeout (the token) bounds each call; Lambda runs functions for up to 15 minutes.
        var http = new HttpClient(handler, disposeHandler: true) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        var call = new AwsServiceCall(http, new SigV4Signer(aws.Region, ServiceName, context.TimeProvider), credentials, MaxResponseBytes);
        var format = (options.PayloadFormat ?? (restV1 ? "1.0" : "2.0")) == "1.0" ? LambdaPayloadFormat.V1 : LambdaPayloadFormat.V2;
        return new LambdaTarget(
            name,
            call,
            InvokeUri(endpoint, options.Function!),
            format,
            options.InvocationType == "Event",
            restV1,
            context.LoggerFactory.CreateLogger($"Ingest.Targets.{name}"));
    }

    /// <summary><c>{endpoint}/2015-03-31/functions/{function}/invocations</c>; the function name, ARN or alias is one escaped path segment.</summary>
    public static Uri InvokeUri(Uri endpoint, string function) =>
        new(endpoint, $"/2015-03-31/functions/{Uri.EscapeDataString(function)}/invocations");

    private static void NotFor(string where, string key, string? value, ICollection<string> errors)
    {
        if (value is not null)
        {
            errors.Add($"{where}.{key}: does not apply to lambda targets. Remove it.");
        }
    }
}
