using Ingest.Core.Configuration;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.Cli;

/// <summary>Loads and validates a configuration file the way every CLI verb needs it.</summary>
public static class ConfigFile
{
    /// <summary>Target kinds of this build, by type.</summary>
    public static IReadOnlyDictionary<string, ITargetKind> TargetKinds { get; } =
        new ServiceCollection().AddTargetKinds().BuildServiceProvider()
            .GetServices<ITargetKind>().ToDictionary(k => k.Type, StringComparer.Ordinal);

    /// <summary>Sync (request/response) target kinds of this build, by type.</summary>
    public static IReadOnlyDictionary<string, Ingest.Core.Integration.ISyncTargetKind> SyncTargetKinds { get; } =
        new ServiceCollection().AddTargetKinds().BuildServiceProvider()
            .GetServices<Ingest.Core.Integration.ISyncTargetKind>().ToDictionary(k => k.Type, StringComparer.Ordinal);

    /// <summary>Returns the configuration, or throws <see cref="ConfigException"/> with every problem.</summary>
    public static IngestConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new ConfigException([$"{path}: no such file. Pass --config PATH (default ./ingest.yaml)."]);
        }
        var config = ConfigLoader.LoadFile(path);
        var errors = ConfigValidator.Validate(config, TargetKinds, SyncTargetKinds);
        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }
        return config;
    }
}
