using Ingest.Gateway.Hosting;
using Microsoft.AspNetCore.Http;

namespace Ingest.Gateway.Admin;

/// <summary>Health and readiness on the admin port.</summary>
internal static class AdminEndpoints
{
    public static Task HandleAsync(HttpContext context, GatewayRuntime runtime)
    {
        var response = context.Response;
        response.ContentType = "application/json";
        switch (context.Request.Path.Value)
        {
            case "/healthz":
                return response.WriteAsync("{\"status\":\"ok\"}");
            case "/readyz":
                if (runtime.Ready)
                {
                    return response.WriteAsync("{\"status\":\"ready\"}");
                }
                response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                return response.WriteAsync(runtime.Draining ? "{\"status\":\"draining\"}" : "{\"status\":\"starting\"}");
            default:
                response.StatusCode = StatusCodes.Status404NotFound;
                return response.WriteAsync("{\"message\":\"Not Found\"}");
        }
    }
}
