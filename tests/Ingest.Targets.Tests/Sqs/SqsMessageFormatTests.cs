using System.Text;
using Ingest.Core.Events;
using Ingest.Targets.Sqs;

namespace Ingest.Targets.Tests.Sqs;

public sealed class SqsMessageFormatTests
{
    // ingest-event-id (15+6+36) + ingest-route (12+6+15) + ingest-received-at (18+6+13)
    private const int EnvelopeAttributeBytes = 57 + 33 + 37;

    // ingest-encoding (15) + String (6) + base64 (6)
    private const int Base64AttributeBytes = 27;

    [Fact]
    public void Text_body_counts_its_bytes_plus_attribute_names_types_and_values()
    {
        var e = Event("hello"u8.ToArray());

        Assert.Equal(5 + EnvelopeAttributeBytes, SqsMessageFormat.MeasureWireBytes(e));
    }

    [Fact]
    public void Non_ascii_text_counts_utf8_bytes_not_characters()
    {
        var body = Encoding.UTF8.GetBytes("héllo 中文");

        Assert.Equal(13, body.Length);
        Assert.Equal(13 + EnvelopeAttributeBytes, SqsMessageFormat.MeasureWireBytes(Event(body)));
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(2, 4)]
    [InlineData(3, 4)]
    [InlineData(5, 8)]
    [InlineData(3000, 4000)]
    [InlineData(786_432, 1_048_576)]
    public void Binary_body_counts_base64_growth_and_the_encoding_attribute(int length, int base64Length)
    {
        var body = new byte[length];
        body.AsSpan().Fill(0xFF);

        Assert.Equal(base64Length + EnvelopeAttributeBytes + Base64AttributeBytes, SqsMessageFormat.MeasureWireBytes(Event(body)));
    }

    [Fact]
    public void Empty_body_is_one_placeholder_character_marked_empty()
    {
        var e = Event([]);

        var entry = SqsWireEntry.Of(e, fifoGroup: null);

        Assert.Equal("-", entry.MessageBody);
        Assert.Equal("empty", entry.MessageAttributes["ingest-encoding"].StringValue);
        Assert.Equal(1 + EnvelopeAttributeBytes + 15 + 6 + 5, SqsMessageFormat.MeasureWireBytes(e));
    }

    [Fact]
    public void Optional_envelope_fields_and_headers_are_counted()
    {
        var e = new IngestEvent
        {
            Id = Guid.NewGuid(),
            ReceivedAtMs = 1_764_000_000_000,
            RouteKey = "POST /v1/events",
            ContentType = "application/json",         // 12 + 6 + 16
            SourceIp = "2001:db8::1",                  // 16 + 6 + 11
            TraceParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // 11 + 6 + 55
            Headers = [new("x-device", "dév")],        // 9 + 8 + 6 + 4
            Body = "{}"u8.ToArray(),
        };

        Assert.Equal(2 + EnvelopeAttributeBytes + 34 + 33 + 72 + 27, SqsMessageFormat.MeasureWireBytes(e));
    }

    [Fact]
    public void Measured_size_equals_the_size_of_the_built_message_for_random_events()
    {
        var random = new Random(42);
        for (var n = 0; n < 2000; n++)
        {
            var headers = Enumerable.Range(0, random.Next(15))
                .Select(i => new KeyValuePair<string, string>(
                    random.Next(8) == 0 ? "bad name!" : $"x-h{random.Next(12)}",
                    random.Next(10) == 0 ? "" : random.Next(5) == 0 ? "vålue\u0001" : $"välue-{i}"))
                .ToArray();
            var e = new IngestEvent
            {
                Id = Guid.NewGuid(),
                ReceivedAtMs = random.NextInt64(0, long.MaxValue),
                RouteKey = random.Next(4) == 0 ? "ANY /{proxy+}" : "POST /v1/events",
                ContentType = random.Next(3) == 0 ? null : "text/plain; charset=utf-8",
                SourceIp = random.Next(3) == 0 ? null : "198.51.100.7",
                TraceParent = random.Next(3) == 0 ? null : "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                Headers = headers,
                Body = SqsTestEvents.MixedBody(random.Next(10), random),
            };

            var entry = SqsWireEntry.Of(e, fifoGroup: null);

            Assert.Equal(SqsWireSize(entry), SqsMessageFormat.MeasureWireBytes(e));
            Assert.InRange(entry.MessageAttributes.Count, 3, 10);
            Assert.All(entry.MessageAttributes.Values, v => Assert.NotEmpty(v.StringValue));
        }
    }

