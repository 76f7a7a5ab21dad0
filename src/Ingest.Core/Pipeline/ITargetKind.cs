using Ingest.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Ingest.Core.Pipeline;

/// <summary>What a target kind gets to build its sender.</summary>
/// <param name="Aws">Region, credentials and endpoints.</param>
/// <param name="CreateMissing">Create the queue or stream when it does not exist.</param>
/// <param name="LoggerFactory">Logging.</param>
/// <param name="TimeProvider">Clock.</param>
/// <param name="WrapHttpHandler">Optional wrapper around the HTTP handler of backend calls (fault injection in tests, proxies); called with the target name and the inner handler.</param>
/// <param name="Metrics">The gateway's instruments, for metrics of a target kind's own; null: none.</param>
public sealed record TargetContext(
    AwsOptions Aws,
    bool CreateMissing,
    ILoggerFactory LoggerFactory,
    TimeProvider TimeProvider,
    Func<string, HttpMessageHandler, HttpMessageHandler>? WrapHttpHandler = null,
    Diagnostics.IngestMetrics? Metrics = null);

/// <summary>
/// One kind of async target (sqs, kinesis, ...). Adding a kind is one project with an
/// implementation of this interface plus one registration.
/// </summary>
public interface ITargetKind
{
    /// <summary>The <c>type:</c> value in the configuration.</summary>
    string Type { get; }

    /// <summary>The service's limits, given the target's settings (e.g. <c>maxRecordBytes</c>).</summary>
    BatchLimits ServiceLimits(TargetOptions options);

    /// <summary>Default in-flight batches. FIFO queues need 1 to keep order.</summary>
    int DefaultMaxInFlight(TargetOptions options) => 8;

    /// <summary>Adds one message per problem with this target's settings, each naming the fix.</summary>
    void Validate(string name, TargetOptions options, ICollection<string> errors);

    /// <summary>Request headers the sender reads from the envelope (e.g. a partition key header).</summary>
    IEnumerable<string> RequiredHeaders(TargetOptions options);

    /// <summary>Creates the sender; may check or create the queue or stream.</summary>
    Task<IBatchSender> CreateSenderAsync(string name, TargetOptions options, TargetContext context, CancellationToken cancellationToken);
}

/// <summary>Parsing of <c>header:NAME</c>, <c>json:FIELD</c> and <c>random</c> event keys.</summary>
public static class EventKeySource
{
    /// <summary>Returns the header name of a <c>header:NAME</c> source, lower-cased.</summary>
    public static string? HeaderName(string? source) =>
        source is not null && source.StartsWith("header:", StringComparison.Ordinal) ? source[7..].ToLowerInvariant() : null;

    /// <summary>Returns the field of a <c>json:FIELD</c> source.</summary>
    public static string? JsonField(string? source) =>
        source is not null && source.StartsWith("json:", StringComparison.Ordinal) ? source[5..] : null;

    /// <summary>True for a well-formed source; <paramref name="allowRandom"/> admits <c>random</c>.</summary>
    public static bool IsValid(string source, bool allowRandom) =>
        (allowRandom && source == "random")
        || (HeaderName(source) is { Length: > 0 })
        || (JsonField(source) is { Length: > 0 });
}
