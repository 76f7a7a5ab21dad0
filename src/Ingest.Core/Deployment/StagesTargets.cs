using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Ingest.Core.Configuration;

namespace Ingest.Core.Deployment;

/// <summary>One running target a configuration needs.</summary>
/// <param name="Name">Instance name: the target's name, or <c>name@stage</c> for a target that reads stage variables.</param>
/// <param name="Target">The target's name in the configuration.</param>
/// <param name="Stage">The stage whose variables were filled in; null for a target without stage variables.</param>
/// <param name="Options">The settings with stage variables filled in.</param>
public sealed record TargetInstance(string Name, string Target, string? Stage, TargetOptions Options);

/// <summary>
/// Stage variables in target settings: a target whose settings read <c>${stageVariables.NAME}</c>
/// runs once per stage with that stage's values (like an API Gateway integration URI that names a
/// stage variable); every other target runs once and serves all stages.
/// </summary>
public static partial class StagesTargets
{
    /// <summary>The running targets <paramref name="config"/> needs, by instance name.</summary>
    public static Dictionary<string, TargetInstance> Instances(IngestConfig config)
    {
        var instances = new Dictionary<string, TargetInstance>(StringComparer.Ordinal);
        foreach (var (name, options) in config.Targets)
        {
            if (config.Stages.Count == 0 || !References(options).Any())
            {
                instances[name] = new TargetInstance(name, name, null, options);
                continue;
            }
            foreach (var stage in config.Stages)
            {
                var instance = InstanceName(name, stage.Name);
                instances[instance] = new TargetInstance(instance, name, stage.Name, Resolve(options, stage.Variables));
            }
        }
        return instances;
    }

    /// <summary>Instance serving <paramref name="target"/> in <paramref name="stage"/> (null: no stages).</summary>
    public static string InstanceName(IReadOnlyDictionary<string, TargetInstance> instances, string target, string? stage) =>
        stage is not null && instances.ContainsKey(InstanceName(target, stage)) ? InstanceName(target, stage) : target;

    private static string InstanceName(string target, string stage) => $"{target}@{stage}";

    /// <summary>Names of the stage variables <paramref name="options"/> reads.</summary>
    public static IEnumerable<string> References(TargetOptions options)
    {
        var text = ConfigJson.Serialize(options);
        return Reference().Matches(text).Select(m => m.Groups["name"].Value).Distinct(StringComparer.Ordinal);
    }

    /// <summary>A copy of <paramref name="options"/> with every <c>${stageVariables.NAME}</c> replaced.</summary>
    public static TargetOptions Resolve(TargetOptions options, IReadOnlyDictionary<string, string> variables)
    {
        var node = JsonSerializer.SerializeToNode(options, ConfigJsonContext.Default.TargetOptions)!;
        Replace(node, variables);
        return node.Deserialize(ConfigJsonContext.Default.TargetOptions)!;
    }

    /// <summary><paramref name="text"/> with every <c>${stageVariables.NAME}</c> replaced (unknown names stay as written).</summary>
    public static string Substitute(string text, IReadOnlyDictionary<string, string> variables) =>
        text.Contains("${stageVariables.", StringComparison.Ordinal)
            ? Reference().Replace(text, m => variables.TryGetValue(m.Groups["name"].Value, out var value) ? value : m.Value)
            : text;

    private static void Replace(JsonNode node, IReadOnlyDictionary<string, string> variables)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    if (value is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        obj[key] = Substitute(text, variables);
                    }
                    else if (value is not null)
                    {
                        Replace(value, variables);
                    }
                }
                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue leaf && leaf.TryGetValue<string>(out var text))
                    {
                        array[i] = Substitute(text, variables);
                    }
                    else if (array[i] is { } item)
                    {
                        Replace(item, variables);
                    }
                }
                break;
        }
    }

    [GeneratedRegex(@"\$\{stageVariables\.(?<name>[A-Za-z0-9_]+)\}")]
    private static partial Regex Reference();
}
