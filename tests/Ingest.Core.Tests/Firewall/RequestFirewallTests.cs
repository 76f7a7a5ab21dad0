using System.IO.Compression;
using System.Text;
using Ingest.Core.Firewall;
using static Ingest.Core.Tests.Firewall.FirewallTestKit;

namespace Ingest.Core.Tests.Firewall;

public class RequestFirewallTests
{
    private const string Rules = """
        firewall:
          gateway: [no-scanners, admin-probe]
          rules:
            - { id: no-scanners, action: block, header: { name: user-agent, contains: sqlmap, ignoreCase: true } }
            - { id: admin-probe, action: count, path: { regex: "^/(wp-admin|phpmyadmin|\\.env)" } }
            - { id: office-delete, action: block, method: [DELETE], sourceIp: [192.0.2.0/24] }
            - { id: debug-query, action: block, query: { contains: "debug=1" } }
            - { id: no-eval, action: block, body: { regex: "\"cmd\"\\s*:\\s*\"eval" } }
        targets: { sink: { type: blackhole } }
        routes:
          - { route: ANY /v1/events, target: sink, auth: none, public: true, firewall: [office-delete, debug-query, no-eval] }
          - { route: POST /v1/other, target: sink, auth: none, public: true }
        """;

    [Fact]
    public async Task Gateway_rules_apply_to_every_request_route_rules_only_to_their_route()
    {
        using var kit = new FirewallTestKit(Rules);
        var events = kit.Route(0);
        var other = kit.Route(1);
        var unmatched = kit.Route(-1);

        Assert.Equal(["no-scanners", "admin-probe", "office-delete", "debug-query", "no-eval"], events.RuleIds);
        Assert.Equal(["no-scanners", "admin-probe"], other.RuleIds);
        Assert.Equal(["no-scanners", "admin-probe"], unmatched.RuleIds);

        Assert.Equal(new FirewallVerdict("no-scanners", true), await InspectAsync(unmatched, Request("GET", "/nothing", headers: ("User-Agent", "SQLMap/1.7"))));
        Assert.Equal(new FirewallVerdict("no-scanners", true), await InspectAsync(other, Request("POST", "/v1/other", "{}", headers: ("User-Agent", "sqlmap"))));
        Assert.Equal(new FirewallVerdict("debug-query", true), await InspectAsync(events, Request("POST", "/v1/events?x=2&debug=1", "{}")));
        Assert.Equal(default, await InspectAsync(other, Request("POST", "/v1/other?debug=1", "{}")));
    }

    [Fact]
    public async Task Count_records_the_rule_and_lets_the_request_go_on_a_later_block_still_wins()
    {
        using var kit = new FirewallTestKit(Rules);
        var unmatched = kit.Route(-1);

        var counted = await InspectAsync(unmatched, Request("GET", "/wp-admin/setup.php"));
        var countedThenBlocked = await InspectAsync(unmatched, Request("GET", "/wp-admin/", headers: ("user-agent", "sqlmap")));

        Assert.Equal(new FirewallVerdict("admin-probe", false), counted);
        Assert.Equal(new FirewallVerdict("no-scanners", true), countedThenBlocked);
        Assert.Equal(2, kit.Meters.Sum("ingest_firewall_matches"));
    }

    [Fact]
    public async Task Every_condition_of_a_rule_must_hold()
    {
        using var kit = new FirewallTestKit(Rules);
        var events = kit.Route(0);

        // office-delete: DELETE and from 192.0.2.0/24.
        Assert.True((await InspectAsync(events, Request("DELETE", "/v1/events", client: "192.0.2.99"))).Blocked);
        Assert.False((await InspectAsync(events, Request("DELETE", "/v1/events", client: "198.51.100.1"))).Blocked);
        Assert.False((await InspectAsync(events, Request("GET", "/v1/events", client: "192.0.2.99"))).Blocked);
        Assert.True((await InspectAsync(events, Request("DELETE", "/v1/events", client: "::ffff:192.0.2.7"))).Blocked);
    }

