using Ingest.Core.Requests;

namespace Ingest.Core.Auth;

/// <summary>One kind in a route's <c>auth:</c> list, compiled for one deployment.</summary>
internal abstract class AuthStep
{
    /// <summary>True when the kind signs the body, so the body is read before authentication.</summary>
    public virtual bool NeedsBody => false;

    /// <summary>Null when the request passes this kind; else the answer.</summary>
    public abstract ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken);
}
