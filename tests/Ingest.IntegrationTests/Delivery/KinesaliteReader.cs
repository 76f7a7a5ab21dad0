using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Ingest.IntegrationTests.Delivery;

/// <summary>
/// Reads every record of a stream from kinesalite (which accepts any signature, so this
/// test-only reader sends a placeholder Authorization header).
/// </summary>
internal sealed class KinesaliteReader(string endpoint) : IDisposable
{
    private readonly HttpClient _http = new() { BaseAddress = new Uri(endpoint) };

    public async Task<List<JsonElement>> ReadAllAsync(string stream, int expected, TimeSpan timeout)
    {
        var shards = await CallAsync("ListShards", new JsonObject { ["StreamName"] = stream });
        var iterators = new List<string>();
        foreach (var shard in shards.GetProperty("Shards").EnumerateArray())
        {
            var iterator = await CallAsync("GetShardIterator", new JsonObject
            {
                ["StreamName"] = stream,
                ["ShardId"] = shard.GetProperty("ShardId").GetString(),
                ["ShardIteratorType"] = "TRIM_HORIZON",
            });
            iterators.Add(iterator.GetProperty("ShardIterator").GetString()!);
        }
        var records = new List<JsonElement>();
        var deadline = DateTime.UtcNow + timeout;
        while (records.Count < expected && DateTime.UtcNow < deadline)
        {
            var gotAny = false;
            for (var i = 0; i < iterators.Count; i++)
            {
                var page = await CallAsync("GetRecords", new JsonObject { ["ShardIterator"] = iterators[i], ["Limit"] = 10000 });
                iterators[i] = page.GetProperty("NextShardIterator").GetString()!;
                foreach (var record in page.GetProperty("Records").EnumerateArray())
                {
                    gotAny = true;
                    records.Add(JsonDocument.Parse(Convert.FromBase64String(record.GetProperty("Data").GetString()!)).RootElement.Clone());
                }
            }
            if (!gotAny)
            {
                await Task.Delay(100);
            }
        }
        return records;
    }

    private async Task<JsonElement> CallAsync(string action, JsonObject body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.Add("X-Amz-Target", $"Kinesis_20131202.{action}");
        request.Headers.Add("X-Amz-Date", DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0");
        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{action}: {(int)response.StatusCode} {text}");
        }
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _http.Dispose();
}
