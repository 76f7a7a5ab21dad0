namespace Ingest.FuzzTests.Engine;

/// <summary>The seed inputs of one target: every file under <c>Corpus/&lt;target&gt;/</c>.</summary>
public sealed class Corpus
{
    private Corpus(string target, byte[][] seeds)
    {
        Target = target;
        Seeds = seeds;
    }

    public string Target { get; }

    public byte[][] Seeds { get; }

    public static Corpus Load(string target)
    {
        var directory = Path.Combine(AppContext.BaseDirectory, "Corpus", target);
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"no seed folder {directory}: add seeds under tests/Ingest.FuzzTests/Corpus/{target}/");
        }
        var seeds = Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToArray();
        return new Corpus(target, seeds);
    }
}
