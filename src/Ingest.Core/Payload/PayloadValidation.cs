using Ingest.Core.Configuration;

namespace Ingest.Core.Payload;

/// <summary>Validation of body limits, content types and split modes.</summary>
public static class PayloadValidation
{
    public static readonly string[] SplitModes = ["none", "ndjson", "array"];

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        if (config.Defaults.MaxBodyBytes <= 0)
        {
            errors.Add("defaults.maxBodyBytes: must be above zero.");
        }
        for (var i = 0; i < config.Routes.Count; i++)
        {
            var route = config.Routes[i];
            var where = $"routes[{i}] ({route.Route})";
            if (!SplitModes.Contains(route.Split, StringComparer.Ordinal))
            {
                errors.Add($"{where}.split: '{route.Split}' must be one of {string.Join(", ", SplitModes)}.");
            }
            else if (route.Split != "none")
            {
                errors.Add($"{where}.split: not supported by this build yet (splitting); remove the key.");
            }
            if (route.MaxBodyBytes is <= 0)
            {
                errors.Add($"{where}.maxBodyBytes: must be above zero.");
            }
            if (route.ContentTypes is { Count: 0 })
            {
                errors.Add($"{where}.contentTypes: empty list refuses everything. Remove the key to use defaults.contentTypes.");
            }
        }
    }
}
