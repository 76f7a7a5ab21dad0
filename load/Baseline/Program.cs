// Bare Kestrel minimal API: POST / reads the whole body and answers 202 with a small JSON body
// shaped like the gateway's (same length), so the load run compares the gateway's own work
// against the cheapest possible server on the same machine, load generator and connection count.
//
// Listen URL (HTTP/1.1), first found: `--urls URL` argument, INGEST_BASELINE_URL, ASPNETCORE_URLS,
// default http://127.0.0.1:5080. `--h2c-url URL` (or INGEST_BASELINE_H2C_URL) adds an HTTP/2-only
// plain listener, as the gateway's `protocols: http2` (Kestrel serves h2c only on such listeners).
using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;

var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var url = builder.Configuration["urls"]
    ?? Environment.GetEnvironmentVariable("INGEST_BASELINE_URL")
    ?? "http://127.0.0.1:5080";
var h2cUrl = builder.Configuration["h2c-url"] ?? Environment.GetEnvironmentVariable("INGEST_BASELINE_H2C_URL");
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // As src/Ingest.Gateway/Hosting/GatewayHost.cs ConfigureKestrel, where it applies here.
    kestrel.AddServerHeader = false;
    kestrel.Limits.MaxRequestBodySize = 262144 + 1;
    kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
    kestrel.Limits.Http2.MaxStreamsPerConnection = 256;
    // The load configs listen with `protocols: http1` (and `http2` for h2c); match them.
    kestrel.Listen(EndPointOf(url), listen => listen.Protocols = HttpProtocols.Http1);
    if (!string.IsNullOrEmpty(h2cUrl))
    {
        kestrel.Listen(EndPointOf(h2cUrl), listen => listen.Protocols = HttpProtocols.Http2);
    }
});

var app = builder.Build();
app.MapPost("/", BaselineEndpoint.HandleAsync);
app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"baseline listening on {url}{(string.IsNullOrEmpty(h2cUrl) ? "" : $" and {h2cUrl} (h2c)")}"));
app.Run();

static IPEndPoint EndPointOf(string url)
{
    var uri = new Uri(url);
    return new IPEndPoint(IPAddress.Parse(uri.Host), uri.Port);
}

internal static class BaselineEndpoint
{
    // Same shape and length as the gateway's 202 body: {"requestId":"<uuid>","accepted":1}.
    private static readonly byte[] Accepted =
        """{"requestId":"019a0000-0000-7000-8000-000000000000","accepted":1}"""u8.ToArray();

    public static async Task HandleAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        var response = context.Response;
        response.StatusCode = StatusCodes.Status202Accepted;
        response.ContentType = "application/json";
        response.ContentLength = Accepted.Length;
        response.BodyWriter.Write(Accepted);
    }
}
