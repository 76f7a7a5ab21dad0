using System.Net;
using Ingest.Core.Configuration;
using Ingest.Core.Requests;
using Ingest.Core.Throttling;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Throttling;

/// <summary>A throttle store on a fake clock, policies compiled from YAML, and requests to check.</summary>
internal sealed class ThrottleTestKit : IDisposable
{
    /// <summary>Tuesday 10 March 2026, 12:00 UTC.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 10, 12, 0, 0, TimeSpan.Zero);

    public ThrottleTestKit(DateTimeOffset? start = null)
    {
        Time = new FakeTimeProvider(start ?? Start);
        Services = new ServiceCollection()
            .AddSingleton<TimeProvider>(Time)
            .AddIngestThrottling()
            .BuildServiceProvider();
    }

    public FakeTimeProvider Time { get; }

    public ServiceProvider Services { get; }

    internal ThrottleStore Store => Services.GetRequiredService<ThrottleStore>();

    /// <summary>Loads <paramref name="yaml"/> (targets and auth filled in) and compiles the throttle of route <paramref name="route"/>.</summary>
    public ThrottlePolicy Compile(string yaml, int route = 0) => Compile(Load(yaml), route);

    public ThrottlePolicy Compile(IngestConfig config, int route = 0) => ThrottlePolicy.Compile(config, config.Routes[route], Services);

    public static IngestConfig Load(string yaml) => ConfigLoader.Load("targets: { sink: { type: blackhole } }\n" + yaml);

    public static RequestContext Request(string? apiKeyId = null, string ip = "192.0.2.1", params (string Name, string Value)[] headers)
    {
        var http = new DefaultHttpContext();
        foreach (var (name, value) in headers)
        {
            http.Request.Headers[name] = value;
        }
        return new RequestContext
        {
            Http = http,
            Route = null!, // the throttle step does not read the route
            RequestId = Guid.NewGuid(),
            ClientIp = IPAddress.Parse(ip),
            ApiKeyId = apiKeyId,
        };
    }

    public void Advance(double seconds) => Time.Advance(TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond)));

    public void Dispose() => Services.Dispose();
}

internal static class ThrottleAssert
{
    /// <summary>Checks synchronously (the local path must complete at once) and returns the rejection.</summary>
    public static Rejection? Check(this ThrottlePolicy policy, RequestContext context)
    {
#pragma warning disable CA2012 // the local path completes synchronously: asserted before reading the result
        var pending = policy.AcquireAsync(context);
        Assert.True(pending.IsCompletedSuccessfully, "the local check must complete synchronously");
        return pending.Result;
#pragma warning restore CA2012
    }

    public static void Allowed(this ThrottlePolicy policy, RequestContext context) => Assert.Null(policy.Check(context));

    public static Rejection Refused(this ThrottlePolicy policy, RequestContext context, string message = ThrottleRejections.TooManyRequests)
    {
        var rejection = policy.Check(context);
        Assert.NotNull(rejection);
        Assert.Equal(429, rejection.Status);
        Assert.Equal(message, rejection.Message);
        return rejection;
    }

    /// <summary>Passes <paramref name="count"/> requests, then asserts the next one is refused.</summary>
    public static void AllowsExactly(this ThrottlePolicy policy, RequestContext context, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Assert.True(policy.Check(context) is null, $"request {i + 1} of {count} should pass");
        }
        Assert.Equal(429, policy.Check(context)?.Status);
    }

    public static string Header(this Rejection rejection, string name) => Assert.Single(rejection.Headers, h => h.Key == name).Value;
}
