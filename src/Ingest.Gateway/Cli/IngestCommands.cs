using System.CommandLine;
using Ingest.Core.Configuration;
using Ingest.Gateway.Hosting;

namespace Ingest.Gateway.Cli;

/// <summary>The <c>ingest</c> command line.</summary>
public static class IngestCommands
{
    public static RootCommand Create()
    {
        var root = new RootCommand("Ingest: a self-hosted event ingestion gateway.");
        root.Subcommands.Add(Serve());
        root.Subcommands.Add(Validate());
        root.Subcommands.Add(Routes());
        root.Subcommands.Add(StagesCommand.Create());
        root.Subcommands.Add(TestInvokeCommand.Create());
        root.Subcommands.Add(FlushCacheCommand.Create());
        root.Subcommands.Add(LogsCommand.Create());
        root.Subcommands.Add(UsageCommand.Create());
        root.Subcommands.Add(KeysCommand.Create());
        root.Subcommands.Add(DeployCommand.Create());
        root.Subcommands.Add(RollbackCommand.Create());
        root.Subcommands.Add(ReplayCommand.Create());
        return root;
    }

    private static Option<string> ConfigOption() => new("--config", "-c")
    {
        Description = "Configuration file.",
        DefaultValueFactory = _ => "ingest.yaml",
    };

    private static Command Serve()
    {
        var config = ConfigOption();
        var deployment = new Option<string?>("--deployment")
        {
            Description = "Serve a recorded deployment instead of the file: latest (newest), active (served last, e.g. after a rollback) or its number. "
                + "--config still names deployments.path and the file watched with watch: true. Default: serve --config and record it as a deployment.",
        };
        var command = new Command("serve", "Run the gateway until SIGTERM or Ctrl+C, then drain queued events and exit.") { config, deployment };
        command.SetAction(async (result, cancellationToken) =>
        {
            var path = result.GetValue(config)!;
            var loaded = TryLoad(path);
            if (loaded is null)
            {
                return 1;
            }
            var options = new GatewayOptions { ConfigFile = Path.GetFullPath(path) };
            if (result.GetValue(deployment) is { } which)
            {
                loaded = Deployments.RecordedDeployment.Load(loaded, which, options, Console.Error);
                if (loaded is null)
                {
                    return 1;
                }
            }
            var app = GatewayHost.Build(loaded, options);
            await app.RunAsync();
            return 0;
        });
        return command;
    }

    private static Command Validate()
    {
        var config = ConfigOption();
        var command = new Command("validate", "Check a configuration file; prints every problem and exits 1 if there is one.") { config };
        command.SetAction(result =>
        {
            var loaded = TryLoad(result.GetValue(config)!);
            if (loaded is null)
            {
                return 1;
            }
            Console.WriteLine($"OK: {loaded.Routes.Count} routes, {loaded.Targets.Count} targets.");
            return 0;
        });
        return command;
    }

    private static Command Routes()
    {
        var config = ConfigOption();
        var command = new Command("routes", "List the routes of a configuration file.") { config };
        command.SetAction(result =>
        {
            var loaded = TryLoad(result.GetValue(config)!);
            if (loaded is null)
            {
                return 1;
            }
            foreach (var route in loaded.Routes)
            {
                var target = loaded.Targets[route.Target];
                Console.WriteLine($"{route.Route,-40} -> {route.Target} ({target.Type}), auth: {string.Join(", ", route.Auth)}, ack: {route.Ack ?? loaded.Defaults.Ack}");
            }
            return 0;
        });
        return command;
    }

    private static IngestConfig? TryLoad(string path)
    {
        try
        {
            return ConfigFile.Load(path);
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"{path}: {e.Message}");
            return null;
        }
    }
}
