namespace Ingest.Targets.Kinesis;

/// <summary>An error answer from the Kinesis API.</summary>
public sealed class KinesisException : Exception
{
    public KinesisException()
    {
        ErrorType = "";
    }

    public KinesisException(string message)
        : base(message)
    {
        ErrorType = "";
    }

    public KinesisException(string message, Exception innerException)
        : base(message, innerException)
    {
        ErrorType = "";
    }

    /// <param name="statusCode">HTTP status of the answer.</param>
    /// <param name="errorType">Short error name, or empty.</param>
    /// <param name="message">The service's message.</param>
    /// <param name="isTransient">Overrides the classification by status and error name.</param>
    public KinesisException(int statusCode, string errorType, string message, bool? isTransient = null)
        : base(string.IsNullOrEmpty(errorType) ? $"HTTP {statusCode}: {message}" : $"{errorType}: {message}")
    {
        StatusCode = statusCode;
        ErrorType = errorType;
        IsTransient = isTransient ?? IsTransientError(statusCode, errorType);
    }

    /// <summary>HTTP status of the answer.</summary>
    public int StatusCode { get; }

    /// <summary>The short error name from <c>__type</c>, e.g. <c>ResourceNotFoundException</c>; empty when the body had none.</summary>
    public string ErrorType { get; }

    /// <summary>True when sending the same call again later may succeed (throttling, 5xx).</summary>
    public bool IsTransient { get; }

    /// <summary>
    /// Throttling, 5xx and expired session tokens (refreshing credentials fix them) are transient;
    /// every other 4xx (validation, missing stream, access denied, bad signature) is a sender fault.
    /// </summary>
    public static bool IsTransientError(int statusCode, string errorType) =>
        statusCode >= 500
        || statusCode == 429
        || errorType is "ProvisionedThroughputExceededException"
            or "ThrottlingException"
            or "LimitExceededException"
            or "KMSThrottlingException"
            or "ExpiredTokenException"
            or "InternalFailure"
            or "ServiceUnavailable";

    /// <summary>The short name of an AWS JSON error type: <c>ns#Name</c> and <c>Name:uri</c> give <c>Name</c>.</summary>
    public static string ShortErrorType(string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return "";
        }
        var span = type.AsSpan();
        var hash = span.LastIndexOf('#');
        if (hash >= 0)
        {
            span = span[(hash + 1)..];
        }
        var colon = span.IndexOf(':');
        if (colon >= 0)
        {
            span = span[..colon];
        }
        return span.Trim().ToString();
    }
}
