using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Ingest.Core.Idempotency;

/// <summary>
/// A request that claimed an idempotency key: its response body is held in memory until the answer
/// is remembered, so no client can see the answer before a retry would find it.
/// </summary>
internal sealed class IdempotencyScope(RouteIdempotency owner, IIdempotencyStore store, string key, string token, Guid requestId)
{
    private readonly MemoryStream _held = new();
    private IHttpResponseBodyFeature? _original;
    private StreamResponseBodyFeature? _holding;

    /// <summary>Routes the response body of <paramref name="http"/> into <paramref name="scope"/>'s buffer.</summary>
    public static void Install(HttpContext http, IdempotencyScope scope)
    {
        scope._original = http.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        scope._holding = new StreamResponseBodyFeature(scope._held, scope._original);
        http.Features.Set<IHttpResponseBodyFeature>(scope._holding);
        http.Features.Set(scope);
    }

    public async ValueTask EndAsync(HttpContext http)
    {
        http.Features.Set<IdempotencyScope>(null);
        // Flushes what the pipe writer holds into the buffer.
        await _holding!.CompleteAsync().ConfigureAwait(false);
        http.Features.Set(_original);

        var response = http.Response;
        var length = (int)_held.Length;
        // An empty 2xx is what an unhandled exception leaves behind (status still 200): never remember it.
        var remember = response.StatusCode is >= 200 and < 300 && length is > 0 and <= RouteIdempotency.MaxRememberedBodyBytes;
        var answer = remember ? new IdempotentAnswer(response.StatusCode, requestId, response.ContentType, _held.ToArray()) : null;
        await owner.RememberAsync(store, key, token, answer).ConfigureAwait(false);

        if (length > 0)
        {
            try
            {
                await _original!.Writer.WriteAsync(_held.GetBuffer().AsMemory(0, length), http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException)
            {
                // The client went away; the answer is remembered for its retry.
            }
        }
    }
}
