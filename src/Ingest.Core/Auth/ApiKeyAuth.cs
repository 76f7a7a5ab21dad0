using Ingest.Core.Requests;

namespace Ingest.Core.Auth;

/// <summary><c>auth: apiKey</c>: the <c>x-api-key</c> header must be one of <c>apiKeys</c>.</summary>
internal sealed class ApiKeyAuth(ApiKeyStore store) : AuthStep
{
    public const string Header = "x-api-key";

    public override ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken)
    {
        if (!context.Http.Request.Headers.TryGetValue(Header, out var values) || values.Count != 1 || string.IsNullOrEmpty(values[0]))
        {
            return ValueTask.FromResult<Rejection?>(AuthRejections.ApiKeyMissing);
        }
        if (!store.TryFind(values[0], out var id))
        {
            return ValueTask.FromResult<Rejection?>(AuthRejections.ApiKeyInvalid);
        }
        context.ApiKeyId = id;
        return ValueTask.FromResult<Rejection?>(null);
    }
}
