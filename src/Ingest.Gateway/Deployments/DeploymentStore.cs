using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ingest.Gateway.Deployments;

/// <summary>One recorded deployment. Never changed once written.</summary>
/// <param name="Number">1, 2, 3, ... in the order they were recorded.</param>
/// <param name="CreatedAt">When it was recorded.</param>
/// <param name="Sha256">Hex SHA-256 of the file's bytes as deployed.</param>
/// <param name="Note">Free text given with the deploy (<c>--note</c>), or how it came (start, watch).</param>
/// <param name="Source">Full path of the file it was deployed from; relative <c>${file:...}</c> paths resolve against its folder.</param>
internal sealed record DeploymentRecord(int Number, DateTimeOffset CreatedAt, string Sha256, string? Note, string? Source);

/// <summary>The deployment last activated (<c>active.json</c>).</summary>
internal sealed record ActiveRecord(int Number, DateTimeOffset ActivatedAt);

/// <summary>The files of a deployment record, generated at build time (no run-time reflection).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(DeploymentRecord))]
[JsonSerializable(typeof(ActiveRecord))]
internal sealed partial class DeploymentJsonContext : JsonSerializerContext;

/// <summary>
/// Numbered, immutable deployment records on disk (<c>deployments.path</c>): one folder per
/// deployment, <c>000001/</c>, holding <c>deployment.json</c> and the file's content as
/// <c>ingest.yaml</c>. A record is written into a temporary folder and renamed into place, so a
/// crash never leaves half a record; <c>active.json</c> names the deployment being served.
/// </summary>
/// <remarks>The content is the file as written: <c>${VAR}</c> and <c>${file:...}</c> references stay references, so no resolved secret is stored.</remarks>
internal sealed class DeploymentStore(string path, TimeProvider time)
{
    private const string ContentFile = "ingest.yaml";
    private const string RecordFile = "deployment.json";
    private const string ActiveFile = "active.json";

    private readonly Lock _gate = new();

    public string Path { get; } = System.IO.Path.GetFullPath(path);

    /// <summary>Hex SHA-256 of <paramref name="content"/> as UTF-8.</summary>
    public static string Sha256(string content) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>Records a deployment under the next free number.</summary>
    public DeploymentRecord Record(string content, string? note, string? source)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(Path);
            var staging = System.IO.Path.Combine(Path, $".staging-{Guid.NewGuid():N}");
            Directory.CreateDirectory(staging);
            try
            {
                File.WriteAllText(System.IO.Path.Combine(staging, ContentFile), content);
                for (var number = Numbers().DefaultIfEmpty(0).Max() + 1; ; number++)
                {
                    var record = new DeploymentRecord(number, time.GetUtcNow(), Sha256(content), note, source);
                    File.WriteAllText(System.IO.Path.Combine(staging, RecordFile), JsonSerializer.Serialize(record, DeploymentJsonContext.Default.DeploymentRecord));
                    try
                    {
                        // Another gateway on the same directory may have taken the number: try the next.
                        Directory.Move(staging, Folder(number));
                        return record;
                    }
                    catch (IOException) when (Directory.Exists(Folder(number)))
                    {
                    }
                }
            }
            finally
            {
                if (Directory.Exists(staging))
                {
                    Directory.Delete(staging, recursive: true);
                }
            }
        }
    }

    /// <summary>Every record, oldest first (content not included).</summary>
    public List<DeploymentRecord> List() =>
        Numbers().Order().Select(Get).OfType<DeploymentRecord>().ToList();

    /// <summary>The record numbered <paramref name="number"/>, or null.</summary>
    public DeploymentRecord? Get(int number)
    {
        var file = System.IO.Path.Combine(Folder(number), RecordFile);
        return File.Exists(file) ? JsonSerializer.Deserialize(File.ReadAllText(file), DeploymentJsonContext.Default.DeploymentRecord) : null;
    }

    /// <summary>The newest record, or null when there is none.</summary>
    public DeploymentRecord? Latest() => Numbers().Order().Reverse().Select(Get).FirstOrDefault(r => r is not null);

    /// <summary>The file content of deployment <paramref name="number"/>.</summary>
    public string Content(int number) => File.ReadAllText(System.IO.Path.Combine(Folder(number), ContentFile));

    /// <summary>The number of the deployment last activated, or null.</summary>
    public int? Active()
    {
        var file = System.IO.Path.Combine(Path, ActiveFile);
        if (!File.Exists(file))
        {
            return null;
        }
        using var document = JsonDocument.Parse(File.ReadAllText(file));
        return document.RootElement.TryGetProperty("number", out var number) ? number.GetInt32() : null;
    }

    /// <summary>Notes that deployment <paramref name="number"/> is being served (replaced atomically).</summary>
    public void SetActive(int number)
    {
        Directory.CreateDirectory(Path);
        var file = System.IO.Path.Combine(Path, ActiveFile);
        var temporary = $"{file}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new ActiveRecord(number, time.GetUtcNow()), DeploymentJsonContext.Default.ActiveRecord));
        File.Move(temporary, file, overwrite: true);
    }

    private string Folder(int number) => System.IO.Path.Combine(Path, number.ToString("D6", CultureInfo.InvariantCulture));

    private IEnumerable<int> Numbers() =>
        Directory.Exists(Path)
            ? Directory.EnumerateDirectories(Path)
                .Select(d => int.TryParse(System.IO.Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)
                .Where(n => n > 0)
            : [];
}
