using Ingest.Core.Configuration;

namespace Ingest.Core.Idempotency;

/// <summary>Validation of the routes' <c>idempotency:</c> settings.</summary>
public static class IdempotencyValidation
{
    /// <summary>Longest accepted window: answers are memory (or Redis) held that long.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(1);

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            if (route.Idempotency is not { } options)
            {
                continue;
            }
            var where = $"routes[{i}] ({route.Route}).idempotency";
            if (string.IsNullOrWhiteSpace(options.Header) || options.Header.Any(c => c <= ' ' || c >= 0x7F || c == ':'))
            {
                errors.Add($"{where}.header: '{options.Header}' is not a header name. Use e.g. Idempotency-Key.");
            }
            if (options.Window <= TimeSpan.Zero || options.Window > MaxWindow)
            {
                errors.Add($"{where}.window: must be above zero and at most 24h, e.g. 10m.");
            }
            if (options.MaxKeys < 1)
            {
                errors.Add($"{where}.maxKeys: must be at least 1, e.g. 100000.");
            }
        }
    }
}