    [Fact]
    public void Attributes_never_exceed_ten_and_envelope_fields_come_first()
    {
        var headers = Enumerable.Range(0, 20).Select(i => new KeyValuePair<string, string>($"x-h{i}", $"v{i}")).ToArray();
        var e = new IngestEvent
        {
            Id = Guid.NewGuid(),
            ReceivedAtMs = 1_764_000_000_000,
            RouteKey = "POST /v1/events",
            ContentType = "application/octet-stream",
            SourceIp = "192.0.2.1",
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Headers = headers,
            Body = new byte[] { 0xFF, 0x00 },
        };

        var entry = SqsWireEntry.Of(e, fifoGroup: null);

        Assert.Equal(10, entry.MessageAttributes.Count);
        Assert.Equal(
            ["content-type", "ingest-encoding", "ingest-event-id", "ingest-h-x-h0", "ingest-h-x-h1", "ingest-h-x-h2", "ingest-received-at", "ingest-route", "ingest-source-ip", "traceparent"],
            entry.MessageAttributes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("base64", entry.MessageAttributes["ingest-encoding"].StringValue);
        Assert.Equal(e.Id.ToString("D"), entry.MessageAttributes["ingest-event-id"].StringValue);
        Assert.Equal("1764000000000", entry.MessageAttributes["ingest-received-at"].StringValue);
        Assert.Equal(e.Id.ToString("N"), entry.Id);
        Assert.Null(entry.MessageGroupId);
        Assert.Null(entry.MessageDeduplicationId);
    }

    [Fact]
    public void Headers_that_cannot_be_attributes_are_skipped_and_do_not_use_up_room()
    {
        KeyValuePair<string, string>[] headers =
        [
            new("x-bad name", "1"), new("x..dots", "2"), new("x-trailing.", "3"), new("x-empty", ""),
            new("x-control", "a\u0000b"), new("content-type", "dup"), new("traceparent", "dup"),
            new("x-ok", "first"), new("x-ok", "second"), new("x.dotted_name-1", "ok"),
        ];

        var entry = SqsWireEntry.Of(Event("{}"u8.ToArray(), headers), fifoGroup: null);

        Assert.Equal(["ingest-h-x-ok", "ingest-h-x.dotted_name-1"], entry.MessageAttributes.Keys.Where(k => k.StartsWith("ingest-h-", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal("first", entry.MessageAttributes["ingest-h-x-ok"].StringValue);
    }

    [Fact]
    public void Text_bodies_are_sent_as_is_and_binary_bodies_as_base64()
    {
        var text = SqsWireEntry.Of(Event(Encoding.UTF8.GetBytes("{\"a\":\"ü😀\"}")), fifoGroup: null);
        var binary = SqsWireEntry.Of(Event([0x00, 0xFF, 0x10]), fifoGroup: null);

        Assert.Equal("{\"a\":\"ü😀\"}", text.MessageBody);
        Assert.False(text.MessageAttributes.ContainsKey("ingest-encoding"));
        Assert.Equal("AP8Q", binary.MessageBody);
    }

    public static TheoryData<string, bool> LegalTexts => new()
    {
        { "plain ascii", true },
        { "tab\t lf\n cr\r", true },
        { "del \u007F and c1 \u0085 \u009F", true },
        { "bmp edge \uD7FF \uE000 \uFFFD", true },
        { "bom \uFEFF and private use \uF8FF", true },
        { "supplementary 😀 \U0010FFFF", true },
        { "nul \u0000", false },
        { "bell \u0007", false },
        { "unit separator \u001F", false },
        { "noncharacter \uFFFE", false },
        { "noncharacter \uFFFF", false },
    };

    [Theory]
    [MemberData(nameof(LegalTexts))]
    public void Xml_legal_check_follows_the_sqs_character_set(string text, bool legal)
    {
        Assert.Equal(legal, SqsMessageFormat.IsXmlLegalUtf8(Encoding.UTF8.GetBytes(text)));
        Assert.Equal(legal, SqsMessageFormat.IsXmlLegal(text));
        // Same answer when the bad character sits after a long clean run (vectorized path).
        var padded = new string('a', 1000) + text + new string('b', 77);
        Assert.Equal(legal, SqsMessageFormat.IsXmlLegalUtf8(Encoding.UTF8.GetBytes(padded)));
    }

    [Theory]
    [InlineData(new byte[] { 0xC3 })]                   // truncated sequence
    [InlineData(new byte[] { 0xC0, 0x80 })]             // over-long NUL
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]       // encoded surrogate (CESU-8)
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 })] // above U+10FFFF
    [InlineData(new byte[] { 0xFF, 0xFE })]
    public void Invalid_utf8_is_not_text(byte[] bytes)
    {
        Assert.False(SqsMessageFormat.IsXmlLegalUtf8(bytes));
        Assert.Equal(SqsBodyEncoding.Base64, SqsMessageFormat.ChooseEncoding(bytes));
    }

