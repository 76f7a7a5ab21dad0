using Ingest.Gateway.Requests;

namespace Ingest.Gateway.Tests.Requests;

/// <summary><see cref="TraceContext"/>: W3C traceparent, continued when valid, else a new trace.</summary>
public class TraceContextTests
{
    private const string Incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    [Fact]
    public void A_valid_traceparent_keeps_its_trace_id_and_gets_a_new_span_id()
    {
        var next = TraceContext.Next(Incoming);

        Assert.True(TraceContext.IsValid(next), next);
        Assert.Equal(Incoming[..36], next[..36]);
        Assert.NotEqual(Incoming[36..52], next[36..52]);
        Assert.EndsWith("-01", next, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01")] // upper-case hex
    [InlineData("00-00000000000000000000000000000000-b7ad6b7169203331-01")] // all-zero trace id
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")] // all-zero parent id
    [InlineData("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")] // other version
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0g")] // flags not hex
    [InlineData("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-011")] // too long
    [InlineData("00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")]
    public void An_invalid_or_missing_traceparent_starts_a_new_trace(string? incoming)
    {
        Assert.False(TraceContext.IsValid(incoming));

        var next = TraceContext.Next(incoming);

        Assert.True(TraceContext.IsValid(next), next);
        Assert.StartsWith("00-", next, StringComparison.Ordinal);
        Assert.NotEqual(Incoming[3..35], next[3..35]);
    }

    [Fact]
    public void New_trace_and_span_ids_are_unique()
    {
        var traces = Enumerable.Range(0, 100_000).Select(_ => TraceContext.Next(null)).ToList();

        Assert.All(traces, t => Assert.True(TraceContext.IsValid(t), t));
        Assert.Equal(traces.Count, traces.Select(t => t[3..35]).Distinct().Count());
        Assert.Equal(traces.Count, traces.Select(t => t[36..52]).Distinct().Count());
    }
}
