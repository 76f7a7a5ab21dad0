using Ingest.Core.Configuration;

namespace Ingest.Core.Cors;

/// <summary>
/// Checks of the routes' <c>cors:</c> settings beyond presence (ConfigValidator checks that origins
/// are listed and maxAge is not negative): origins a browser can actually send, no credentials
/// with the wildcard origin, method and header names.
/// </summary>
public static class CorsValidation
{
    private static readonly string[] Methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "*"];

    public static void Validate(IngestConfig config, ICollection<string> errors)
    {
        for (var i = 0; i < config.Routes.Count; i++)
        {
            if (config.Routes[i].Cors is { } cors)
            {
                Validate($"routes[{i}] ({config.Routes[i].Route}).cors", cors, errors);
            }
        }
    }

    private static void Validate(string where, CorsOptions cors, ICollection<string> errors)
    {
        for (var i = 0; i < cors.Origins.Count; i++)
        {
            var origin = cors.Origins[i].Trim();
            if (origin == "*")
            {
                if (cors.Credentials)
                {
                    errors.Add($"{where}.origins[{i}]: '*' cannot be combined with credentials: true (browsers refuse it, and echoing every origin would let any site send the user's cookies). List the origins, e.g. [\"https://app.example\"].");
                }
                continue;
            }
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || (uri.Scheme != "http" && uri.Scheme != "https") || uri.UserInfo.Length > 0)
            {
                errors.Add($"{where}.origins[{i}]: '{origin}' is not an origin. Write scheme://host[:port], e.g. https://app.example, or \"*\".");
            }
            else if (!string.Equals(origin, uri.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{where}.origins[{i}]: '{origin}' never matches: browsers send the Origin header without path or trailing slash. Write {uri.GetLeftPart(UriPartial.Authority)}.");
            }
        }
        for (var i = 0; i < cors.Methods.Count; i++)
        {
            if (!Methods.Contains(cors.Methods[i].Trim().ToUpperInvariant(), StringComparer.Ordinal))
            {
                errors.Add($"{where}.methods[{i}]: '{cors.Methods[i]}' must be one of {string.Join(", ", Methods)}.");
            }
        }
        HeaderNames($"{where}.headers", cors.Headers, allowWildcard: true, errors);
        HeaderNames($"{where}.exposeHeaders", cors.ExposeHeaders, allowWildcard: false, errors);
    }

    private static void HeaderNames(string where, List<string> names, bool allowWildcard, ICollection<string> errors)
    {
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i].Trim();
            if (name == "*" && allowWildcard)
            {
                continue;
            }
            if (name.Length == 0 || !name.All(IsTokenChar))
            {
                errors.Add($"{where}[{i}]: '{names[i]}' is not a header name, e.g. content-type.");
            }
        }
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
