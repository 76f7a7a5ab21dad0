using Ingest.Core.Integration;
using Ingest.Core.Requests;

namespace Ingest.Gateway.Integration;

/// <summary>The client's answer to a failed sync call, per DESIGN.md "Status codes" and <c>compat</c>.</summary>
internal static class IntegrationFailures
{
    private static readonly Rejection TimedOutRestV1 = new(504, "Endpoint request timed out");
    private static readonly Rejection TimedOutHttpV2 = Rejection.ServiceUnavailable;
    private static readonly Rejection BadGatewayRestV1 = new(502, "Internal server error");
    private static readonly Rejection BadGatewayHttpV2 = new(502, "Internal Server Error");
    private static readonly Rejection FunctionErrorHttpV2 = new(500, "Internal Server Error");
    private static readonly Rejection MappingErrorRestV1 = new(500, "Internal server error");

    /// <summary>The gateway answer for <paramref name="failure"/>.</summary>
    public static Rejection For(IntegrationFailure failure, bool restV1) => failure switch
    {
        IntegrationFailure.Timeout => restV1 ? TimedOutRestV1 : TimedOutHttpV2,
        IntegrationFailure.FunctionError => restV1 ? BadGatewayRestV1 : FunctionErrorHttpV2,
        IntegrationFailure.MappingError => restV1 ? MappingErrorRestV1 : FunctionErrorHttpV2,
        _ => restV1 ? BadGatewayRestV1 : BadGatewayHttpV2,
    };
}
