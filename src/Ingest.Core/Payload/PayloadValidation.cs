using Ingest.Core.Configuration;

namespace Ingest.Core.Payload;

/// <summary>Validation of body limits, content types, JSON checks, schemas and split modes.</summary>
public static class PayloadValidation
{
    public static readonly string[] SplitModes = ["none", "ndjson", "array"];
    public static readonly string[] ValidateModes = ["none", "json"];

    /// <summary>Ceiling of maxInflatedBytes: an inflated body is held in memory whole.</summary>
    public const long InflatedBytesCeiling = 1L << 30;

    /// <summary>Ceiling of maxItems.</summary>
    public const int MaxItemsCeiling = 100_000;

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (config.Defaults.MaxBodyBytes <= 0)
        {
            errors.Add("defaults.maxBodyBytes: must be above zero.");
        }
        InflatedBytes("defaults.maxInflatedBytes", config.Defaults.MaxInflatedBytes, errors);
        Items("defaults.maxItems", config.Defaults.MaxItems, errors);
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var where = $"routes[{i}] ({route.Route})";
            if (!SplitModes.Contains(route.Split, StringComparer.Ordinal))
            {
                errors.Add($"{where}.split: '{route.Split}' must be one of {string.Join(", ", SplitModes)}.");
            }
            if (!ValidateModes.Contains(route.Validate, StringComparer.Ordinal))
            {
                errors.Add($"{where}.validate: '{route.Validate}' must be one of {string.Join(", ", ValidateModes)} (use schema: file:PATH for a JSON schema).");
            }
            if (route.MaxBodyBytes is <= 0)
            {
                errors.Add($"{where}.maxBodyBytes: must be above zero.");
            }
            InflatedBytes($"{where}.maxInflatedBytes", route.MaxInflatedBytes, errors);
            if (route.MaxItems is { } maxItems)
            {
                Items($"{where}.maxItems", maxItems, errors);
                if (route.Split == "none")
                {
                    errors.Add($"{where}.maxItems: applies to split routes only. Set split: ndjson or split: array, or remove maxItems.");
                }
            }
            if (route.ContentTypes is { Count: 0 })
            {
                errors.Add($"{where}.contentTypes: empty list refuses everything. Remove the key to use defaults.contentTypes.");
            }
            if (route.Schema is { } schema)
            {
                var schemaErrors = new List<string>();
                JsonSchema.Load(schema, schemaErrors);
                foreach (var error in schemaErrors)
                {
                    errors.Add($"{where}.schema: {error}");
                }
            }
        }
    }

    private static void InflatedBytes(string where, long? value, ICollection<string> errors)
    {
        if (value is { } bytes && (bytes <= 0 || bytes > InflatedBytesCeiling))
        {
            errors.Add($"{where}: {bytes} is outside 1..{InflatedBytesCeiling}. Remove it to use maxBodyBytes.");
        }
    }

    private static void Items(string where, int value, ICollection<string> errors)
    {
        if (value < 1 || value > MaxItemsCeiling)
        {
            errors.Add($"{where}: {value} is outside 1..{MaxItemsCeiling}, e.g. 1000.");
        }
    }
}
