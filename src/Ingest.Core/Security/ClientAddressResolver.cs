using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Ingest.Core.Configuration;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Ingest.Core.Security;

/// <summary>
/// Decides the client address. Forwarding headers are believed only when the socket peer is one of
/// <c>trustedProxies</c>; then the chain is walked from the right (the entries our own proxies
/// appended) and the first address that is not a trusted proxy is the client. Entries further left
/// were written by the client itself and are never believed.
/// <para>
/// <c>X-Forwarded-For</c> is read when present; <c>Forwarded: for=</c> (RFC 7239) only when no
/// X-Forwarded-For was sent. A proxy that writes Forwarded must therefore drop X-Forwarded-For
/// coming from clients (the usual proxies write or append X-Forwarded-For).
/// </para>
/// IPv4-mapped IPv6 addresses (<c>::ffff:192.0.2.7</c>) are reported as IPv4.
/// </summary>
public sealed class ClientAddressResolver
{
    private readonly CidrList _trusted;

    private ClientAddressResolver(CidrList trusted) => _trusted = trusted;

    /// <summary>The resolver of a configuration without trusted proxies: always the socket peer.</summary>
    public static ClientAddressResolver SocketPeer { get; } = new(CidrList.Empty);

    public static ClientAddressResolver Compile(IngestConfig config) =>
        config.TrustedProxies.Count == 0 ? SocketPeer : new ClientAddressResolver(CidrList.Compile(config.TrustedProxies));

    public IPAddress? Resolve(HttpContext context)
    {
        var peer = Normalize(context.Connection.RemoteIpAddress);
        if (peer is null || _trusted.IsEmpty || !_trusted.Contains(peer))
        {
            return peer;
        }
        var headers = context.Request.Headers;
        var forwardedFor = headers["X-Forwarded-For"];
        if (forwardedFor.Count > 0)
        {
            return Walk(forwardedFor, peer, forwardedSyntax: false);
        }
        var forwarded = headers["Forwarded"];
        return forwarded.Count > 0 ? Walk(forwarded, peer, forwardedSyntax: true) : peer;
    }

    /// <summary>Right to left over every header line and every comma-separated entry.</summary>
    private IPAddress Walk(StringValues lines, IPAddress peer, bool forwardedSyntax)
    {
        var nearest = peer;
        for (var line = lines.Count - 1; line >= 0; line--)
        {
            var rest = (lines[line] ?? "").AsSpan();
            while (true)
            {
                var comma = rest.LastIndexOf(',');
                var entry = (comma >= 0 ? rest[(comma + 1)..] : rest).Trim();
                if (entry.Length > 0)
                {
                    var address = forwardedSyntax ? ParseForwardedElement(entry) : ParseNode(entry);
                    if (address is null)
                    {
                        // "unknown", an obfuscated id or garbage: nothing left of it can be trusted.
                        return nearest;
                    }
                    if (!_trusted.Contains(address))
                    {
                        return address;
                    }
                    nearest = address;
                }
                if (comma < 0)
                {
                    break;
                }
                rest = rest[..comma];
            }
        }
        // Every hop was a trusted proxy: the left-most one is as close to the client as we know.
        return nearest;
    }

    /// <summary>The <c>for=</c> node of one Forwarded element, e.g. <c>for=192.0.2.60;proto=http</c>.</summary>
    private static IPAddress? ParseForwardedElement(ReadOnlySpan<char> element)
    {
        while (element.Length > 0)
        {
            var semicolon = element.IndexOf(';');
            var pair = (semicolon >= 0 ? element[..semicolon] : element).Trim();
            element = semicolon >= 0 ? element[(semicolon + 1)..] : default;
            var equals = pair.IndexOf('=');
            if (equals > 0 && pair[..equals].Trim().Equals("for", StringComparison.OrdinalIgnoreCase))
            {
                var value = pair[(equals + 1)..].Trim();
                if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
                {
                    value = value[1..^1];
                }
                return ParseNode(value);
            }
        }
        return null;
    }

    /// <summary><c>192.0.2.7</c>, <c>192.0.2.7:4711</c>, <c>2001:db8::1</c> or <c>[2001:db8::1]:4711</c>.</summary>
    internal static IPAddress? ParseNode(ReadOnlySpan<char> node)
    {
        if (node.Length > 0 && node[0] == '[')
        {
            var close = node.IndexOf(']');
            if (close < 0 || (close + 1 < node.Length && !IsPort(node[(close + 1)..])))
            {
                return null;
            }
            node = node[1..close];
        }
        else
        {
            var colon = node.IndexOf(':');
            if (colon >= 0 && colon == node.LastIndexOf(':'))
            {
                // One colon: IPv4 with a port.
                if (!IsPort(node[colon..]))
                {
                    return null;
                }
                node = node[..colon];
            }
        }
        if (node.Contains('%') || !IPAddress.TryParse(node, out var address) || !CidrList.IsCanonicalForm(node, address))
        {
            return null;
        }
        return Normalize(address);
    }

    private static bool IsPort(ReadOnlySpan<char> text) =>
        text.Length > 1 && text[0] == ':' && ushort.TryParse(text[1..], NumberStyles.None, CultureInfo.InvariantCulture, out _);

    private static IPAddress? Normalize(IPAddress? address) =>
        address is { AddressFamily: AddressFamily.InterNetworkV6, IsIPv4MappedToIPv6: true } ? address.MapToIPv4() : address;
}
