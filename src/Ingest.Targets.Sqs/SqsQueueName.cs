using System.Text.RegularExpressions;

namespace Ingest.Targets.Sqs;

/// <summary>The <c>queue:</c> setting: a queue name or a queue URL.</summary>
internal static partial class SqsQueueName
{
    /// <summary>True for an http(s) URL rather than a bare name.</summary>
    public static bool IsUrl(string queue) =>
        queue.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || queue.StartsWith("http://", StringComparison.OrdinalIgnoreCase);

    /// <summary>The queue name: the setting itself, or the last path segment of a URL.</summary>
    public static string NameOf(string queue)
    {
        if (!IsUrl(queue))
        {
            return queue;
        }
        var path = Uri.TryCreate(queue, UriKind.Absolute, out var uri) ? uri.AbsolutePath : queue;
        path = path.TrimEnd('/');
        return path[(path.LastIndexOf('/') + 1)..];
    }

    /// <summary>FIFO queues are the ones whose name ends in <c>.fifo</c>.</summary>
    public static bool IsFifo(string queue) => NameOf(queue).EndsWith(".fifo", StringComparison.Ordinal);

    /// <summary>SQS name rules: 1..80 of [A-Za-z0-9_-], the <c>.fifo</c> suffix counted in the 80.</summary>
    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    /// <summary>An absolute http(s) URL whose last segment is a valid queue name.</summary>
    public static bool IsValidUrl(string queue) =>
        Uri.TryCreate(queue, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
        && string.IsNullOrEmpty(uri.Query)
        && IsValidName(NameOf(queue));

    [GeneratedRegex(@"^(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
