namespace Ingest.Core.Pipeline.Wal;

/// <summary>
/// The file operations the write-ahead log uses, and nothing else. The log never touches the disk
/// directly, so a test can wrap this to record every flush to disk and check that no
/// acknowledgement was sent before the flush that covered its record.
/// </summary>
public interface IWalFileSystem
{
    /// <summary>Creates the directory (and its parents) when missing.</summary>
    void CreateDirectory(string path);

    /// <summary>Full paths of the files in <paramref name="directory"/> whose names end with <paramref name="suffix"/>.</summary>
    IReadOnlyList<string> ListFiles(string directory, string suffix);

    /// <summary>Creates a new file for appending; fails when it exists.</summary>
    IWalFile Create(string path);

    /// <summary>Opens an existing file for reading.</summary>
    Stream OpenRead(string path);

    void Delete(string path);

    /// <summary>Makes the directory's entries (created and deleted files) durable.</summary>
    void FlushDirectory(string path);
}

/// <summary>A segment file open for appending.</summary>
public interface IWalFile : IDisposable
{
    string Path { get; }

    /// <summary>Appends to the file (the operating system's cache; not yet durable).</summary>
    void Write(ReadOnlySpan<byte> bytes);

    /// <summary>Makes everything written so far durable (fsync).</summary>
    void Flush();
}
