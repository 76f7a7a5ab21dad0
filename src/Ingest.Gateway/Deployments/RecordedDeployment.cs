using System.Globalization;
using Ingest.Core.Configuration;
using Ingest.Gateway.Cli;
using Ingest.Gateway.Hosting;

namespace Ingest.Gateway.Deployments;

/// <summary><c>serve --deployment latest|active|N</c>: the configuration of a recorded deployment.</summary>
internal static class RecordedDeployment
{
    /// <summary>
    /// Loads the deployment <paramref name="which"/> names from the store of <paramref name="config"/>
    /// and notes its number in <paramref name="options"/>; prints why not and returns null.
    /// </summary>
    public static IngestConfig? Load(IngestConfig config, string which, GatewayOptions options, TextWriter error)
    {
        var store = new DeploymentStore(config.Deployments.Path, options.TimeProvider);
        int? number = which switch
        {
            "latest" => store.Latest()?.Number,
            "active" => store.Active(),
            _ => int.TryParse(which, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1,
        };
        if (number == -1)
        {
            error.WriteLine($"--deployment: '{which}' must be latest, active or a deployment number.");
            return null;
        }
        var record = number is { } found ? store.Get(found) : null;
        if (record is null)
        {
            error.WriteLine($"--deployment {which}: no such deployment under {store.Path}. Start without --deployment to serve --config (it is recorded as a deployment).");
            return null;
        }
        try
        {
            var baseDirectory = Path.GetDirectoryName(record.Source ?? options.ConfigFile ?? Path.GetFullPath("ingest.yaml"))!;
            var loaded = ConfigLoader.Load(store.Content(record.Number), baseDirectory);
            var errors = ConfigValidator.Validate(loaded, ConfigFile.TargetKinds, ConfigFile.SyncTargetKinds);
            if (errors.Count > 0)
            {
                throw new ConfigException(errors);
            }
            options.StartedFromDeployment = record.Number;
            return loaded;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"deployment {record.Number}: {e.Message}");
            return null;
        }
    }
}
