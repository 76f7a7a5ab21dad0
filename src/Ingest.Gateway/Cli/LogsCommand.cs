using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Ingest.Core.Configuration;

namespace Ingest.Gateway.Cli;

/// <summary>What <c>ingest logs</c> selects from an access log.</summary>
/// <param name="SinceMs">Oldest requestTimeEpoch (Unix ms) to show; null for all.</param>
/// <param name="Status">Status filters: <c>5xx</c>-style classes or exact codes; empty for all.</param>
/// <param name="Route">Exact route key; null for all.</param>
/// <param name="Limit">Newest lines to keep.</param>
internal sealed record LogQuery(long? SinceMs, IReadOnlyList<string> Status, string? Route, int Limit)
{
    public bool Matches(JsonElement line)
    {
        if (SinceMs is { } since && (!line.TryGetProperty("requestTimeEpoch", out var time) || time.ValueKind != JsonValueKind.Number || time.GetInt64() < since))
        {
            return false;
        }
        if (Route is not null && (!line.TryGetProperty("routeKey", out var route) || route.GetString() != Route))
        {
            return false;
        }
        if (Status.Count > 0)
        {
            if (!line.TryGetProperty("status", out var statusElement) || statusElement.ValueKind != JsonValueKind.Number)
            {
                return false;
            }
            var status = statusElement.GetInt32();
            return Status.Any(filter => filter.Length == 3 && filter.EndsWith("xx", StringComparison.OrdinalIgnoreCase)
                ? status / 100 == filter[0] - '0'
                : int.TryParse(filter, CultureInfo.InvariantCulture, out var exact) && status == exact);
        }
        return true;
    }
}

