using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ingest.Core.Configuration;

/// <summary>
/// JSON of the configuration model, for fingerprints (what changed between deployments), the
/// stage-variable scan and the admin's canonical view. Generated at build time rather than
/// reflected at run time, so the gateway also runs as a native (ahead-of-time compiled) binary.
/// </summary>
public static class ConfigJson
{
    /// <summary>Compact JSON of <paramref name="value"/>, any type of the configuration model (its runtime type counts); "null" for null.</summary>
    public static string Serialize(object? value) =>
        value is null ? "null" : JsonSerializer.Serialize(value, value.GetType(), ConfigJsonContext.Default);
}

/// <summary>
/// The configuration types serialized anywhere in the gateway. Named floating-point literals: the
/// JSON is compared and scanned, and an infinite or NaN number (a rate of 1e400, refused later by
/// validation) must not throw here.
/// </summary>
[JsonSourceGenerationOptions(NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(IngestConfig))]
[JsonSerializable(typeof(RootSettings))]
[JsonSerializable(typeof(RouteSettings))]
public sealed partial class ConfigJsonContext : JsonSerializerContext;

/// <summary>The root settings a sync target may read when it is created.</summary>
public sealed record RootSettings(string Compat, AwsOptions Aws, List<string> BinaryMediaTypes);

/// <summary>What decides a cached answer of a route: its settings, its target's, its stage and variables.</summary>
public sealed record RouteSettings(RouteOptions Route, TargetOptions? Target, string? Stage, Dictionary<string, string>? Variables);
