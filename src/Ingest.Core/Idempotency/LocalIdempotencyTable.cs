namespace Ingest.Core.Idempotency;

/// <summary>
/// Idempotency keys of one route in this instance's memory: bounded, expiring on the
/// <see cref="TimeProvider"/>. When full, expired entries go first, then the oldest remembered
/// answers; running requests are never evicted (when only they remain, claims report
/// <see cref="ClaimOutcome.Full"/>).
/// </summary>
/// <remarks>One lock: only requests that carry a key come here, and each holds it for a dictionary operation.</remarks>
public sealed class LocalIdempotencyTable(int capacity, TimeProvider time) : IIdempotencyStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    // Oldest first: entries are appended when claimed and moved to the end when answered.
    private readonly LinkedList<Entry> _order = new();

    /// <summary>Most entries kept; follows the latest deployment.</summary>
    public int Capacity { get; set; } = capacity;

    /// <summary>Entries held now (running and answered, expired ones not yet dropped included).</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    public ValueTask<IdempotencyClaim> TryClaimAsync(string key, string token, TimeSpan inFlight) => new(TryClaim(key, token, inFlight));

    public ValueTask CompleteAsync(string key, string token, IdempotentAnswer answer, TimeSpan window)
    {
        Complete(key, token, answer, window);
        return default;
    }

    public ValueTask ReleaseAsync(string key, string token)
    {
        Release(key, token);
        return default;
    }

    public IdempotencyClaim TryClaim(string key, string token, TimeSpan inFlight)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var existing))
            {
                if (now < existing.ExpiresAt)
                {
                    return existing.Answer is { } answer ? new IdempotencyClaim(ClaimOutcome.Answered, answer) : IdempotencyClaim.InProgress;
                }
                Remove(existing);
            }
            if (_entries.Count >= Capacity && !MakeRoom(now))
            {
                return IdempotencyClaim.Full;
            }
            Add(new Entry(key, token, now + Ticks(inFlight)));
            return IdempotencyClaim.Claimed;
        }
    }

    public void Complete(string key, string token, IdempotentAnswer answer, TimeSpan window)
    {
        var now = time.GetTimestamp();
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry))
            {
                if (entry.Token != token && entry.Answer is not null)
                {
                    // Our claim expired and another request answered meanwhile: keep its answer.
                    return;
                }
                Remove(entry);
            }
            else if (_entries.Count >= Capacity && !MakeRoom(now))
            {
                return;
            }
            Add(new Entry(key, token, now + Ticks(window)) { Answer = answer });
        }
    }

    public void Release(string key, string token)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out var entry) && entry.Token == token && entry.Answer is null)
            {
                Remove(entry);
            }
        }
    }

    /// <summary>Drops expired entries, else the oldest answered one. False when only running requests remain.</summary>
    private bool MakeRoom(long now)
    {
        Entry? oldestAnswered = null;
        var freed = false;
        for (var node = _order.First; node is not null;)
        {
            var next = node.Next;
            var entry = node.Value;
            if (now >= entry.ExpiresAt)
            {
                Remove(entry);
                freed = true;
            }
            else if (freed)
            {
                // Expiry order follows insertion closely: past the expired ones, stop looking.
                break;
            }
            else if (entry.Answer is not null)
            {
                oldestAnswered ??= entry;
                break;
            }
            node = next;
        }
        if (!freed && oldestAnswered is not null)
        {
            Remove(oldestAnswered);
            freed = true;
        }
        return freed || _entries.Count < Capacity;
    }

    private void Add(Entry entry)
    {
        entry.Node = _order.AddLast(entry);
        _entries[entry.Key] = entry;
    }

    private void Remove(Entry entry)
    {
        _entries.Remove(entry.Key);
        if (entry.Node is { } node)
        {
            _order.Remove(node);
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * time.TimestampFrequency);

    private sealed class Entry(string key, string token, long expiresAt)
    {
        public string Key { get; } = key;

        public string Token { get; } = token;

        public long ExpiresAt { get; } = expiresAt;

        public IdempotentAnswer? Answer { get; init; }

        public LinkedListNode<Entry>? Node { get; set; }
    }
}
