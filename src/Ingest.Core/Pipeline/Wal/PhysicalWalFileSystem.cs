using System.Runtime.InteropServices;

namespace Ingest.Core.Pipeline.Wal;

/// <summary>The real disk: unbuffered appends, <c>fsync</c> through <see cref="FileStream.Flush(bool)"/>.</summary>
public sealed class PhysicalWalFileSystem : IWalFileSystem
{
    public static PhysicalWalFileSystem Instance { get; } = new();

    public void CreateDirectory(string path) => Directory.CreateDirectory(path);

    public IReadOnlyList<string> ListFiles(string directory, string suffix) =>
        Directory.Exists(directory) ? Directory.GetFiles(directory, "*" + suffix) : [];

    public IWalFile Create(string path) => new PhysicalWalFile(path);

    public Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);

    public void Delete(string path) => File.Delete(path);

    public void FlushDirectory(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }
        // .NET cannot open a directory as a FileStream; without this a new segment's name could be
        // lost on power failure even though its contents were synced.
        var fd = Open(System.Text.Encoding.UTF8.GetBytes(path + "\0"), 0 /* O_RDONLY */);
        if (fd < 0)
        {
            return;
        }
        try
        {
            _ = Fsync(fd);
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] nullTerminatedPath, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);

    private sealed class PhysicalWalFile(string path) : IWalFile
    {
        private readonly FileStream _stream = new(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete, bufferSize: 0);

        public string Path { get; } = path;

        public void Write(ReadOnlySpan<byte> bytes) => _stream.Write(bytes);

        public void Flush() => _stream.Flush(flushToDisk: true);

        public void Dispose() => _stream.Dispose();
    }
}