    [Fact]
    public void Lone_surrogates_in_attribute_values_are_illegal()
    {
        Assert.False(SqsMessageFormat.IsXmlLegal("a\uD800"));
        Assert.False(SqsMessageFormat.IsXmlLegal("\uDC00a"));
        Assert.True(SqsMessageFormat.IsXmlLegal("\uD83D\uDE00"));
    }

    [Fact]
    public void Fifo_group_id_comes_from_the_header()
    {
        var group = new SqsGroupIdSource("header:X-Device-Id");
        var e = Event("{}"u8.ToArray(), [new("x-device-id", "sensor-7")]);

        Assert.Equal("sensor-7", group.GroupIdOf(e));
        Assert.Equal("POST%20/v1/events", group.GroupIdOf(Event("{}"u8.ToArray())));
    }

    [Theory]
    [InlineData("{\"device\":\"d1\",\"n\":1}", "d1")]
    [InlineData("{\"n\":{\"device\":\"nested\"},\"device\":\"top\"}", "top")]
    [InlineData("{\"device\":42}", "42")]
    [InlineData("{\"device\":1.50e3}", "1.50e3")]
    [InlineData("{\"device\":\"a b\"}", "a%20b")]
    [InlineData("{\"device\":\"100%\"}", "100%25")]
    [InlineData("{\"device\":\"ünï\"}", "%C3%BCn%C3%AF")]
    [InlineData("{\"device\":true}", "POST%20/v1/events")]
    [InlineData("{\"device\":null}", "POST%20/v1/events")]
    [InlineData("{\"device\":\"\"}", "POST%20/v1/events")]
    [InlineData("{\"other\":1}", "POST%20/v1/events")]
    [InlineData("[{\"device\":\"d1\"}]", "POST%20/v1/events")]
    [InlineData("not json", "POST%20/v1/events")]
    [InlineData("{\"device\":\"d1\"", "d1")]
    [InlineData("{\"n\":[1,2", "POST%20/v1/events")]
    public void Fifo_group_id_comes_from_a_top_level_json_field_else_the_route_key(string body, string expected)
    {
        var group = new SqsGroupIdSource("json:device");

        Assert.Equal(expected, group.GroupIdOf(Event(Encoding.UTF8.GetBytes(body))));
    }

    [Fact]
    public void Fifo_group_ids_stay_legal_and_distinct_when_too_long()
    {
        var a = SqsGroupIdSource.ToLegalGroupId(new string('a', 129));
        var b = SqsGroupIdSource.ToLegalGroupId(new string('a', 130));

        Assert.StartsWith("sha256-", a, StringComparison.Ordinal);
        Assert.Equal(71, a.Length);
        Assert.NotEqual(a, b);
        Assert.Equal(new string('a', 128), SqsGroupIdSource.ToLegalGroupId(new string('a', 128)));
        Assert.All(new[] { a, b, SqsGroupIdSource.ToLegalGroupId("x y\u0001ü") }, id => Assert.All(id, c => Assert.InRange(c, '!', '~')));
    }

    [Fact]
    public void Fifo_entries_carry_group_and_event_id_as_deduplication_id()
    {
        var e = Event("{\"device\":\"d9\"}"u8.ToArray());

        var entry = SqsWireEntry.Of(e, new SqsGroupIdSource("json:device"));

        Assert.Equal("d9", entry.MessageGroupId);
        Assert.Equal(e.Id.ToString("N"), entry.MessageDeduplicationId);
    }

    /// <summary>How SQS sizes a message: body UTF-8 bytes + per attribute name + data type + value.</summary>
    private static int SqsWireSize(SqsWireEntry entry) =>
        Encoding.UTF8.GetByteCount(entry.MessageBody)
        + entry.MessageAttributes.Sum(a => Encoding.UTF8.GetByteCount(a.Key) + Encoding.UTF8.GetByteCount(a.Value.DataType) + Encoding.UTF8.GetByteCount(a.Value.StringValue));

    private static IngestEvent Event(byte[] body, KeyValuePair<string, string>[]? headers = null) => new()
    {
        Id = Guid.NewGuid(),
        ReceivedAtMs = 1_764_000_000_000,
        RouteKey = "POST /v1/events",
        Headers = headers ?? [],
        Body = body,
    };
}
