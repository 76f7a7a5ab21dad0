using System.Diagnostics;
using System.Globalization;

namespace Ingest.Load.DeliveryBaseline;

/// <summary>A wrong command line: the message says what to fix.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>One parsed command line and what it runs.</summary>
internal sealed record CommandLine(
    string Verb,
    string Kind,
    string Name,
    string Endpoint,
    int Seconds,
    int WarmupSeconds,
    int Batch,
    int InFlight,
    int Shards,
    long? Expect,
    int TimeoutSeconds,
    string? BodyFile)
{
    public static CommandLine Parse(string[] args)
    {
        if (args.Length < 3)
        {
            throw new UsageException("expected VERB KIND NAME");
        }
        var verb = args[0];
        var kind = args[1];
        if (verb is not ("send" or "create" or "count" or "delete"))
        {
            throw new UsageException($"unknown verb '{verb}' (send, create, count, delete)");
        }
        if (kind is not ("sqs" or "kinesis"))
        {
            throw new UsageException($"unknown kind '{kind}' (sqs, kinesis)");
        }
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 3; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new UsageException($"'{args[i]}': options are --name VALUE");
            }
            options[args[i][2..]] = args[++i];
        }
        int Int(string key, int fallback, int min, int max)
        {
            if (!options.Remove(key, out var text))
            {
                return fallback;
            }
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new UsageException($"--{key} must be a whole number from {min} to {max}, got '{text}'");
            }
            return value;
        }
        var defaultPort = kind == "sqs"
            ? Environment.GetEnvironmentVariable("INGEST_SQS_PORT") ?? "4566"
            : Environment.GetEnvironmentVariable("INGEST_KINESIS_PORT") ?? "4567";
        var endpoint = options.Remove("endpoint", out var e) ? e : $"http://127.0.0.1:{defaultPort}";
        var maxBatch = kind == "sqs" ? 10 : 500;
        long? expect = options.ContainsKey("expect") ? Int("expect", 0, 0, int.MaxValue) : null;
        var line = new CommandLine(
            verb,
            kind,
            args[2],
            endpoint,
            Int("seconds", 10, 1, 600),
            Int("warmup", 0, 0, 120),
            Int("batch", maxBatch, 1, maxBatch),
            Int("in-flight", 4, 1, 256),
            Int("shards", 2, 1, 100),
            expect,
            Int("timeout", 60, 1, 3600),
            options.Remove("body-file", out var body) ? body : null);
        if (options.Count > 0)
        {
            throw new UsageException($"unknown option --{options.Keys.First()}");
        }
        return line;
    }

    public async Task<int> RunAsync(IDeliveryBackend backend, CancellationToken cancellationToken)
    {
        switch (Verb)
        {
            case "create":
                await backend.CreateAsync(Shards, cancellationToken);
                Console.Error.WriteLine($"created {Kind} {Name}");
                return 0;
            case "delete":
                await backend.DeleteAsync(cancellationToken);
                Console.Error.WriteLine($"deleted {Kind} {Name}");
                return 0;
            case "count":
                return await CountAsync(backend, cancellationToken);
            default:
                return await SendAsync(backend, cancellationToken);
        }
    }

    private async Task<int> SendAsync(IDeliveryBackend backend, CancellationToken cancellationToken)
    {
        var body = BodyFile is null ? SampleEvents.DefaultBody : await File.ReadAllBytesAsync(BodyFile, cancellationToken);
        await backend.PrepareSendAsync(body, Batch, cancellationToken);
        long sent = 0;
        long failed = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var clock = Stopwatch.StartNew();
        var warm = TimeSpan.FromSeconds(WarmupSeconds);
        var until = warm + TimeSpan.FromSeconds(Seconds);
        // Each worker keeps one batch in flight. Batches that start during the warm-up (JIT,
        // connections) are not counted; a batch that started before the end still counts.
        var workers = Enumerable.Range(0, InFlight).Select(_ => Task.Run(async () =>
        {
            while (clock.Elapsed < until && !stop.IsCancellationRequested)
            {
                var counted = clock.Elapsed >= warm;
                try
                {
                    var (ok, bad) = await backend.SendBatchAsync(stop.Token);
                    if (counted)
                    {
                        Interlocked.Add(ref sent, ok);
                        Interlocked.Add(ref failed, bad);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    if (counted)
                    {
                        Interlocked.Add(ref failed, Batch);
                    }
                    Console.Error.WriteLine($"batch failed: {ex.GetType().Name}: {ex.Message}");
                }
            }
        }));
        await Task.WhenAll(workers);
        var seconds = (clock.Elapsed - warm).TotalSeconds;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"INGEST_DELIVERY sent={sent} failed={failed} seconds={seconds:F3} per_second={sent / seconds:F0} batch={Batch} in_flight={InFlight}"));
        return sent > 0 ? 0 : 1;
    }

    private async Task<int> CountAsync(IDeliveryBackend backend, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        long count;
        while (true)
        {
            count = await backend.CountAsync(cancellationToken);
            if (Expect is not { } expected || count >= expected || deadline.Elapsed.TotalSeconds >= TimeoutSeconds)
            {
                break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
        Console.WriteLine(count.ToString(CultureInfo.InvariantCulture));
        return Expect is { } want && count < want ? 1 : 0;
    }
}
