using System.Text;
using System.Text.Json;
using Ingest.Targets.Kinesis;
using Ingest.Targets.Tests.Kinesis.Support;

namespace Ingest.Targets.Tests.Kinesis;

public sealed class KinesisRecordEncoderTests
{
    private static readonly KinesisRecordEncoder Random = new(null);

    [Fact]
    public void Envelope_carries_the_metadata_kinesis_records_cannot()
    {
        var e = KinesisTestEvents.Json("""{"a":1}""", "application/json", new("x-device", "dev-1"), new("x-tenant", "ünï"));

        var record = Random.Encode(e);

        using var doc = JsonDocument.Parse(record.Data);
        var root = doc.RootElement;
        Assert.Equal(e.Id.ToString(), root.GetProperty("eventId").GetString());
        Assert.Equal("2026-01-02T03:04:05.678Z", root.GetProperty("receivedAt").GetString());
        Assert.Equal("POST /v1/clicks", root.GetProperty("route").GetString());
        Assert.Equal("203.0.113.7", root.GetProperty("sourceIp").GetString());
        Assert.Equal("application/json", root.GetProperty("contentType").GetString());
        Assert.Equal("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", root.GetProperty("traceparent").GetString());
        Assert.Equal("dev-1", root.GetProperty("headers").GetProperty("x-device").GetString());
        Assert.Equal("ünï", root.GetProperty("headers").GetProperty("x-tenant").GetString());
        Assert.Equal("""{"a":1}""", root.GetProperty("body").GetRawText());
        Assert.False(root.TryGetProperty("bodyBase64", out _));
        // Non-ASCII stays UTF-8 rather than \u escapes (smaller records).
        Assert.Contains("ünï", Encoding.UTF8.GetString(record.Data), StringComparison.Ordinal);
    }

