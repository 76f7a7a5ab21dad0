using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Ingest.IntegrationTests.Hostile;

/// <summary>
/// Honest clients that keep posting small, distinct JSON events at a steady pace while the attacks
/// run; every 202 is remembered (request id and body) so delivery can be checked afterwards.
/// </summary>
internal sealed class LegitimateClients : IAsyncDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _loops;
    private long _failures;

    public LegitimateClients(Uri baseUri, int clients, TimeSpan pace)
    {
        _http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients }) { Timeout = TimeSpan.FromSeconds(10) };
        _endpoint = new Uri(baseUri, "/v1/events");
        _loops = Enumerable.Range(0, clients).Select(c => Task.Run(() => LoopAsync(c, pace))).ToArray();
    }

    /// <summary>Events the gateway acknowledged (202), by event id.</summary>
    public ConcurrentDictionary<Guid, byte[]> Acknowledged { get; } = new();

    /// <summary>Requests that did not get a 202, with what they got instead.</summary>
    public ConcurrentQueue<string> Failures { get; } = new();

    public long FailureCount => Interlocked.Read(ref _failures);

    private async Task LoopAsync(int client, TimeSpan pace)
    {
        using var timer = new PeriodicTimer(pace);
        var seq = 0;
        while (await WaitAsync(timer))
        {
            var body = Encoding.UTF8.GetBytes($$"""{"client":{{client}},"seq":{{seq++}},"note":"legitimate traffic"}""");
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await _http.PostAsync(_endpoint, content, _stop.Token);
                var text = await response.Content.ReadAsStringAsync(_stop.Token);
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Acknowledged[JsonDocument.Parse(text).RootElement.GetProperty("requestId").GetGuid()] = body;
                }
                else
                {
                    Fail($"{(int)response.StatusCode} {text}");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Fail(e.Message);
            }
        }
    }

    private async Task<bool> WaitAsync(PeriodicTimer timer)
    {
        try
        {
            return await timer.WaitForNextTickAsync(_stop.Token);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private void Fail(string what)
    {
        Interlocked.Increment(ref _failures);
        if (Failures.Count < 20)
        {
            Failures.Enqueue(what);
        }
    }

    /// <summary>Stops sending and waits for the requests in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        _stop.Dispose();
    }
}
