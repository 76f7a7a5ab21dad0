using System.Text;
using Ingest.Core.Events;

namespace Ingest.Benchmarks.Targets;

/// <summary>Events as the request handler builds them for the load scenarios: 512-byte JSON body, full envelope.</summary>
internal static class SampleEvents
{
    public static readonly byte[] JsonBody = Build512ByteJson();

    public static IngestEvent Create(int n, byte[] body, string contentType = "application/json") => new()
    {
        // Fixed ids and times: every iteration does the same work.
        Id = new Guid($"0193a1b2-c3d4-7e5f-8a9b-{n:D12}"),
        ReceivedAtMs = 1_764_105_284_123 + n,
        RouteKey = "POST /v1/events",
        SourceIp = "10.1.2.3",
        ContentType = contentType,
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        Body = body,
    };

    private static byte[] Build512ByteJson()
    {
        const string Prefix = "{\"device\":\"dev-000042\",\"type\":\"telemetry\",\"ts\":\"2026-11-25T21:14:44.123Z\",\"seq\":1234567,"
            + "\"readings\":{\"temperature\":21.5,\"humidity\":48.2,\"battery\":3.71,\"rssi\":-67},"
            + "\"tags\":[\"load\",\"wrk\",\"ingest\"],\"pad\":\"";
        const string Suffix = "\"}";
        return Encoding.UTF8.GetBytes(Prefix + new string('x', 512 - Prefix.Length - Suffix.Length) + Suffix);
    }
}