    [Fact]
    public async Task Query_is_matched_percent_decoded()
    {
        using var kit = new FirewallTestKit(Rules);

        var verdict = await InspectAsync(kit.Route(0), Request("GET", "/v1/events?a=1&%64ebug%3D1"));

        Assert.Equal(new FirewallVerdict("debug-query", true), verdict);
    }

    [Fact]
    public async Task Body_rules_see_the_prefix_and_leave_the_body_for_the_pipeline()
    {
        using var kit = new FirewallTestKit(Rules);
        var events = kit.Route(0);
        const string Hostile = """{"cmd": "eval(process.exit())"}""";
        var http = Request("POST", "/v1/events", Hostile);

        var verdict = await InspectAsync(events, http);
        var clean = Request("POST", "/v1/events", """{"cmd": "list"}""");
        var passed = await InspectAsync(events, clean);
        var rest = await ReadAllAsync(clean);

        Assert.Equal(new FirewallVerdict("no-eval", true), verdict);
        Assert.Equal(default, passed);
        Assert.Equal("""{"cmd": "list"}""", rest);
    }

    [Fact]
    public async Task Only_the_configured_prefix_of_the_body_is_inspected()
    {
        using var kit = new FirewallTestKit(Rules.Replace("firewall:\n", "firewall:\n  bodyPrefixBytes: 64\n", StringComparison.Ordinal));
        var events = kit.Route(0);
        var late = "{\"pad\":\"" + new string('x', 100) + "\",\"cmd\":\"eval\"}";
        var early = "{\"cmd\":\"eval\",\"pad\":\"" + new string('x', 100) + "\"}";

        var lateVerdict = await InspectAsync(events, Request("POST", "/v1/events", late));
        var earlyHttp = Request("POST", "/v1/events", early);
        var earlyVerdict = await InspectAsync(events, earlyHttp);

        Assert.False(lateVerdict.Blocked);
        Assert.True(earlyVerdict.Blocked);
    }

    [Fact]
    public async Task Compressed_bodies_are_inspected_inflated()
    {
        using var kit = new FirewallTestKit(Rules);
        var gzip = Bombs.Gzip(Encoding.UTF8.GetBytes("""{"cmd":"eval(1)"}"""));
        var deflate = Deflate(Encoding.UTF8.GetBytes("""{"cmd":"eval(1)"}"""));
        // Cut mid-stream (no trailer): what inflates before the cut is still inspected.
        var pad = Convert.ToHexString(new Random(1).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 3000));
        var whole = Bombs.Gzip(Encoding.UTF8.GetBytes("""{"cmd":"eval(1)", "pad": """ + "\"" + pad + "\"}"));
        var truncated = whole[..(whole.Length / 2)];

