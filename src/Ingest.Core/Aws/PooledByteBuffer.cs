using System.Buffers;
using System.Numerics;

namespace Ingest.Core.Aws;

/// <summary>
/// A growable byte buffer for the request and response bodies of service calls (a Lambda event, a
/// Step Functions input, an SQS or Kinesis batch of up to ~7 MB once base64 is applied), so each
/// call does not allocate on the large object heap. Arrays up to 1 MiB come from
/// <see cref="ArrayPool{T}.Shared"/> (which trims itself); larger ones from <see cref="LargeArrays"/>,
/// which keeps at most <see cref="LargeArrays.RetainedBytesLimit"/> between calls and drops them
/// when idle, so an outage does not leave tens of MiB pooled.
/// </summary>
public sealed class PooledByteBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    /// <param name="initialCapacity">Bytes to rent at first (at least 256).</param>
    public PooledByteBuffer(int initialCapacity) => _buffer = Rent(Math.Max(initialCapacity, 256));

    /// <summary>Number of bytes written so far.</summary>
    public int WrittenCount => _written;

    /// <summary>Bytes written so far.</summary>
    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    /// <summary>Bytes written so far.</summary>
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
            Return(buffer);
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
        var grown = Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(grown);
        Return(_buffer);
        _buffer = grown;
    }

    private static byte[] Rent(int minimumLength) =>
        minimumLength <= LargeArrays.MinimumLength ? ArrayPool<byte>.Shared.Rent(minimumLength) : LargeArrays.Rent(minimumLength);

    private static void Return(byte[] array)
    {
        if (array.Length <= LargeArrays.MinimumLength)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
        else
        {
            LargeArrays.Return(array);
        }
    }

    /// <summary>
    /// Arrays above 1 MiB, in power-of-two sizes, kept between calls up to a total of
    /// <see cref="RetainedBytesLimit"/>; arrays returned beyond that are left to the GC. Kept
    /// arrays are dropped once none was rented for <see cref="IdlePeriod"/>, so an outage (circuit
    /// open, no calls) does not leave them pooled for good. Calls in flight hold their own arrays.
    /// </summary>
    internal static class LargeArrays
    {
        public const int MinimumLength = 1024 * 1024;

        /// <summary>
        /// The request bodies of two full calls (5 MiB of records is 8 MiB once base64 is applied
        /// and rounded up), about what the buffer lets be sent at once (an eighth of
        /// memory.bufferBytes, 16 MiB by default): a catch-up at full rate reuses them instead of
        /// leaving 8 MiB of large-object garbage per call, and they stay within the memory bound.
        /// </summary>
        public const long RetainedBytesLimit = 16L * 1024 * 1024;

        public static readonly TimeSpan IdlePeriod = TimeSpan.FromSeconds(10);

        private static readonly List<byte[]> Retained = [];
        private static readonly ITimer IdleTrim = TimeProvider.System.CreateTimer(_ => TrimIfIdle(), null, IdlePeriod, IdlePeriod);
        private static long _retainedBytes;
        private static bool _rentedSinceTrim;

        public static long RetainedBytes
        {
            get
            {
                lock (Retained)
                {
                    return _retainedBytes;
                }
            }
        }

        public static byte[] Rent(int minimumLength)
        {
            lock (Retained)
            {
                _rentedSinceTrim = true;
                var best = -1;
                for (var i = 0; i < Retained.Count; i++)
                {
                    if (Retained[i].Length >= minimumLength && (best < 0 || Retained[i].Length < Retained[best].Length))
                    {
                        best = i;
                    }
                }
                if (best >= 0)
                {
                    var array = Retained[best];
                    Retained.RemoveAt(best);
                    _retainedBytes -= array.Length;
                    return array;
                }
            }
            var length = minimumLength > Array.MaxLength / 2 ? Array.MaxLength : (int)BitOperations.RoundUpToPowerOf2((uint)minimumLength);
            return GC.AllocateUninitializedArray<byte>(length);
        }

        public static void Return(byte[] array)
        {
            lock (Retained)
            {
                if (_retainedBytes + array.Length <= RetainedBytesLimit)
                {
                    Retained.Add(array);
                    _retainedBytes += array.Length;
                }
            }
        }

        /// <summary>Drops the kept arrays when none was rented since the last check.</summary>
        internal static void TrimIfIdle()
        {
            GC.KeepAlive(IdleTrim);
            lock (Retained)
            {
                if (!_rentedSinceTrim)
                {
                    Retained.Clear();
                    _retainedBytes = 0;
                }
                _rentedSinceTrim = false;
            }
        }
    }
}
