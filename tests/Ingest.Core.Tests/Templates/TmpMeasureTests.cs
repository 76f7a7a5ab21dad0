using System.Diagnostics;
using Ingest.Core.Templates;
using Xunit.Abstractions;
namespace Ingest.Core.Tests.Templates;
public sealed class TmpMeasureTests(ITestOutputHelper output)
{
    [Fact]
    public void Measure()
    {
        var template = MappingTemplateTests.Compile("""{"Item":{"device":{"S":"{{ input.path.id | json_escape }}"},"ts":{"N":"{{ context.requestTimeEpoch }}"},"temp":{"N":"{{ input.json.temp | plus: 0 }}"},"note":{"S":"{{ input.json.note | json_escape }}"}}}""");
        var request = TemplateRequests.Create("""{"temp":21.5,"note":"hello \"world\""}""");
        for (var i = 0; i < 2000; i++) template.Render(TemplateScope.ForRequest(request), CancellationToken.None);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        const int n = 20000;
        for (var i = 0; i < n; i++) template.Render(TemplateScope.ForRequest(request), CancellationToken.None);
        clock.Stop();
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"per render: {bytes / n} B, {clock.Elapsed.TotalMicroseconds / n:0.0} us");
        var errors = new List<string>();
        clock.Restart();
        for (var i = 0; i < 200; i++) MappingTemplate.Compile("{% for x in input.json.a %}{{ x | json }}{% endfor %}{\"a\":\"{{ input.body | json_escape }}\"}", "w", errors);
        output.WriteLine($"compile: {clock.Elapsed.TotalMicroseconds / 200:0} us");
    }
}
