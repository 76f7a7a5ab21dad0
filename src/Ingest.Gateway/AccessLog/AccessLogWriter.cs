using System.Buffers;
using System.Threading.Channels;
using Ingest.Core.Configuration;
using Ingest.Core.Diagnostics;
using Microsoft.Extensions.Hosting;

namespace Ingest.Gateway.AccessLog;

/// <summary>
/// Writes one JSON line per request off the request thread. Requests hand entries to a bounded
/// channel and never wait: when the sink falls behind, entries are dropped and counted in
/// <c>ingest_access_log_dropped_total</c>.
/// </summary>
internal sealed class AccessLogWriter : BackgroundService
{
    // Lines are formatted into one buffer and written with one system call per batch of about this size.
    private const int BatchBytes = 64 * 1024;
    // Longest a line waits in memory before it is written (when traffic is light).
    private static readonly TimeSpan FlushInterval = TimeSpan.FromMilliseconds(50);

    private readonly Channel<AccessLogEntry>? _channel;
    private readonly AccessLogOptions _options;
    private readonly IngestMetrics _metrics;
    private Stream? _stream;
    private long _fileBytes;
    private int _pendingLines;
    private volatile bool _stopping;

    public AccessLogWriter(IngestConfig config, IngestMetrics metrics)
    {
        _options = config.AccessLog;
        _metrics = metrics;
        if (_options.Path != "off")
        {
            _channel = Channel.CreateBounded<AccessLogEntry>(new BoundedChannelOptions(_options.BufferLines)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
        }
    }

    public bool Enabled => _channel is not null;

    /// <summary>Opens the sink instead of <c>accessLog.path</c> (tests: a slow or blocked stream). Default: null.</summary>
    internal Func<Stream>? OpenSink { get; init; }

    public void Write(in AccessLogEntry entry)
    {
        if (_channel is not null && !_channel.Writer.TryWrite(entry))
        {
            _metrics.AccessLogDropped.Add(1);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_channel is null)
        {
            return Task.CompletedTask;
        }
        // Opened here so that a sink that cannot be opened fails the start, not a later moment.
        _stream = Open();
        // A thread of its own: formatting runs at the request rate, and a blocking write (a slow
        // disk, a full stdout pipe) must not hold a thread-pool thread that requests need.
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(_channel.Reader);
                finished.SetResult();
            }
            catch (Exception e)
            {
                finished.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "Ingest access log",
        };
        thread.Start();
        return finished.Task;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Requests have finished by now (Kestrel stops first): write what is left, then exit.
        _stopping = true;
        _channel?.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    private void Run(ChannelReader<AccessLogEntry> reader)
    {
        var buffer = new ArrayBufferWriter<byte>(2 * BatchBytes);
        var formatter = new AccessLogFormatter();
        try
        {
            // Blocks only when the channel is empty (AsTask allocates then, not per line).
            while (reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                FormatQueued(reader, formatter, buffer);
                if (buffer.WrittenCount < BatchBytes / 2 && !_stopping)
                {
                    // Light traffic: gather lines for a moment so the sink sees few large writes
                    // instead of one system call per request.
                    Thread.Sleep(FlushInterval);
                    FormatQueued(reader, formatter, buffer);
                }
                Flush(buffer);
            }
        }
        finally
        {
            Flush(buffer);
            _stream?.Flush();
            if (_stream is FileStream)
            {
                _stream.Dispose();
            }
        }
    }

    /// <summary>Formats queued lines into <paramref name="buffer"/> until about <see cref="BatchBytes"/>.</summary>
    private void FormatQueued(ChannelReader<AccessLogEntry> reader, AccessLogFormatter formatter, ArrayBufferWriter<byte> buffer)
    {
        while (buffer.WrittenCount < BatchBytes && reader.TryRead(out var entry))
        {
            formatter.Write(entry, buffer);
            _pendingLines++;
        }
    }

    private void Flush(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.WrittenCount == 0 || _stream is null)
        {
            return;
        }
        try
        {
            _stream.Write(buffer.WrittenSpan);
            _fileBytes += buffer.WrittenCount;
            if (_stream is FileStream && _fileBytes >= _options.MaxFileBytes)
            {
                Rotate();
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            // A full disk or a vanished file must not stop the gateway: drop, count, reopen, carry on.
            _metrics.AccessLogDropped.Add(_pendingLines);
            if (_options.Path != "stdout")
            {
                try
                {
                    _stream = Open();
                }
                catch (Exception reopen) when (reopen is IOException or UnauthorizedAccessException)
                {
                    // Try again at the next flush.
                }
            }
        }
        finally
        {
            buffer.ResetWrittenCount();
            _pendingLines = 0;
        }
    }

    private Stream Open()
    {
        if (OpenSink is { } open)
        {
            return open();
        }
        if (_options.Path == "stdout")
        {
            return Console.OpenStandardOutput();
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(_options.Path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        // No FileStream buffer: the batch is the buffer, written with one system call.
        var stream = new FileStream(_options.Path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 0);
        _fileBytes = stream.Length;
        return stream;
    }

    // Keeps one previous file (path.1), like a minimal logrotate.
    private void Rotate()
    {
        _stream!.Dispose();
        File.Move(_options.Path, _options.Path + ".1", overwrite: true);
        _stream = Open();
    }
}