    [Fact]
    public void Envelope_omits_missing_metadata_and_keeps_an_empty_headers_object()
    {
        var e = new Core.Events.IngestEvent
        {
            Id = Guid.CreateVersion7(),
            ReceivedAtMs = 1_767_323_045_000,
            RouteKey = "POST /v1/x",
            Body = "{}"u8.ToArray(),
        };

        using var doc = JsonDocument.Parse(Random.Encode(e).Data);

        var names = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["eventId", "receivedAt", "route", "headers", "bodyBase64"], names);
        Assert.Equal("2026-01-02T03:04:05.000Z", doc.RootElement.GetProperty("receivedAt").GetString());
        Assert.Empty(doc.RootElement.GetProperty("headers").EnumerateObject());
    }

    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("APPLICATION/JSON")]
    [InlineData("application/vnd.api+json")]
    [InlineData("application/cloudevents+json; charset=UTF-8")]
    public void Json_bodies_are_embedded_as_sent(string contentType)
    {
        // Escapes, number formats and inner whitespace must survive: bytes are copied, not re-serialized.
        const string Json = """{"b":"caf\u00e9","n":1.50,"big":12345678901234567890,"arr":[ 1 , 2 ],"s":"\"q\""}""";
        var e = KinesisTestEvents.Json(Json, contentType);

        var record = Random.Encode(e);

        Assert.Equal(Encoding.UTF8.GetBytes(Json), Envelope.Body(record.Data));
        using var doc = JsonDocument.Parse(record.Data);
        Assert.Equal(JsonValueKind.Object, doc.RootElement.GetProperty("body").ValueKind);
    }

    [Fact]
    public void Whitespace_around_a_json_body_is_dropped()
    {
        var e = KinesisTestEvents.Json(" \r\n\t[1,2]\n");

        Assert.Equal("[1,2]"u8.ToArray(), Envelope.Body(Random.Encode(e).Data));
    }

    [Theory]
    [InlineData("application/octet-stream")]
    [InlineData("text/plain")]
    [InlineData(null)]
    [InlineData("application/jsonx")]
    [InlineData("+json")]
    public void Other_content_types_go_as_base64_even_when_the_body_is_json(string? contentType)
    {
        var e = KinesisTestEvents.Json("""{"a":1}""", contentType!);

        using var doc = JsonDocument.Parse(Random.Encode(e).Data);

        Assert.False(doc.RootElement.TryGetProperty("body", out _));
        Assert.Equal("""{"a":1}"""u8.ToArray(), doc.RootElement.GetProperty("bodyBase64").GetBytesFromBase64());
    }

    [Theory]
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D })] // {"a":"<0xFF>"}: invalid UTF-8
    [InlineData(new byte[] { 0xEF, 0xBB, 0xBF, 0x7B, 0x7D })] // BOM + {}
    [InlineData(new byte[] { 0x7B, 0x22, 0x61, 0x22, 0x3A })] // truncated
    [InlineData(new byte[] { 0x7B, 0x7D, 0x7B, 0x7D })] // two values
    [InlineData(new byte[0])]
    public void Invalid_json_declared_as_json_goes_as_base64_byte_exact(byte[] body)
    {
        var e = KinesisTestEvents.Create(body, "application/json");

        var record = Random.Encode(e);

        using var doc = JsonDocument.Parse(record.Data);
        Assert.False(doc.RootElement.TryGetProperty("body", out _));
        Assert.Equal(body, Envelope.Body(record.Data));
    }

    [Fact]
    public void Json_nested_deeper_than_readers_allow_goes_as_base64_so_the_envelope_stays_readable()
    {
        var deep = new string('[', 70) + new string(']', 70);
        var e = KinesisTestEvents.Json(deep);

        var record = Random.Encode(e);

        using var doc = JsonDocument.Parse(record.Data); // default max depth 64
        Assert.Equal(Encoding.UTF8.GetBytes(deep), doc.RootElement.GetProperty("bodyBase64").GetBytesFromBase64());
    }

    [Fact]
    public void Binary_bodies_round_trip_byte_for_byte()
    {
        var bytes = KinesisTestEvents.RandomBytes(new Random(7), 100_000);
        var e = KinesisTestEvents.Create(bytes, "application/octet-stream");

        Assert.Equal(bytes, Envelope.Body(Random.Encode(e).Data));
    }

    [Fact]
    public void Wire_bytes_are_data_plus_utf8_partition_key()
    {
        var encoder = new KinesisRecordEncoder("header:x-device");
        var e = KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>("x-device", "gerät-ü"));

        var record = encoder.Encode(e);

        Assert.Equal("gerät-ü", record.PartitionKey);
        Assert.Equal(record.Data.Length + Encoding.UTF8.GetByteCount("gerät-ü"), record.WireBytes);
    }

    [Fact]
    public void Random_partition_key_is_the_event_id_so_retries_keep_it()
    {
        var e = KinesisTestEvents.Json("{}");

        Assert.Equal(e.Id.ToString(), Random.Encode(e).PartitionKey);
        Assert.Equal(e.Id.ToString(), new KinesisRecordEncoder("random").Encode(e).PartitionKey);
    }

    [Theory]
    [InlineData("header:X-Device", "x-device", "dev-9", "dev-9")]
    [InlineData("header:x-device", "x-other", "dev-9", null)]
    [InlineData("header:x-device", "x-device", "", null)]
    public void Header_partition_key_falls_back_to_the_event_id(string source, string header, string value, string? expected)
    {
        var e = KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>(header, value));

        Assert.Equal(expected ?? e.Id.ToString(), new KinesisRecordEncoder(source).Encode(e).PartitionKey);
    }

    [Theory]
    [InlineData("""{"device":"d-1","x":2}""", "application/json", "d-1")]
    [InlineData("""{"x":{"device":"inner"},"device":42.50}""", "application/json", "42.50")]
    [InlineData("""{"dev\u0069ce":"escaped-name"}""", "application/json", "escaped-name")]
    [InlineData("""{"device":"from text/plain"}""", "text/plain", "from text/plain")]
    [InlineData("""{"device":true}""", "application/json", null)]
    [InlineData("""{"x":{"device":"nested only"}}""", "application/json", null)]
    [InlineData("""[{"device":"in array"}]""", "application/json", null)]
    [InlineData("""{"device":"d-1", broken""", "application/json", null)]
    [InlineData("not json", "application/json", null)]
    public void Json_partition_key_takes_a_top_level_string_or_number(string body, string contentType, string? expected)
    {
        var e = KinesisTestEvents.Json(body, contentType);

        Assert.Equal(expected ?? e.Id.ToString(), new KinesisRecordEncoder("json:device").Encode(e).PartitionKey);
    }

    [Fact]
    public void Long_partition_keys_are_cut_to_256_characters_without_splitting_a_surrogate_pair()
    {
        var ascii = new string('k', 300);
        var emoji = new string('k', 255) + "😀" + "tail";
        var encoder = new KinesisRecordEncoder("header:x-key");

        var a = encoder.Encode(KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>("x-key", ascii)));
        var b = encoder.Encode(KinesisTestEvents.Json("{}", "application/json", new KeyValuePair<string, string>("x-key", emoji)));

        Assert.Equal(new string('k', 256), a.PartitionKey);
        Assert.Equal(new string('k', 255), b.PartitionKey);
    }

    [Theory]
    [InlineData("header:")]
    [InlineData("json:")]
    [InlineData("device")]
    public void Invalid_sources_are_refused(string source) =>
        Assert.Throws<ArgumentException>(() => new KinesisRecordEncoder(source));

    [Fact]
    public void Envelopes_built_on_many_threads_do_not_mix()
    {
        var events = KinesisTestEvents.Mixed(2000, seed: 3);

        var records = events.AsParallel().WithDegreeOfParallelism(8).Select(e => (e, r: Random.Encode(e))).ToList();

        foreach (var (e, r) in records)
        {
            Assert.Equal(e.Id.ToString(), Envelope.EventId(r.Data));
        }
    }
}
