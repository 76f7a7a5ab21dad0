using BenchmarkDotNet.Running;

namespace Ingest.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/Ingest.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
