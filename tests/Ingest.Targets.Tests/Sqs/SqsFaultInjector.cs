using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Ingest.Targets.Tests.Sqs;

/// <summary>
/// Sits between the SQS client and the real stand-in (via <c>TargetContext.WrapHttpHandler</c>) and
/// breaks <c>SendMessageBatch</c> calls the way SQS can: whole-call throttling (answered here, never
/// forwarded) and partial failures (a random 20% of the entries removed before forwarding, then
/// reported back as <c>Failed</c> with <c>SenderFault: false</c>). It records every entry id it
/// sees so tests can prove that nothing already stored was sent again.
/// </summary>
internal sealed class SqsFaultInjector : DelegatingHandler
{
    private const string JsonContentType = "application/x-amz-json-1.0";

    private readonly Random _random;
    private readonly Lock _randomGate = new();
    private long _calls;
    private long _throttled;
    private long _partial;
    private long _injectedEntryFailures;
    private long _resentAfterSuccess;

    public SqsFaultInjector(int seed) => _random = new Random(seed);

    /// <summary>Throttle one call in this many (by call number). 0: never.</summary>
    public int ThrottleEvery { get; set; }

    /// <summary>Of each 20 calls, these call numbers (mod 20) get a partial failure.</summary>
    public IReadOnlySet<int> PartialSlots { get; init; } = new HashSet<int>();

    /// <summary>Share of the entries removed on a partial call (at least one).</summary>
    public double PartialShare { get; init; } = 0.2;

    /// <summary>Entry ids (event id, N format) always refused with <c>SenderFault: true</c>.</summary>
    public IReadOnlySet<string> PoisonIds { get; init; } = new HashSet<string>();

    /// <summary>Target names the wrapper was asked for (to check the context wiring).</summary>
    public ConcurrentQueue<string> WrappedTargets { get; } = new();

    /// <summary>Times each entry id arrived from the client.</summary>
    public ConcurrentDictionary<string, int> SendCounts { get; } = new(StringComparer.Ordinal);

    /// <summary>Entry ids the stand-in reported stored.</summary>
    public ConcurrentDictionary<string, byte> Succeeded { get; } = new(StringComparer.Ordinal);

    public long Calls => Interlocked.Read(ref _calls);
    public long Throttled => Interlocked.Read(ref _throttled);
    public long Partial => Interlocked.Read(ref _partial);

    /// <summary>Entries that failed because of this handler (throttled calls' entries + removed entries).</summary>
    public long InjectedEntryFailures => Interlocked.Read(ref _injectedEntryFailures);

    /// <summary>Entries that arrived again after the stand-in had already stored them. Must stay 0.</summary>
    public long ResentAfterSuccess => Interlocked.Read(ref _resentAfterSuccess);

    /// <summary>Use as <c>TargetContext.WrapHttpHandler</c>.</summary>
    public HttpMessageHandler Wrap(string target, HttpMessageHandler inner)
    {
        WrappedTargets.Enqueue(target);
        InnerHandler = inner;
        return this;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Headers.TryGetValues("X-Amz-Target", out var targets) || targets.FirstOrDefault() != "AmazonSQS.SendMessageBatch")
        {
            return await base.SendAsync(request, cancellationToken);
        }
        var call = Interlocked.Increment(ref _calls);
        var body = JsonNode.Parse(await request.Content!.ReadAsByteArrayAsync(cancellationToken))!.AsObject();
        var entries = body["Entries"]!.AsArray();
        var ids = entries.Select(e => (string)e!["Id"]!).ToList();
        foreach (var id in ids)
        {
            SendCounts.AddOrUpdate(id, 1, (_, n) => n + 1);
            if (Succeeded.ContainsKey(id))
            {
                Interlocked.Increment(ref _resentAfterSuccess);
            }
        }

        if (ThrottleEvery > 0 && call % ThrottleEvery == 0)
        {
            Interlocked.Increment(ref _throttled);
            Interlocked.Add(ref _injectedEntryFailures, ids.Count);
            return Throttle(call);
        }

        var injected = new List<JsonObject>();
        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids.Where(PoisonIds.Contains))
        {
            removed.Add(id);
            injected.Add(Failed(id, senderFault: true, "InvalidMessageContents", "injected sender fault"));
        }
        if (PartialSlots.Contains((int)(call % 20)))
        {
            var candidates = ids.Where(id => !removed.Contains(id)).ToList();
            var take = Math.Min(candidates.Count, Math.Max(1, (int)Math.Round(ids.Count * PartialShare)));
            if (take > 0)
            {
                Interlocked.Increment(ref _partial);
                Interlocked.Add(ref _injectedEntryFailures, take);
                lock (_randomGate)
                {
                    foreach (var id in candidates.OrderBy(_ => _random.Next()).Take(take))
                    {
                        removed.Add(id);
                        injected.Add(Failed(id, senderFault: false, "InternalError", "injected internal error"));
                    }
                }
            }
        }

        JsonObject result;
        HttpResponseMessage response;
        if (removed.Count == ids.Count)
        {
            // SQS refuses an empty batch, so answer for the stand-in.
            result = new JsonObject { ["Successful"] = new JsonArray(), ["Failed"] = new JsonArray() };
            response = new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request };
        }
        else
        {
            if (removed.Count > 0)
            {
                for (var i = entries.Count - 1; i >= 0; i--)
                {
                    if (removed.Contains((string)entries[i]!["Id"]!))
                    {
                        entries.RemoveAt(i);
                    }
                }
            }
            // The SDK signed the original body; the stand-in does not check signatures.
            request.Content = JsonContent(body);
            response = await base.SendAsync(request, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                return response;
            }
            result = JsonNode.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken))!.AsObject();
        }

        foreach (var ok in result["Successful"]?.AsArray() ?? [])
        {
            Succeeded.TryAdd((string)ok!["Id"]!, 0);
        }
        if (injected.Count > 0)
        {
            var failed = result["Failed"]?.AsArray();
            if (failed is null)
            {
                failed = [];
                result["Failed"] = failed;
            }
            foreach (var f in injected)
            {
                failed.Add(f);
            }
        }
        response.Content = JsonContent(result);
        return response;
    }

    private static JsonObject Failed(string id, bool senderFault, string code, string message) =>
        new() { ["Id"] = id, ["SenderFault"] = senderFault, ["Code"] = code, ["Message"] = message };

    // Two forms SQS uses for a throttled call; the SDK maps both to throttling errors.
    private static HttpResponseMessage Throttle(long call)
    {
        var response = new HttpResponseMessage(HttpStatusCode.BadRequest);
        if (call % 2 == 0)
        {
            response.Content = JsonContent(new JsonObject { ["__type"] = "com.amazonaws.sqs#ThrottlingException", ["message"] = "Rate exceeded" });
        }
        else
        {
            response.Content = JsonContent(new JsonObject { ["__type"] = "com.amazonaws.sqs#RequestThrottled", ["message"] = "Rate exceeded" });
            response.Headers.TryAddWithoutValidation("x-amzn-query-error", "AWS.SimpleQueueService.RequestThrottled;Sender");
        }
        return response;
    }

    private static ByteArrayContent JsonContent(JsonNode node)
    {
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(node.ToJsonString()));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(JsonContentType);
        return content;
    }
}
