using System.Net;
using Microsoft.AspNetCore.Http;

namespace Ingest.Core.Firewall;

/// <summary>
/// What the rules inspect of one request. The decoded query is made only when a rule asks for
/// it; the body prefix is a span over pooled memory.
/// </summary>
internal ref struct FirewallRequest
{
    private string? _query;

    public FirewallRequest(HttpRequest request, IPAddress? client, ReadOnlySpan<char> body)
    {
        Request = request;
        Client = client;
        Body = body;
    }

    public HttpRequest Request { get; }

    /// <summary>The client address after trusted-proxy resolution; null when unknown.</summary>
    public IPAddress? Client { get; }

    /// <summary>The first bytes of the body (inflated), as UTF-8 text; empty when the rules need none.</summary>
    public ReadOnlySpan<char> Body { get; }

    /// <summary>The path as Kestrel decoded it.</summary>
    public readonly ReadOnlySpan<char> Path => Request.Path.Value;

    /// <summary>The query string without <c>?</c>, percent-decoded, <c>+</c> read as a space.</summary>
    public string Query => _query ??= DecodeQuery(Request.QueryString.Value);

    internal static string DecodeQuery(string? raw)
    {
        if (string.IsNullOrEmpty(raw))
        {
            return "";
        }
        var text = raw.AsSpan(raw[0] == '?' ? 1 : 0);
        if (!text.ContainsAny('%', '+'))
        {
            return text.ToString();
        }
        return Uri.UnescapeDataString(text.ToString().Replace('+', ' '));
    }
}
