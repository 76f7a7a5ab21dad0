using Ingest.Core.Configuration;

namespace Ingest.Core.Pipeline.ClaimCheck;

/// <summary>Validation of the targets' <c>claimCheck:</c> settings.</summary>
public static class ClaimCheckValidation
{
    private static readonly string[] Kinds = ["sqs", "kinesis"];

    public static void Validate(IngestConfig config, IReadOnlyDictionary<string, ITargetKind> kinds, ICollection<string> errors)
    {
        foreach (var (name, target) in config.Targets)
        {
            if (target.ClaimCheck is not { } claim)
            {
                continue;
            }
            var where = $"targets.{name}.claimCheck";
            if (!Kinds.Contains(target.Type, StringComparer.Ordinal))
            {
                errors.Add($"{where}: applies to sqs and kinesis targets only. Remove it from this {target.Type} target.");
                continue;
            }
            if (!IsBucketName(claim.Bucket))
            {
                errors.Add(string.IsNullOrEmpty(claim.Bucket)
                    ? $"{where}.bucket: missing. Name the S3 bucket that holds oversize events."
                    : $"{where}.bucket: '{claim.Bucket}' is not an S3 bucket name. Use 3-63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit.");
            }
            if (claim.Prefix.Length > 512 || claim.Prefix.Any(char.IsControl))
            {
                errors.Add($"{where}.prefix: must be at most 512 characters without control characters, e.g. claims/.");
            }
            if (kinds.TryGetValue(target.Type, out var kind) && claim.ThresholdBytes is { } threshold)
            {
                var limit = kind.ServiceLimits(target).MaxRecordBytes;
                if (threshold < 1 || threshold > limit)
                {
                    errors.Add($"{where}.thresholdBytes: {threshold} is outside 1..{limit} (the target's record limit). Lower it, or remove it to use the record limit.");
                }
            }
        }
    }

    /// <summary>S3's bucket naming rules (the ones a typo breaks).</summary>
    public static bool IsBucketName(string name) =>
        name.Length is >= 3 and <= 63
        && IsLowerOrDigit(name[0])
        && IsLowerOrDigit(name[^1])
        && name.All(c => IsLowerOrDigit(c) || c is '.' or '-')
        && !name.Contains("..", StringComparison.Ordinal);

    private static bool IsLowerOrDigit(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);
}
