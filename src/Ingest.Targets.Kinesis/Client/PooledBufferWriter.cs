using System.Buffers;

namespace Ingest.Targets.Kinesis;

/// <summary>
/// A growable byte buffer on a dedicated array pool, for request and response bodies of batch
/// calls (up to ~7 MB once base64 is applied), so each call does not allocate on the large object heap.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    // Dedicated rather than ArrayPool.Shared: arrays here are megabytes, reused at batch rate.
    private static readonly ArrayPool<byte> Pool = ArrayPool<byte>.Create(maxArrayLength: 32 * 1024 * 1024, maxArraysPerBucket: 32);

    private byte[] _buffer;
    private int _written;

    public PooledBufferWriter(int initialCapacity) => _buffer = Pool.Rent(Math.Max(initialCapacity, 256));

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _buffer.Length)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }
        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    /// <summary>Reads <paramref name="stream"/> to the end into the buffer.</summary>
    public async Task ReadFromAsync(Stream stream, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await stream.ReadAsync(GetMemory(16 * 1024), cancellationToken);
            if (read == 0)
            {
                return;
            }
            _written += read;
        }
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            Pool.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }
        var grown = Pool.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        Pool.Return(_buffer);
        _buffer = grown;
    }
}
