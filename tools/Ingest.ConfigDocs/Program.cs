using Ingest.ConfigDocs;

// dotnet run --project tools/Ingest.ConfigDocs [-- OUTPUT]   (default: docs/configuration.md of this checkout)
var output = args.Length > 0 ? args[0] : Path.Combine(RepositoryRoot(), "docs", "configuration.md");
Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(output))!);
await File.WriteAllTextAsync(output, ConfigurationReference.Generate());
Console.WriteLine($"wrote {output}");

static string RepositoryRoot()
{
    for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
    {
        if (File.Exists(Path.Combine(directory.FullName, "Ingest.sln")))
        {
            return directory.FullName;
        }
    }
    throw new InvalidOperationException("run from a checkout: no Ingest.sln above " + AppContext.BaseDirectory);
}
