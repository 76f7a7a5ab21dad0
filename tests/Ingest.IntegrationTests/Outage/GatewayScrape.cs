using System.Globalization;
using System.Text.RegularExpressions;

namespace Ingest.IntegrationTests.Outage;

/// <summary>Reads one sample of the gateway's Prometheus /metrics.</summary>
internal static partial class GatewayScrape
{
    /// <summary>Sum of the samples of <paramref name="metric"/> whose labels contain <paramref name="label"/> (e.g. <c>target="q"</c>); 0 when absent.</summary>
    public static async Task<double> ValueAsync(HttpClient admin, string metric, string label)
    {
        var text = await admin.GetStringAsync("/metrics");
        var sum = 0.0;
        foreach (Match m in Sample().Matches(text))
        {
            if (m.Groups["name"].Value == metric && m.Groups["labels"].Value.Contains(label, StringComparison.Ordinal))
            {
                sum += double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }
        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\{(?<labels>[^}]*)\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Sample();
}
