using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Ingest.Core.Configuration;
using Ingest.Core.Throttling;

namespace Ingest.Core.Deployment;

/// <summary>Validation of <c>stages</c>, stage variable references, <c>watch</c> and <c>deployments</c>.</summary>
public static partial class StagesValidation
{
    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var hosts = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < config.Stages.Count; i++)
        {
            var stage = config.Stages[i];
            var where = $"stages[{i}] ({stage.Name})";
            if (!StageName().IsMatch(stage.Name))
            {
                errors.Add($"{where}.name: '{stage.Name}' must be letters, digits, '-' or '_' (it is the path prefix, e.g. name: prod serves /prod/...).");
            }
            else if (!names.Add(stage.Name))
            {
                errors.Add($"{where}.name: stage '{stage.Name}' is defined twice. Rename or remove one of them.");
            }
            foreach (var name in stage.Variables.Keys)
            {
                if (!VariableName().IsMatch(name))
                {
                    errors.Add($"{where}.variables: '{name}' must be letters, digits or '_' (it is read as ${{stageVariables.{name}}}).");
                }
            }
            if (stage.Throttle is { } throttle)
            {
                ValidateThrottle($"{where}.throttle", throttle, errors);
            }
            foreach (var host in stage.Hosts)
            {
                if (Uri.CheckHostName(host) is not (UriHostNameType.Dns or UriHostNameType.IPv4))
                {
                    errors.Add($"{where}.hosts: '{host}' is not a host name. Write the name alone, without scheme, port or path, e.g. api.example.com.");
                }
                else if (!hosts.TryAdd(host, stage.Name))
                {
                    errors.Add($"{where}.hosts: '{host}' is already served by stage '{hosts[host]}'. A host name can belong to one stage only.");
                }
            }
        }
        ValidateReferences(config, errors);
        ValidateDeployments(config.Deployments, errors);
    }

    private static void ValidateThrottle(string where, ThrottleOptions throttle, ICollection<string> errors)
    {
        if (!(throttle.Rate >= ThrottleValidation.MinRate && throttle.Rate <= ThrottleValidation.MaxRate))
        {
            errors.Add($"{where}.rate: {Text(throttle.Rate)} must be between {Text(ThrottleValidation.MinRate)} and {Text(ThrottleValidation.MaxRate)} tokens per second, e.g. rate: 1000.");
        }
        if (!(throttle.Burst >= 1 && throttle.Burst <= ThrottleValidation.MaxRate) || throttle.Burst != Math.Floor(throttle.Burst))
        {
            errors.Add($"{where}.burst: {Text(throttle.Burst)} must be a whole number of requests from 1 to {Text(ThrottleValidation.MaxRate)} (the bucket size), e.g. burst: 500.");
        }
        if (throttle.By != "route")
        {
            errors.Add($"{where}.by: '{throttle.By}' is not available for a stage: a stage has one bucket for all its routes. Remove 'by', or throttle by client on the routes.");
        }
    }

    /// <summary>Every <c>${stageVariables.NAME}</c> must be in target settings and defined by every stage.</summary>
    private static void ValidateReferences(IngestConfig config, ICollection<string> errors)
    {
        foreach (var (name, target) in config.Targets)
        {
            foreach (var variable in StagesTargets.References(target))
            {
                if (config.Stages.Count == 0)
                {
                    errors.Add($"targets.{name}: reads ${{stageVariables.{variable}}} but there are no stages. Add stages with this variable, or write the value itself.");
                    continue;
                }
                for (var i = 0; i < config.Stages.Count; i++)
                {
                    if (!config.Stages[i].Variables.ContainsKey(variable))
                    {
                        errors.Add($"targets.{name}: reads ${{stageVariables.{variable}}}, which stage '{config.Stages[i].Name}' does not define. Add it under stages[{i}].variables.");
                    }
                }
            }
        }
        // Elsewhere the text would be used as it is: say so rather than serve a literal '${...}'.
        var rest = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["routes"] = config.Routes,
            ["authorizers"] = config.Authorizers,
            ["aws"] = config.Aws,
            ["admin"] = config.Admin,
            ["accessLog"] = config.AccessLog,
            ["redis"] = config.Redis,
            ["wal"] = config.Wal,
            ["deployments"] = config.Deployments,
        };
        foreach (var (key, value) in rest)
        {
            if (value is not null && ConfigJson.Serialize(value).Contains("${stageVariables.", StringComparison.Ordinal))
            {
                errors.Add($"{key}: ${{stageVariables.NAME}} can only be used in target settings (targets.NAME.*). Write the value itself here.");
            }
        }
    }

    private static void ValidateDeployments(DeploymentsOptions deployments, ICollection<string> errors)
    {
        if (string.IsNullOrWhiteSpace(deployments.Path))
        {
            errors.Add("deployments.path: must name a directory, e.g. ./data/deployments.");
        }
        if (deployments.WatchDebounce < TimeSpan.Zero || deployments.WatchDebounce > TimeSpan.FromMinutes(1))
        {
            errors.Add("deployments.watchDebounce: must be between 0ms and 1m, e.g. 500ms.");
        }
        if (deployments.RetireTimeout <= TimeSpan.Zero)
        {
            errors.Add("deployments.retireTimeout: must be above zero, e.g. 30s.");
        }
    }

    private static string Text(double value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("^[A-Za-z0-9_-]+$")]
    private static partial Regex StageName();

    [GeneratedRegex("^[A-Za-z0-9_]+$")]
    private static partial Regex VariableName();
}
