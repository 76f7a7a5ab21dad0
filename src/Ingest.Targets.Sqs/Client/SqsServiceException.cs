namespace Ingest.Targets.Sqs;

/// <summary>
/// SQS refused a whole call (or answered something that cannot be read). <see cref="IsTransient"/>
/// says whether sending the same batch again later may succeed.
/// </summary>
public sealed class SqsServiceException : Exception
{
    // Codes that mean "slow down" or "try again": the call failed as a whole and nothing was stored.
    private static readonly HashSet<string> TransientErrorCodes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottled", "RequestThrottledException",
        "AWS.SimpleQueueService.RequestThrottled", "TooManyRequestsException", "RequestLimitExceeded",
        "SlowDown", "KmsThrottled", "AWS.SimpleQueueService.KmsThrottled",
        "InternalError", "InternalFailure", "ServiceUnavailable", "AWS.SimpleQueueService.ServiceUnavailable",
        "RequestTimeout", "RequestTimeoutException", "RequestExpired", "RequestTimeTooSkewed", "IDPCommunicationError",
    };

    public SqsServiceException()
        : this("SQS refused the call")
    {
    }

    public SqsServiceException(string message)
        : base(message)
    {
        ErrorType = "";
    }

    public SqsServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorType = "";
    }

    /// <param name="statusCode">HTTP status of the answer.</param>
    /// <param name="errorType">Short error type from <c>__type</c> (namespace removed), or empty.</param>
    /// <param name="queryErrorCode">Code from the <c>x-amzn-query-error</c> header (before <c>;</c>), or null.</param>
    /// <param name="message">The service's message.</param>
    /// <param name="isTransient">Overrides the classification by status and codes.</param>
    public SqsServiceException(int statusCode, string errorType, string? queryErrorCode, string message, bool? isTransient = null)
        : base(message)
    {
        StatusCode = statusCode;
        ErrorType = errorType;
        QueryErrorCode = queryErrorCode;
        IsTransient = isTransient ?? IsTransientError(statusCode, errorType, queryErrorCode);
    }

    /// <summary>HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>Short error type, e.g. <c>QueueDoesNotExist</c>; empty when the answer had none.</summary>
    public string ErrorType { get; }

    /// <summary>The query-protocol code, e.g. <c>AWS.SimpleQueueService.NonExistentQueue</c>, when the header came.</summary>
    public string? QueryErrorCode { get; }

    /// <summary>The most specific code for logs: the query-protocol code, else the error type, else <c>HttpNNN</c>.</summary>
    public string ErrorCode => QueryErrorCode ?? (ErrorType.Length > 0 ? ErrorType : $"Http{StatusCode}");

    /// <summary>True when the whole call should be retried: throttling, 5xx, or a service-side failure code.</summary>
    public bool IsTransient { get; }

    /// <summary>Throttling (429 or a throttling code), 5xx and service-side failure codes are transient; other refusals are not.</summary>
    public static bool IsTransientError(int statusCode, string? errorType, string? queryErrorCode) =>
        statusCode == 429
        || statusCode >= 500
        || (!string.IsNullOrEmpty(errorType) && TransientErrorCodes.Contains(errorType))
        || (queryErrorCode is not null && TransientErrorCodes.Contains(queryErrorCode));
}
