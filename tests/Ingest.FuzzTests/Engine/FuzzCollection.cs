namespace Ingest.FuzzTests.Engine;

/// <summary>Fuzz targets run one after another: each gets a whole core for its time budget.</summary>
[CollectionDefinition(Name)]
public sealed class FuzzCollection
{
    public const string Name = "Fuzz";
}

/// <summary>A property of a parser's output that an input broke.</summary>
public sealed class PropertyBrokenException(string message) : Exception(message)
{
    public PropertyBrokenException()
        : this("property broken")
    {
    }

    public PropertyBrokenException(string message, Exception inner)
        : this(message + ": " + inner.Message)
    {
    }

    public static void Check(bool condition, string message)
    {
        if (!condition)
        {
            throw new PropertyBrokenException(message);
        }
    }
}
