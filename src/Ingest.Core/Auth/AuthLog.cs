using Microsoft.Extensions.Logging;

namespace Ingest.Core.Auth;

/// <summary>Log lines of authentication. None of them carries a key, token, secret or signature.</summary>
internal static partial class AuthLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "JWKS of authorizer {Authorizer} loaded from {Source}: {Count} signing keys")]
    public static partial void JwksLoaded(ILogger logger, string authorizer, string source, int count);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "JWKS of authorizer {Authorizer} could not be loaded from {Source}: {Reason}; keeping the keys it had")]
    public static partial void JwksFailed(ILogger logger, string authorizer, string source, string reason);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Token of authorizer {Authorizer} names a key id the JWKS does not have; fetching the JWKS again")]
    public static partial void JwksUnknownKid(ILogger logger, string authorizer);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Warning, Message = "Authorizer {Authorizer} failed: {Reason}")]
    public static partial void AuthorizerFailed(ILogger logger, string authorizer, string reason);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "HMAC replay cache is full ({Entries} unexpired signatures); refusing new signed requests until entries expire. Raise hmac.replayCacheEntries")]
    public static partial void ReplayCacheFull(ILogger logger, int entries);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning, Message = "Result cache of authorizer {Authorizer} is full ({Entries}); results are not cached until entries expire. Raise cacheEntries")]
    public static partial void AuthorizerCacheFull(ILogger logger, string authorizer, int entries);
}
