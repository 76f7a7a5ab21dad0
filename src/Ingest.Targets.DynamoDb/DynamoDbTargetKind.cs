using System.Text.RegularExpressions;
using Amazon;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Ingest.Core.Configuration;
using Ingest.Core.Integration;
using Ingest.Targets.DynamoDb.Client;
using Microsoft.Extensions.Logging;

namespace Ingest.Targets.DynamoDb;

/// <summary>
/// <c>type: dynamodb</c>: one DynamoDB action per route. The route's <c>requestTemplate</c> renders
/// the action's request in DynamoDB's JSON (<c>{"Key":{"id":{"S":"{{ input.path.id }}"}}}</c>);
/// <c>TableName</c> is filled in from <c>table</c>. Settings: <c>table</c> (required), <c>action</c>
/// (<c>PutItem</c>, <c>GetItem</c>, <c>Query</c>, <c>UpdateItem</c> or <c>DeleteItem</c>; required);
/// endpoint <c>aws.endpoints.dynamodb</c>, credentials from <c>aws:</c> or the SDK's chain. How
/// answers and errors reach the client: docs/templates.md, "DynamoDB routes".
/// </summary>
public sealed partial class DynamoDbTargetKind : ISyncTargetKind
{
    /// <summary>The <c>type:</c> value.</summary>
    public const string TypeName = "dynamodb";

    /// <summary>Key of <c>aws.endpoints</c>.</summary>
    public const string EndpointKey = "dynamodb";

    /// <summary>The actions a route can call.</summary>
    public static readonly string[] Actions = ["PutItem", "GetItem", "Query", "UpdateItem", "DeleteItem"];

    // DynamoDB table names, or a table ARN (accepted wherever TableName is).
    [GeneratedRegex(@"^([a-zA-Z0-9_.\-]{3,255}|arn:aws[a-zA-Z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/[a-zA-Z0-9_.\-]{3,255})$")]
    private static partial Regex TableNamePattern();

    public string Type => TypeName;

    public void Validate(string name, TargetOptions options, IngestConfig config, ICollection<string> errors)
    {
        var where = $"targets.{name}";
        if (string.IsNullOrWhiteSpace(options.Table))
        {
            errors.Add($"{where}.table: missing. Name the DynamoDB table, e.g. table: devices.");
        }
        else if (!options.Table.Contains("${", StringComparison.Ordinal) && !TableNamePattern().IsMatch(options.Table))
        {
            errors.Add($"{where}.table: '{options.Table}' is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, '_', '-', '.') or table ARN.");
        }
        if (string.IsNullOrWhiteSpace(options.Action))
        {
            errors.Add($"{where}.action: missing. Set one of {string.Join(", ", Actions)}.");
        }
        else if (!Actions.Contains(options.Action, StringComparer.Ordinal))
        {
            errors.Add($"{where}.action: '{options.Action}' must be one of {string.Join(", ", Actions)} (as written, case matters).");
        }
        if (config.Aws.Endpoints.TryGetValue(EndpointKey, out var endpoint) && !IsHttpUrl(endpoint))
        {
            errors.Add($"aws.endpoints.{EndpointKey}: '{endpoint}' is not an absolute http(s) URL (used by {where}). Write e.g. http://127.0.0.1:4569.");
        }
        if (!string.IsNullOrEmpty(config.Aws.AccessKeyId) && string.IsNullOrEmpty(config.Aws.SecretAccessKey))
        {
            errors.Add($"aws.secretAccessKey: missing while aws.accessKeyId is set (needed by {where}). Set it, e.g. secretAccessKey: ${{AWS_SECRET_ACCESS_KEY}}.");
        }
        NotFor(where, "queue", options.Queue, errors);
        NotFor(where, "stream", options.Stream, errors);
        NotFor(where, "url", options.Url, errors);
        NotFor(where, "function", options.Function, errors);
        NotFor(where, "bucket", options.Bucket, errors);
        NotFor(where, "key", options.Key, errors);
        NotFor(where, "stateMachineArn", options.StateMachineArn, errors);
    }

    public void ValidateRoute(string where, RouteOptions route, TargetOptions options, ICollection<string> errors)
    {
        if (string.IsNullOrWhiteSpace(route.RequestTemplate))
        {
            errors.Add($"{where}.requestTemplate: missing. A route to a dynamodb target renders the {options.Action ?? "action"}'s request with a template, e.g. requestTemplate: '{{\"Key\":{{\"id\":{{\"S\":\"{{{{ input.path.id | json_escape }}}}\"}}}}}}'.");
        }
    }

    public ISyncTarget Create(string name, TargetOptions options, SyncTargetContext context)
    {
        var aws = context.Config.Aws;
        var config = new AmazonDynamoDBConfig
        {
            // One attempt: the client sees what DynamoDB said, and an UpdateItem that adds to a counter is never applied twice.
            MaxErrorRetry = 0,
        };
        if (aws.Endpoints.TryGetValue(EndpointKey, out var endpoint) && !string.IsNullOrWhiteSpace(endpoint))
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = aws.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(aws.Region);
        }
        HttpMessageHandler handler = new SocketsHttpHandler
        {
            // Re-resolve DNS now and then; AWS endpoints move.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            UseCookies = false,
        };
        if (context.WrapHttpHandler is { } wrap)
        {
            handler = wrap(name, handler);
        }
        var http = new DynamoDbHttpClientFactory(handler);
        config.HttpClientFactory = http;
        var client = new DynamoDbJsonClient(Credentials(aws), config);
        return new DynamoDbTarget(name, options.Table!, options.Action!, client, http, context.LoggerFactory.CreateLogger(typeof(DynamoDbTarget).FullName!));
    }

    /// <summary>Static keys from <c>aws:</c>; null lets the SDK use its chain (environment, profile, roles).</summary>
    private static AWSCredentials? Credentials(AwsOptions aws)
    {
        if (string.IsNullOrEmpty(aws.AccessKeyId) || string.IsNullOrEmpty(aws.SecretAccessKey))
        {
            return null;
        }
        return string.IsNullOrEmpty(aws.SessionToken)
            ? new BasicAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey)
            : new SessionAWSCredentials(aws.AccessKeyId, aws.SecretAccessKey, aws.SessionToken);
    }

    private static void NotFor(string where, string key, string? value, ICollection<string> errors)
    {
        if (value is not null)
        {
            errors.Add($"{where}.{key}: does not apply to dynamodb targets. Remove it.");
        }
    }

    private static bool IsHttpUrl(string value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
}