        Assert.True((await InspectAsync(kit.Route(0), Request("POST", "/v1/events", gzip, "192.0.2.1", ("Content-Encoding", "gzip")))).Blocked);
        Assert.True((await InspectAsync(kit.Route(0), Request("POST", "/v1/events", deflate, "192.0.2.1", ("Content-Encoding", "deflate")))).Blocked);
        Assert.True((await InspectAsync(kit.Route(0), Request("POST", "/v1/events", truncated, "192.0.2.1", ("Content-Encoding", "gzip")))).Blocked);
    }

    [Fact]
    public async Task A_gzip_bomb_is_inflated_only_up_to_the_prefix()
    {
        using var kit = new FirewallTestKit(Rules);
        var bomb = Bombs.Gzip1GiB();
        var route = kit.Route(0);
        var request = Request("POST", "/v1/events", bomb, "192.0.2.1", ("Content-Encoding", "gzip"));
        await InspectAsync(route, Request("POST", "/v1/events", Bombs.Gzip(new byte[100]), "192.0.2.1", ("Content-Encoding", "gzip")));
        var before = GC.GetAllocatedBytesForCurrentThread();

        var verdict = await InspectAsync(route, request);

        Assert.False(verdict.Blocked);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "inflating the prefix must not allocate the bomb");
    }

    [Theory]
    [InlineData("GET", "/v1/events?id=1%27%20OR%201%3D1--", null, "managed:sqli")]
    [InlineData("GET", "/v1/events?id=1' or 'a'='a", null, "managed:sqli")]
    [InlineData("GET", "/v1/events?q=1 UNION ALL SELECT password FROM users", null, "managed:sqli")]
    [InlineData("GET", "/v1/events?q=1;DROP TABLE users", null, "managed:sqli")]
    [InlineData("POST", "/v1/events", """{"name":"x' OR 1=1 --"}""", "managed:sqli")]
    [InlineData("POST", "/v1/events", """{"q":"1 and sleep(5)"}""", "managed:sqli")]
    [InlineData("GET", "/v1/events?next=javascript:alert(1)", null, "managed:xss")]
    [InlineData("GET", "/v1/events?c=%3Cscript%3Ealert(1)%3C/script%3E", null, "managed:xss")]
    [InlineData("POST", "/v1/events", """{"bio":"<img src=x onerror=alert(1)>"}""", "managed:xss")]
    [InlineData("POST", "/v1/events", """{"bio":"<IFRAME src=//evil>"}""", "managed:xss")]
    [InlineData("GET", "/v1/events/<script>", null, "managed:xss")]
    public async Task Managed_sets_catch_common_probes(string method, string target, string? body, string rule)
    {
        using var kit = new FirewallTestKit(Managed);

        var verdict = await InspectAsync(kit.Route(0), Request(method, target, body));

        Assert.Equal(new FirewallVerdict(rule, true), verdict);
    }

    [Theory]
    [InlineData("GET", "/v1/events?select=name&from=2026-01-01&order=desc", null)]
    [InlineData("GET", "/v1/events?q=rock+and+roll&author=O'Neil", null)]
    [InlineData("POST", "/v1/events", """{"device":"t-1000","temp":21.5,"note":"selected from the drop-down, 3 < 4 and 5 > 2"}""")]
    [InlineData("POST", "/v1/events", """{"html":"<b>bold</b> and <a href=\"https://x.example\">link</a>"}""")]
    [InlineData("POST", "/v1/events", """{"msg":"it's done; updated later"}""")]
    public async Task Managed_sets_let_ordinary_traffic_through(string method, string target, string? body)
    {
        using var kit = new FirewallTestKit(Managed);

        var verdict = await InspectAsync(kit.Route(0), Request(method, target, body));

        Assert.Equal(default, verdict);
    }

    [Fact]
    public async Task Managed_sets_are_off_unless_the_route_enables_them_and_count_mode_only_counts()
    {
        using var kit = new FirewallTestKit(Managed.Replace("managedRules: { action: block }", "managedRules: { action: count }", StringComparison.Ordinal));

        var off = await InspectAsync(kit.Route(1), Request("GET", "/v1/plain?id=1' or '1'='1"));
        var counted = await InspectAsync(kit.Route(0), Request("GET", "/v1/events?id=1' or '1'='1"));

        Assert.Equal(default, off);
        Assert.Equal(new FirewallVerdict("managed:sqli", false), counted);
    }

    private const string Managed = """
        firewall: { managedRules: { action: block } }
        targets: { sink: { type: blackhole } }
        routes:
          - { route: ANY /v1/events, target: sink, auth: none, public: true, managedRules: [sqli, xss] }
          - { route: GET /v1/plain, target: sink, auth: none, public: true }
        """;

    private static byte[] Deflate(byte[] data)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            zlib.Write(data);
        }
        return output.ToArray();
    }

    private static async Task<string> ReadAllAsync(Microsoft.AspNetCore.Http.HttpContext http)
    {
        var reader = http.Request.BodyReader;
        while (true)
        {
            var result = await reader.ReadAsync();
            if (result.IsCompleted)
            {
                var text = Encoding.UTF8.GetString(result.Buffer);
                reader.AdvanceTo(result.Buffer.End);
                return text;
            }
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
