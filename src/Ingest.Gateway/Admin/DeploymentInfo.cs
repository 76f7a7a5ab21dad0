using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Ingest.Gateway.Hosting;

namespace Ingest.Gateway.Admin;

/// <summary>The active deployment as <c>GET /admin/deployment</c> reports it.</summary>
/// <param name="LoadedAt">When the gateway started serving it.</param>
/// <param name="ConfigSha256">SHA-256 (hex) of the configuration's canonical text.</param>
/// <param name="Routes">Routes in it.</param>
/// <param name="Targets">Targets in it.</param>
internal sealed record Deployment(DateTimeOffset LoadedAt, string ConfigSha256, int Routes, int Targets);

/// <summary>
/// Describes deployments: when each snapshot was first served and the hash of its configuration.
/// The hash is over the canonical text (the bound configuration as JSON, object keys sorted, no
/// whitespace, secrets resolved), so formatting, comments and key order in the YAML file do not
/// change it, while any effective change, a rotated secret included, does.
/// </summary>
internal sealed class DeploymentInfo(GatewayOptions options)
{
    private static readonly ConfigJsonContext Canonical = new(new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DictionaryKeyPolicy = null,
        ReferenceHandler = System.Text.Json.Serialization.ReferenceHandler.IgnoreCycles,
    });

    private readonly ConditionalWeakTable<GatewaySnapshot, Deployment> _known = [];

    /// <summary>Notes that <paramref name="snapshot"/> is being served now (first call wins).</summary>
    public Deployment Observe(GatewaySnapshot snapshot) =>
        _known.GetValue(snapshot, s => new Deployment(
            options.TimeProvider.GetUtcNow(),
            Sha256(s.Config),
            s.RouteList.Count,
            s.Config.Targets.Count));

    /// <summary>Hex SHA-256 of <see cref="CanonicalText"/>.</summary>
    public static string Sha256(IngestConfig config) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(CanonicalText(config))));

    /// <summary>The configuration as compact JSON with object keys in ordinal order.</summary>
    public static string CanonicalText(IngestConfig config)
    {
        var node = JsonSerializer.SerializeToNode(config, Canonical.IngestConfig);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteSorted(json, node);
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void WriteSorted(Utf8JsonWriter json, JsonNode? node)
    {
        switch (node)
        {
            case null:
                json.WriteNullValue();
                break;
            case JsonObject obj:
                json.WriteStartObject();
                foreach (var (key, value) in obj.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    json.WritePropertyName(key);
                    WriteSorted(json, value);
                }
                json.WriteEndObject();
                break;
            case JsonArray array:
                json.WriteStartArray();
                foreach (var item in array)
                {
                    WriteSorted(json, item);
                }
                json.WriteEndArray();
                break;
            default:
                node.WriteTo(json);
                break;
        }
    }
}
