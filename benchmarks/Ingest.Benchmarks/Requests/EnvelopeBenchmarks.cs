using System.Net;
using BenchmarkDotNet.Attributes;
using Ingest.Core.Events;
using Ingest.Gateway.Requests;
using Microsoft.AspNetCore.Http;

namespace Ingest.Benchmarks.Requests;

/// <summary>
/// Building the <see cref="IngestEvent"/> envelope the way <c>IngestRequestHandler.IngestAsync</c>
/// does (src/Ingest.Gateway/Requests/IngestRequestHandler.cs): UUIDv7 id, receive time, source ip
/// text, the body copied into an exact-size array, captured headers. The envelope and the body copy
/// are the allocations the design keeps on purpose (the event outlives the request).
/// </summary>
[MemoryDiagnoser]
public class EnvelopeBenchmarks
{
    private const string RouteKey = "POST /v1/events";
    private const string ContentType = "application/json";
    private const string TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    private static readonly string[] NoHeaders = [];
    private static readonly string[] TwoHeaders = ["x-device-id", "x-tenant"];

    private readonly TimeProvider _time = TimeProvider.System;
    // One instance per connection in Kestrel; IPAddress caches its text after the first ToString.
    private readonly IPAddress _sourceIp = IPAddress.Parse("10.1.2.3");
    private readonly byte[] _received = new byte[512];
    private readonly byte[] _body = new byte[512];
    private readonly HeaderDictionary _headers = new()
    {
        ["content-type"] = ContentType,
        ["user-agent"] = "wrk",
        ["x-device-id"] = "dev-000042",
        ["x-tenant"] = "acme",
    };

    /// <summary>The envelope object alone: every value already at hand, body not copied.</summary>
    [Benchmark(Baseline = true, Description = "new IngestEvent (values at hand)")]
    public IngestEvent ObjectOnly() => new()
    {
        Id = Guid.Empty,
        ReceivedAtMs = 0,
        RouteKey = RouteKey,
        SourceIp = "10.1.2.3",
        ContentType = ContentType,
        TraceParent = TraceParent,
        Headers = [],
        Body = _body,
    };

    [Benchmark(Description = "as handler, no captured headers")]
    public IngestEvent AsHandler() => Build(NoHeaders);

    [Benchmark(Description = "as handler, 2 captured headers")]
    public IngestEvent AsHandlerWithHeaders() => Build(TwoHeaders);

    /// <summary>The <c>x-request-id</c> response header: <c>requestId.ToString()</c>, once per request.</summary>
    [Benchmark(Description = "Guid v7 + ToString (x-request-id)")]
    public string RequestIdHeader() => Guid.CreateVersion7(_time.GetUtcNow()).ToString();

    private IngestEvent Build(string[] captured)
    {
        var requestId = Guid.CreateVersion7(_time.GetUtcNow());
        var body = new byte[_received.Length];
        _received.AsSpan().CopyTo(body);
        return new IngestEvent
        {
            Id = requestId,
            ReceivedAtMs = _time.GetUtcNow().ToUnixTimeMilliseconds(),
            RouteKey = RouteKey,
            SourceIp = _sourceIp.ToString(),
            ContentType = ContentType,
            TraceParent = TraceParent,
            Headers = IngestRequestHandler.CaptureHeaders(_headers, captured),
            Body = body,
        };
    }
}
