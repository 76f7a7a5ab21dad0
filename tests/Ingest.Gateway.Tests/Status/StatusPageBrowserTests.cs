using System.Net;
using System.Text;
using Ingest.Core.Pipeline;
using Ingest.Gateway.Hosting;
using Ingest.Gateway.Tests.Admin;
using Ingest.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace Ingest.Gateway.Tests.Status;

/// <summary>A fact that runs only where the system Chromium (apt package chromium) is installed; .ci/run installs it.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
        {
            Skip = $"{ChromiumPath} is not installed (apt-get install chromium; .ci/run does it).";
        }
    }
}

/// <summary>The live status page in a real headless Chromium, driven by Playwright.</summary>
[Trait("Category", "Browser")]
public class StatusPageBrowserTests
{
    [ChromiumFact]
    public async Task Page_shows_the_counts_of_known_traffic_and_updates_live()
    {
        var backend = new RecordingTargetKind();
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
              queue: { type: recording, batch: { linger: 5ms } }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true, maxBodyBytes: 1000 }
              - { route: POST /v1/other, target: sink, auth: none, public: true }
              - { route: POST /v1/queued, target: queue, auth: none, public: true }
            """, new GatewayOptions { ConfigureServices = s => s.AddSingleton<ITargetKind>(backend) });
        // 100 requests: 90 accepted, 7 refused content type (415), 3 too large (413); 2 to no route.
        for (var i = 0; i < 100; i++)
        {
            var content = i < 7 ? new StringContent("x", Encoding.UTF8, "text/plain")
                : i < 10 ? new StringContent(new string('a', 2000), Encoding.UTF8, "application/json")
                : new StringContent("{}", Encoding.UTF8, "application/json");
            await gateway.Client.PostAsync("/v1/events", content);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostJsonAsync("/nowhere", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await gateway.PostJsonAsync("/nowhere", "{}")).StatusCode);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await gateway.PostJsonAsync("/v1/queued", "{}")).StatusCode);
        }
        await Poll.UntilAsync(() => backend.Delivered.Count == 20, TimeSpan.FromSeconds(10));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync(new() { ViewportSize = new() { Width = 1280, Height = 520 } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);

        await page.GotoAsync($"{gateway.AdminBase}status#token={ConsoleGateway.Token}");
        const string events = "tr[data-route='POST /v1/events']";
        await page.WaitForFunctionAsync($"() => document.querySelector(\"{events} .requests\")?.textContent === '100'", null, new() { Timeout = 15_000 });

        Assert.Equal("100", await Cell(page, events, "requests"));
        Assert.Equal("10", await Cell(page, events, "errors4xx"));
        Assert.Equal("0", await Cell(page, events, "errors5xx"));
        Assert.Equal("1.67", await Cell(page, events, "rate"));
        Assert.Equal("0.17", await Cell(page, events, "rate4xx"));
        Assert.Equal("0", await Cell(page, "tr[data-route='POST /v1/other']", "requests"));
        Assert.Equal("2", await Cell(page, "tr[data-route='(no route)']", "errors4xx"));
        var p50 = double.Parse(await Cell(page, events, "p50"), System.Globalization.CultureInfo.InvariantCulture);
        var p99 = double.Parse(await Cell(page, events, "p99"), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(p50, 0.0001, p99);
        Assert.Equal("90", await Cell(page, "tr[data-target='sink']", "delivered"));
        Assert.Equal("yes", await Cell(page, "tr[data-target='sink']", "reachable"));
        Assert.Equal("20", await Cell(page, "tr[data-target='queue']", "delivered"));
        Assert.Equal("0", await Cell(page, "tr[data-target='queue']", "queued"));
        Assert.True(double.Parse(await Cell(page, "tr[data-target='queue']", "lag-p95"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("live", await page.TextContentAsync("#state"));
        // The token left the address bar.
        Assert.DoesNotContain(ConsoleGateway.Token, page.Url, StringComparison.Ordinal);

        // Live: new traffic shows up on the next polls without reloading.
        for (var i = 0; i < 5; i++)
        {
            await gateway.PostJsonAsync("/v1/other", "{}");
        }
        await page.WaitForFunctionAsync("() => document.querySelector(\"tr[data-route='POST /v1/other'] .requests\")?.textContent === '5'", null, new() { Timeout = 15_000 });

        var screenshot = Path.Combine(RepositoryRoot(), "TestResults", "status.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        await page.ScreenshotAsync(new() { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 1000);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task Page_without_a_token_asks_for_one_and_shows_data_once_given()
    {
        await using var gateway = await ConsoleGateway.StartAsync("""
            targets:
              sink: { type: blackhole }
            routes:
              - { route: POST /v1/events, target: sink, auth: none, public: true }
            """);
        await gateway.PostJsonAsync("/v1/events", "{}");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();
        await page.GotoAsync($"{gateway.AdminBase}status");

        await page.WaitForSelectorAsync("#token-form:not([hidden])", new() { Timeout = 15_000 });
        Assert.Equal("Unauthorized", await page.TextContentAsync("#token-message"));
        Assert.Equal(0, await page.Locator("tr[data-route]").CountAsync());

        await page.FillAsync("#token", ConsoleGateway.Token);
        await page.ClickAsync("#token-form button");
        await page.WaitForFunctionAsync("() => document.querySelector(\"tr[data-route='POST /v1/events'] .requests\")?.textContent === '1'", null, new() { Timeout = 15_000 });
    }

    private static async Task<string> Cell(IPage page, string row, string cell) =>
        (await page.TextContentAsync($"{row} td.{cell}"))!;

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ingest.sln")))
            {
                return dir.FullName;
            }
        }
        return Directory.GetCurrentDirectory();
    }
}
