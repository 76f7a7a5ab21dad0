namespace Ingest.Core.Auth;

/// <summary>
/// Where a custom authorizer's identity comes from: <c>header:NAME</c> or <c>query:NAME</c>
/// (AWS's <c>$request.header.NAME</c> / <c>$request.querystring.NAME</c> are accepted too), several
/// separated by commas. A request missing any of them gets 401 without calling the authorizer.
/// </summary>
internal readonly record struct IdentitySource(bool IsHeader, string Name)
{
    public const string Default = "header:authorization";

    public static bool TryParseList(string? text, out IdentitySource[] sources, out string? error)
    {
        var list = new List<IdentitySource>();
        error = null;
        foreach (var item in (text ?? Default).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (TryParse(item, out var source))
            {
                list.Add(source);
            }
            else
            {
                error = $"'{item}' is not header:NAME or query:NAME";
            }
        }
        if (list.Count == 0 && error is null)
        {
            error = "empty; write e.g. header:authorization";
        }
        sources = [.. list];
        return error is null;
    }

    private static bool TryParse(string item, out IdentitySource source)
    {
        source = default;
        string? name = null;
        var isHeader = false;
        if (item.StartsWith("header:", StringComparison.OrdinalIgnoreCase))
        {
            (isHeader, name) = (true, item[7..]);
        }
        else if (item.StartsWith("query:", StringComparison.OrdinalIgnoreCase))
        {
            name = item[6..];
        }
        else if (item.StartsWith("$request.header.", StringComparison.Ordinal))
        {
            (isHeader, name) = (true, item[16..]);
        }
        else if (item.StartsWith("$request.querystring.", StringComparison.Ordinal))
        {
            name = item[21..];
        }
        if (string.IsNullOrWhiteSpace(name) || name.Any(c => c <= ' ' || c == ':'))
        {
            return false;
        }
        source = new IdentitySource(isHeader, isHeader ? name.ToLowerInvariant() : name);
        return true;
    }
}