/// <summary><c>ingest logs</c>: queries an access-log file (and its rotated predecessor).</summary>
internal static class LogsCommand
{
    public static Command Create()
    {
        var config = new Option<string>("--config", "-c")
        {
            Description = "Configuration file; its accessLog.path is read when --file is not given.",
            DefaultValueFactory = _ => "ingest.yaml",
        };
        var file = new Option<string?>("--file", "-f") { Description = "Access-log file to read. Default: accessLog.path of --config. PATH.1 (the rotated file) is read first when it exists." };
        var since = new Option<string?>("--since") { Description = "Only requests newer than this, e.g. 90s, 30m, 2h, 1d." };
        var status = new Option<string[]>("--status")
        {
            Description = "Only these statuses: a class (2xx, 4xx, 5xx) or a code (404); repeat or separate with commas.",
            AllowMultipleArgumentsPerToken = true,
        };
        var route = new Option<string?>("--route") { Description = "Only this route key, e.g. 'POST /v1/events'." };
        var limit = new Option<int>("--limit", "-n")
        {
            Description = "Show at most this many of the newest matching requests.",
            DefaultValueFactory = _ => 20,
        };
        var json = new Option<bool>("--json") { Description = "Print the matching JSON lines as they are." };
        var command = new Command("logs", """
            Query an access-log file: the newest requests matching the filters, oldest first.
            Example: ingest logs --file /var/log/ingest/access.log --since 30m --status 5xx --limit 20
            """)
        { config, file, since, status, route, limit, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            var error = result.InvocationConfiguration.Error;
            var output = result.InvocationConfiguration.Output;
            var path = result.GetValue(file) ?? AccessLogPathOf(result.GetValue(config)!, error);
            if (path is null)
            {
                return 1;
            }
            long? sinceMs = null;
            if (result.GetValue(since) is { } text)
            {
                if (ParseDuration(text) is not { } window)
                {
                    error.WriteLine($"--since: '{text}' is not a duration. Write e.g. 90s, 30m, 2h or 1d.");
                    return 1;
                }
                sinceMs = (DateTimeOffset.UtcNow - window).ToUnixTimeMilliseconds();
            }
            var statuses = (result.GetValue(status) ?? []).SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToList();
            foreach (var s in statuses)
            {
                if (!(s.Length == 3 && s[0] is >= '1' and <= '5' && s.EndsWith("xx", StringComparison.OrdinalIgnoreCase)) && !int.TryParse(s, CultureInfo.InvariantCulture, out _))
                {
                    error.WriteLine($"--status: '{s}' is neither a class like 5xx nor a code like 404.");
                    return 1;
                }
            }
            var count = result.GetValue(limit);
            if (count < 1)
            {
                error.WriteLine("--limit: must be at least 1.");
                return 1;
            }
            var files = new[] { path + ".1", path }.Where(File.Exists).ToList();
            if (files.Count == 0)
            {
                error.WriteLine($"{path}: no such file. Pass --file PATH of an access log (accessLog.path in the configuration).");
                return 1;
            }
            var query = new LogQuery(sinceMs, statuses, result.GetValue(route), count);
            var lines = await QueryAsync(files, query, cancellationToken);
            if (result.GetValue(json))
            {
                foreach (var line in lines)
                {
                    output.WriteLine(line);
                }
                return 0;
            }
            if (lines.Count == 0)
            {
                output.WriteLine("No matching requests.");
                return 0;
            }
            output.WriteLine($"{"TIME (UTC)",-24} {"STATUS",6} {"LATENCY",10} {"EVENTS",6}  {"REQUEST",-40} {"REQUEST ID",-36}  ERROR");
            foreach (var line in lines)
            {
                output.WriteLine(Format(line));
            }
            return 0;
        });
        return command;
    }

    /// <summary>The newest <see cref="LogQuery.Limit"/> matching lines of <paramref name="files"/> (read in order), oldest first.</summary>
    internal static async Task<List<string>> QueryAsync(IEnumerable<string> files, LogQuery query, CancellationToken cancellationToken)
    {
        var kept = new Queue<string>(query.Limit + 1);
        foreach (var path in files)
        {
            await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0 || line[0] != '{')
                {
                    continue;
                }
                try
                {
                    using var document = JsonDocument.Parse(line);
                    if (!query.Matches(document.RootElement))
                    {
                        continue;
                    }
                }
                catch (JsonException)
                {
                    // A line cut by a crash or interleaved output: skip it.
                    continue;
                }
                kept.Enqueue(line);
                if (kept.Count > query.Limit)
                {
                    kept.Dequeue();
                }
            }
        }
        return [.. kept];
    }

    /// <summary>Parses 250ms, 90s, 30m, 2h, 1d.</summary>
    internal static TimeSpan? ParseDuration(string text)
    {
        text = text.Trim();
        var (unit, factor) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => ("ms", TimeSpan.FromMilliseconds(1)),
            _ when text.EndsWith('s') => ("s", TimeSpan.FromSeconds(1)),
            _ when text.EndsWith('m') => ("m", TimeSpan.FromMinutes(1)),
            _ when text.EndsWith('h') => ("h", TimeSpan.FromHours(1)),
            _ when text.EndsWith('d') => ("d", TimeSpan.FromDays(1)),
            _ => ("", TimeSpan.Zero),
        };
        if (unit.Length == 0 || !double.TryParse(text[..^unit.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount) || amount < 0)
        {
            return null;
        }
        return factor * amount;
    }

    private static string Format(string line)
    {
        using var document = JsonDocument.Parse(line);
        var e = document.RootElement;
        string Text(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        double Number(string name) => e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : 0;
        var time = DateTimeOffset.FromUnixTimeMilliseconds((long)Number("requestTimeEpoch")).UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var request = $"{Text("httpMethod")} {Text("path")}";
        return $"{time,-24} {Number("status"),6} {Number("latency"),8:0.0}ms {Number("events"),6}  {request,-40} {Text("requestId"),-36}  {Text("integrationError")}";
    }

    private static string? AccessLogPathOf(string configPath, TextWriter error)
    {
        if (!File.Exists(configPath))
        {
            error.WriteLine($"{configPath}: no such file. Pass --file PATH of an access log, or --config of the gateway.");
            return null;
        }
        try
        {
            // Only accessLog.path is needed: unset secrets do not matter here.
            var config = ConfigLoader.LoadFile(configPath, name => Environment.GetEnvironmentVariable(name) ?? "");
            if (config.AccessLog.Path is "stdout" or "off")
            {
                error.WriteLine($"{configPath}: accessLog.path is '{config.AccessLog.Path}', not a file. Pass --file PATH.");
                return null;
            }
            // The gateway opens it relative to its working directory; so does this.
            return config.AccessLog.Path;
        }
        catch (ConfigException e)
        {
            error.WriteLine($"{configPath}: {e.Message}");
            return null;
        }
    }
}
