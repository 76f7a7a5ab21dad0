using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Ingest.Core.Idempotency;

/// <summary>
/// The local idempotency tables by route key, shared by every deployment: a redeployment that keeps
/// a route keeps its remembered answers.
/// </summary>
public sealed class IdempotencyTables(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, LocalIdempotencyTable> _tables = new(StringComparer.Ordinal);

    /// <summary>The table of <paramref name="routeKey"/>; its capacity follows the latest deployment.</summary>
    public LocalIdempotencyTable Table(string routeKey, int capacity)
    {
        var table = _tables.GetOrAdd(routeKey, static (_, state) => new LocalIdempotencyTable(state.capacity, state.time), (capacity, time));
        table.Capacity = capacity;
        return table;
    }
}

public static class IdempotencyServiceCollectionExtensions
{
    /// <summary>Registers <see cref="IdempotencyTables"/> on the registered <see cref="TimeProvider"/> (default: the system clock).</summary>
    public static IServiceCollection AddIngestIdempotency(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new IdempotencyTables(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
