using System.Collections.Concurrent;
using Ingest.Core.Pipeline.Wal;

namespace Ingest.TestSupport.Wal;

/// <summary>
/// The real disk under the write-ahead log, with every write and every flush to disk recorded on
/// one logical clock, so a test can check that an acknowledgement came after the flush covering
/// its record. Flushes can be held (<see cref="HoldFlushes"/>) and writes or flushes made to fail.
/// </summary>
public sealed class RecordingWalFileSystem : IWalFileSystem
{
    private readonly PhysicalWalFileSystem _disk = PhysicalWalFileSystem.Instance;
    private readonly ConcurrentQueue<WriteRecord> _writes = new();
    private readonly SemaphoreSlim _flushGate = new(0, int.MaxValue);
    private long _clock;
    private int _flushes;
    private int _flushesWaiting;
    private volatile bool _hold;

    /// <summary>One write call: its bytes, when it happened, and when a flush first covered it.</summary>
    public sealed class WriteRecord(string path, byte[] bytes, long writtenAt)
    {
        public string Path { get; } = path;
        public byte[] Bytes { get; } = bytes;
        public long WrittenAt { get; } = writtenAt;

        /// <summary>Clock value right after the fsync that made these bytes durable; long.MaxValue until then.</summary>
        public long FlushedAt { get; internal set; } = long.MaxValue;
    }

    /// <summary>Completed flushes (fsync) of segment files.</summary>
    public int Flushes => Volatile.Read(ref _flushes);

    /// <summary>Flushes currently held by <see cref="HoldFlushes"/>.</summary>
    public int FlushesWaiting => Volatile.Read(ref _flushesWaiting);

    public IReadOnlyCollection<WriteRecord> Writes => _writes;

    /// <summary>When set, writes throw IOException (disk full).</summary>
    public bool FailWrites { get; set; }

    /// <summary>When set, flushes throw IOException.</summary>
    public bool FailFlushes { get; set; }

    /// <summary>Advances the clock: call when an acknowledgement is observed.</summary>
    public long Tick() => Interlocked.Increment(ref _clock);

    /// <summary>From now on every flush waits until <see cref="ReleaseFlushes"/>.</summary>
    public void HoldFlushes() => _hold = true;

    public void ReleaseFlushes()
    {
        _hold = false;
        _flushGate.Release(1000);
    }

    /// <summary>The first write whose bytes contain <paramref name="eventId"/> (its record), or null.</summary>
    public WriteRecord? WriteHolding(Guid eventId)
    {
        Span<byte> id = stackalloc byte[16];
        eventId.TryWriteBytes(id);
        foreach (var write in _writes)
        {
            if (write.Bytes.AsSpan().IndexOf(id) >= 0)
            {
                return write;
            }
        }
        return null;
    }

    public void CreateDirectory(string path) => _disk.CreateDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory, string suffix) => _disk.ListFiles(directory, suffix);

    public IWalFile Create(string path) => new RecordingFile(this, _disk.Create(path));

    public Stream OpenRead(string path) => _disk.OpenRead(path);

    public void Delete(string path) => _disk.Delete(path);

    public void FlushDirectory(string path) => _disk.FlushDirectory(path);

    private sealed class RecordingFile(RecordingWalFileSystem owner, IWalFile inner) : IWalFile
    {
        private readonly List<WriteRecord> _unflushed = [];

        public string Path => inner.Path;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (owner.FailWrites)
            {
                throw new IOException("No space left on device (injected)");
            }
            var record = new WriteRecord(Path, bytes.ToArray(), owner.Tick());
            owner._writes.Enqueue(record);
            lock (_unflushed)
            {
                _unflushed.Add(record);
            }
            inner.Write(bytes);
        }

        public void Flush()
        {
            if (owner._hold)
            {
                Interlocked.Increment(ref owner._flushesWaiting);
                owner._flushGate.Wait();
                Interlocked.Decrement(ref owner._flushesWaiting);
            }
            if (owner.FailFlushes)
            {
                throw new IOException("Input/output error (injected)");
            }
            inner.Flush();
            var at = owner.Tick();
            lock (_unflushed)
            {
                foreach (var record in _unflushed)
                {
                    record.FlushedAt = at;
                }
                _unflushed.Clear();
            }
            Interlocked.Increment(ref owner._flushes);
        }

        public void Dispose() => inner.Dispose();
    }
}
