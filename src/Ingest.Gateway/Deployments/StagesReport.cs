using System.Text.Json;
using Ingest.Core.Configuration;
using Ingest.Core.Deployment;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Deployments;

/// <summary>How a stage is shown by <c>GET /admin/stages</c> (and so by <c>ingest stages</c>).</summary>
internal static class StagesReport
{
    public static void Write(Utf8JsonWriter json, StageOptions stage)
    {
        json.WriteStartObject();
        json.WriteString("name", stage.Name);
        json.WriteString("prefix", $"/{stage.Name}");
        json.WriteStartArray("hosts");
        foreach (var host in stage.Hosts)
        {
            json.WriteStringValue(host);
        }
        json.WriteEndArray();
        if (stage.Throttle is { } throttle)
        {
            json.WriteStartObject("throttle");
            json.WriteNumber("rate", throttle.Rate);
            json.WriteNumber("burst", throttle.Burst);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("throttle");
        }
        json.WriteStartObject("variables");
        foreach (var (name, value) in stage.Variables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            json.WriteString(name, value);
        }
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>Test-invoke: the stage the request's route is served in and its variables (<c>null</c> without stages or route).</summary>
    public static void WriteMatchedStage(Utf8JsonWriter json, GatewaySnapshot snapshot, HttpRequest request)
    {
        snapshot.RoutesFor(request).Match(request.Method, request.Path.Value ?? "/", out var route, out _, out _);
        if (route?.Stage is not { } stage)
        {
            json.WriteNull("stage");
            json.WriteNull("stageVariables");
            return;
        }
        json.WriteString("stage", stage);
        json.WriteStartObject("stageVariables");
        foreach (var (name, value) in route.StageVariables.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            json.WriteString(name, value);
        }
        json.WriteEndObject();
    }
}
