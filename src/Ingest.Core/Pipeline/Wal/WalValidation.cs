using Ingest.Core.Configuration;

namespace Ingest.Core.Pipeline.Wal;

/// <summary>Checks of the <c>wal:</c> section, added to the validator's list, each naming the fix.</summary>
public static class WalValidation
{
    /// <summary>Smallest <c>wal.segmentBytes</c>: smaller segments only multiply files.</summary>
    public const long MinSegmentBytes = 64 * 1024;

    public static void Validate(IngestConfig config, List<string> errors)
    {
        var wal = config.Wal;
        if (wal.MaxBytes <= 0)
        {
            errors.Add($"wal.maxBytes: {wal.MaxBytes} must be above zero, e.g. 1073741824 (1 GiB).");
        }
        if (wal.SegmentBytes < MinSegmentBytes)
        {
            errors.Add($"wal.segmentBytes: {wal.SegmentBytes} must be at least {MinSegmentBytes}, e.g. 67108864 (64 MiB).");
        }
        var durable = DurableRoutes(config).ToList();
        if (durable.Count == 0)
        {
            return;
        }
        if (string.IsNullOrWhiteSpace(wal.Path))
        {
            errors.Add($"wal.path: missing; routes with ack: durable ({string.Join(", ", durable.Select(r => r.Route))}) need a directory, e.g. ./data/wal.");
        }
        else if (PathProblem(wal.Path) is { } problem)
        {
            errors.Add($"wal.path: '{wal.Path}' {problem}. Name a directory the gateway can create and write, e.g. ./data/wal.");
        }
        if (wal.MaxBytes > 0)
        {
            foreach (var route in durable)
            {
                var maxBody = route.MaxBodyBytes ?? config.Defaults.MaxBodyBytes;
                if (maxBody >= wal.MaxBytes)
                {
                    errors.Add($"wal.maxBytes: {wal.MaxBytes} cannot hold one event of route '{route.Route}' (maxBodyBytes {maxBody}). Raise wal.maxBytes well above it.");
                }
            }
        }
    }

    /// <summary>Routes whose events go through the write-ahead log.</summary>
    public static IEnumerable<RouteOptions> DurableRoutes(IngestConfig config) =>
        config.Routes.Where(r => (r.Ack ?? config.Defaults.Ack) == "durable");

    /// <summary>Why the path cannot be the log's directory, or null when it looks usable.</summary>
    private static string? PathProblem(string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return "is not a valid path";
        }
        if (File.Exists(full))
        {
            return "is a file, not a directory";
        }
        // The nearest existing ancestor must be a directory we may write to (created on start otherwise).
        var existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
            {
                return $"cannot be created: '{existing}' is a file";
            }
            existing = Path.GetDirectoryName(existing);
            if (existing is null)
            {
                return "has no existing parent directory";
            }
        }
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(existing);
            if ((mode & (UnixFileMode.UserWrite | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) == 0)
            {
                return $"is not writable: '{existing}' has no write permission";
            }
        }
        return null;
    }
}
