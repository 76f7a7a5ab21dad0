using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Ingest.Gateway.WebSockets;

/// <summary>Registration of the WebSocket API and its place in the request pipeline.</summary>
internal static class WebSocketHosting
{
    public static IServiceCollection AddIngestWebSockets(this IServiceCollection services)
    {
        services.AddSingleton<WebSocketConnections>();
        services.AddSingleton<WebSocketEventWriter>();
        services.AddSingleton<WebSocketMessageHandler>();
        services.AddSingleton<WebSocketEndpoint>();
        services.AddSingleton<ConnectionsAdmin>();
        return services;
    }

    /// <summary>
    /// Serves WebSocket upgrades before the HTTP lifecycle. Only upgrade requests take the branch, so
    /// ordinary requests pay for no WebSocket feature. On shutdown every client gets 1001 Going Away,
    /// which lets Kestrel finish its connections within the drain.
    /// </summary>
    public static void UseIngestWebSockets(this WebApplication app)
    {
        var endpoint = app.Services.GetRequiredService<WebSocketEndpoint>();
        var connections = app.Services.GetRequiredService<WebSocketConnections>();
        app.Lifetime.ApplicationStopping.Register(() => _ = connections.CloseAllAsync());
        app.UseWhen(IsUpgrade, branch =>
        {
            branch.UseWebSockets();
            branch.Use(endpoint.InvokeAsync);
        });
    }

    /// <summary>HTTP/1.1 <c>Connection: Upgrade</c>, or an HTTP/2 extended CONNECT (RFC 8441).</summary>
    private static bool IsUpgrade(HttpContext context) =>
        context.Features.Get<IHttpUpgradeFeature>()?.IsUpgradableRequest == true
        || context.Features.Get<IHttpExtendedConnectFeature>()?.IsExtendedConnect == true;
}
