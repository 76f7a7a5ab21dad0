using Ingest.Gateway.Cli;

return await IngestCommands.Create().Parse(args).InvokeAsync();
