using Ingest.Core.Requests;

namespace Ingest.Core.Auth;

/// <summary>
/// The 401/403/500 answers of authentication, created once with the reason the access log gets.
/// Bodies follow DESIGN.md's status table; reasons never carry a key, token or signature.
/// </summary>
internal static class AuthRejections
{
    // apiKey: AWS answers 403 Forbidden whether the key is missing or wrong.
    public static readonly Rejection ApiKeyMissing = Rejection.Forbidden.WithReason("apiKey: no x-api-key header");
    public static readonly Rejection ApiKeyInvalid = Rejection.Forbidden.WithReason("apiKey: unknown key");

    // iam: the messages of API Gateway's IAM authorization.
    public const string SignatureMismatchMessage = "The request signature we calculated does not match the signature you provided.";
    public const string InvalidTokenMessage = "The security token included in the request is invalid.";
    public static readonly Rejection IamUnsigned = Rejection.MissingAuthenticationToken.WithReason("iam: request not signed");
    public static readonly Rejection IamNotSigV4 = Rejection.MissingAuthenticationToken.WithReason("iam: Authorization is not AWS4-HMAC-SHA256");
    public static readonly Rejection IamExpired = new(403, "Signature expired", logReason: "iam: X-Amz-Date outside the clock skew or presigned URL expired");
    public static readonly Rejection IamUnknownKey = new(403, InvalidTokenMessage, logReason: "iam: unknown access key id");

    public static Rejection IamMismatch(string reason) => new(403, SignatureMismatchMessage, logReason: "iam: " + reason);

    public static readonly Rejection IamBadSignature = IamMismatch("signature does not match");
    public static readonly Rejection IamMalformed = IamMismatch("malformed Authorization header or presigned query");
    public static readonly Rejection IamNoDate = IamMismatch("no valid X-Amz-Date");
    public static readonly Rejection IamScopeDate = IamMismatch("credential scope date differs from X-Amz-Date");
    public static readonly Rejection IamHostNotSigned = IamMismatch("host is not among the signed headers");
    public static readonly Rejection IamPayloadHash = IamMismatch("x-amz-content-sha256 does not match the body");
    public static readonly Rejection IamStreaming = IamMismatch("streaming (chunk-signed) payloads are not supported");

    // hmac: no AWS equivalent; a device with a missing or wrong signature is refused like a bad API
    // key (403 Forbidden), so the answer does not tell which part was wrong.
    public static readonly Rejection HmacMissing = Rejection.Forbidden.WithReason("hmac: x-ingest-key-id, x-ingest-timestamp or x-ingest-signature missing");
    public static readonly Rejection HmacUnknownDevice = Rejection.Forbidden.WithReason("hmac: unknown key id");
    public static readonly Rejection HmacStale = Rejection.Forbidden.WithReason("hmac: timestamp outside the replay window");
    public static readonly Rejection HmacMalformed = Rejection.Forbidden.WithReason("hmac: signature is not hex or base64 of 32 bytes");
    public static readonly Rejection HmacBadSignature = Rejection.Forbidden.WithReason("hmac: signature does not match");
    public static readonly Rejection HmacReplay = Rejection.Forbidden.WithReason("hmac: signature already used (replay)");
    public static readonly Rejection HmacReplayCacheFull = Rejection.ServiceUnavailable.WithReason("hmac: replay cache full");

    // jwt
    public static readonly Rejection JwtMissing = Rejection.Unauthorized.WithReason("jwt: no bearer token");
    public static readonly Rejection JwtMalformed = Rejection.Unauthorized.WithReason("jwt: token is not a JWT");
    public static readonly Rejection ScopeMissing = Rejection.Forbidden.WithReason("jwt: token lacks a required scope");

    public static Rejection JwtInvalid(string reason) => Rejection.Unauthorized.WithReason("jwt: " + reason);

    // authorizers
    public static readonly Rejection IdentityMissing = Rejection.Unauthorized.WithReason("authorizer: identity source missing");
    public static readonly Rejection AuthorizerDeny = Rejection.ExplicitDeny.WithReason("authorizer: denied");

    /// <summary>AWS answers 500 when an authorizer fails or cannot be reached.</summary>
    public static readonly Rejection InternalServerError = new(500, "Internal Server Error");

    public static Rejection AuthorizerFailed(string reason) => InternalServerError.WithReason("authorizer: " + reason);
}
