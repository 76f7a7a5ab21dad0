using Ingest.Core.Requests;

namespace Ingest.Core.Auth;

/// <summary><c>auth: iam</c>: the request carries a valid AWS Signature V4 by one of <c>iamKeys</c>.</summary>
internal sealed class IamAuth(SigV4Verifier verifier) : AuthStep
{
    // The payload hash is part of the signature.
    public override bool NeedsBody => true;

    public override ValueTask<Rejection?> AuthenticateAsync(RequestContext context, CancellationToken cancellationToken)
    {
        var rejection = verifier.Verify(context.Http.Request, context.Body ?? [], out var accessKeyId);
        if (rejection is null)
        {
            context.Principal = accessKeyId;
        }
        return ValueTask.FromResult(rejection);
    }
}
