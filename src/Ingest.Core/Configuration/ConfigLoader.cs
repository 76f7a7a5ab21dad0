using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Ingest.Core.Configuration;

/// <summary>
/// Reads the YAML file into <see cref="IngestConfig"/>. Binding is done here rather than by
/// YamlDotNet's deserializer so that every problem (unknown key, wrong type, missing secret)
/// is collected in one pass instead of stopping at the first exception.
/// </summary>
public static partial class ConfigLoader
{
    /// <summary>Parses and binds a file; relative <c>${file:...}</c> paths resolve against its folder.</summary>
    public static IngestConfig LoadFile(string path, Func<string, string?>? environment = null)
    {
        var text = File.ReadAllText(path);
        var baseDir = Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".";
        return Load(text, baseDir, environment);
    }

    /// <summary>Parses and binds YAML text. Throws <see cref="ConfigException"/> listing every problem.</summary>
    public static IngestConfig Load(string yaml, string baseDirectory = ".", Func<string, string?>? environment = null)
    {
        var binder = new Binder(baseDirectory, environment ?? Environment.GetEnvironmentVariable);
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException([$"line {e.Start.Line}: not valid YAML: {e.Message.TrimEnd('.')}. Fix the syntax there."]);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet throws these, not YamlException, for some malformed input (found by fuzzing).
            throw new ConfigException([$"not valid YAML ({e.Message.TrimEnd('.')}). Check the indentation, braces and quotes."]);
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            throw new ConfigException(["the file is empty or not a mapping of keys. Start from ingest.example.yaml."]);
        }

        var config = (IngestConfig)binder.Bind(root, typeof(IngestConfig), "")!;
        if (binder.Errors.Count > 0)
        {
            throw new ConfigException(binder.Errors);
        }
        config.SetReferencedKeys(binder.ReferencedKeys);
        return config;
    }

    [GeneratedRegex(@"\$\{(?<ref>[^}]+)\}")]
    private static partial Regex SecretReference();

    // Binds by reflection over the configuration classes; native builds keep them whole
    // (TrimmerRootAssembly in Ingest.Gateway.csproj), so no member the binder looks for is trimmed.
    [UnconditionalSuppressMessage("Trimming", "IL2067", Justification = "Configuration types are rooted in native builds.")]
    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "Configuration types are rooted in native builds.")]
    private sealed class Binder(string baseDirectory, Func<string, string?> environment)
    {
        public List<string> Errors { get; } = [];

        /// <summary>Keys whose whole value is one ${...} reference (secrets must be written that way).</summary>
        public HashSet<string> ReferencedKeys { get; } = new(StringComparer.Ordinal);

        public object? Bind(YamlNode node, Type type, string path)
        {
            var underlying = Nullable.GetUnderlyingType(type);
            if (underlying is not null)
            {
                return IsNull(node) ? null : Bind(node, underlying, path);
            }
            if (type == typeof(string) || type.IsPrimitive || type == typeof(TimeSpan) || type == typeof(decimal))
            {
                return BindScalar(node, type, path);
            }
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
            {
                return BindList(node, type, path);
            }
            if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                return BindDictionary(node, type, path);
            }
            return BindObject(node, type, path);
        }

        private static bool IsNull(YamlNode node) =>
            node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" };

        private object? BindObject(YamlNode node, Type type, string path)
        {
            var instance = Activator.CreateInstance(type)!;
            if (IsNull(node))
            {
                return instance;
            }
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, $"expected a mapping of keys ({KnownKeys(type)})");
                return instance;
            }
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                if (keyNode is not YamlScalarNode { Value: var key })
                {
                    Error(keyNode, path, "a key must be a name, not a mapping or a list (check the braces and indentation)");
                    continue;
                }
                key ??= "";
                var property = FindProperty(type, key);
                var childPath = path.Length == 0 ? key : $"{path}.{key}";
                if (property is null)
                {
                    Error(keyNode, childPath, $"unknown key. Known keys here: {KnownKeys(type)}");
                    continue;
                }
                var value = Bind(valueNode, property.PropertyType, childPath);
                if (value is not null || Nullable.GetUnderlyingType(property.PropertyType) is not null || !property.PropertyType.IsValueType)
                {
                    property.SetValue(instance, value);
                }
            }
            return instance;
        }

        private object BindList(YamlNode node, Type type, string path)
        {
            var list = (IList)Activator.CreateInstance(type)!;
            var itemType = type.GetGenericArguments()[0];
            switch (node)
            {
                case YamlSequenceNode sequence:
                    var i = 0;
                    foreach (var item in sequence.Children)
                    {
                        list.Add(Bind(item, itemType, $"{path}[{i++}]"));
                    }
                    break;
                case YamlScalarNode when IsNull(node):
                    break;
                case YamlScalarNode when itemType == typeof(string):
                    // `auth: none` is the same as `auth: [none]`.
                    list.Add(Bind(node, itemType, path));
                    break;
                default:
                    Error(node, path, "expected a list, e.g. [a, b]");
                    break;
            }
            return list;
        }

        private object BindDictionary(YamlNode node, Type type, string path)
        {
            var dictionary = (IDictionary)Activator.CreateInstance(type)!;
            var valueType = type.GetGenericArguments()[1];
            if (IsNull(node))
            {
                return dictionary;
            }
            if (node is not YamlMappingNode mapping)
            {
                Error(node, path, "expected a mapping of names to values");
                return dictionary;
            }
            foreach (var (keyNode, valueNode) in mapping.Children)
            {
                if (keyNode is not YamlScalarNode { Value: var key })
                {
                    Error(keyNode, path, "a key must be a name, not a mapping or a list (check the braces and indentation)");
                    continue;
                }
                key ??= "";
                dictionary[key] = Bind(valueNode, valueType, $"{path}.{key}");
            }
            return dictionary;
        }

        private object? BindScalar(YamlNode node, Type type, string path)
        {
            if (node is not YamlScalarNode scalar)
            {
                Error(node, path, "expected a single value");
                return null;
            }
            var raw = scalar.Value ?? "";
            var text = Expand(raw, scalar, path);
            if (type == typeof(string))
            {
                return text;
            }
            object? value = null;
            var ok = type switch
            {
                _ when type == typeof(int) => TryParse<int>(text, out value),
                _ when type == typeof(long) => TryParse<long>(text, out value),
                _ when type == typeof(double) => TryParse<double>(text, out value),
                _ when type == typeof(bool) => TryParseBool(text, out value),
                _ when type == typeof(TimeSpan) => TryParseDuration(text, out value),
                _ => false,
            };
            if (!ok)
            {
                // Print the text as written (never an expanded secret).
                var expected = type == typeof(TimeSpan) ? "a duration such as 250ms, 5s or 2m"
                    : type == typeof(bool) ? "true or false" : "a number";
                Error(node, path, $"'{raw}' is not {expected}");
            }
            return value;
        }

        private string Expand(string raw, YamlNode node, string path)
        {
            if (!raw.Contains("${", StringComparison.Ordinal))
            {
                return raw;
            }
            if (SecretReference().Match(raw) is { Success: true } whole && whole.Length == raw.Length)
            {
                ReferencedKeys.Add(path);
            }
            return SecretReference().Replace(raw, match =>
            {
                var reference = match.Groups["ref"].Value;
                if (reference.StartsWith("stageVariables.", StringComparison.Ordinal))
                {
                    // Resolved per stage when the deployment is built (Deployment.StageVariables).
                    return match.Value;
                }
                if (reference.StartsWith("file:", StringComparison.Ordinal))
                {
                    var file = Path.GetFullPath(reference[5..], baseDirectory);
                    if (!File.Exists(file))
                    {
                        Error(node, path, $"secret file '{reference[5..]}' does not exist. Create it or fix the path");
                        return "";
                    }
                    return File.ReadAllText(file).TrimEnd('\r', '\n');
                }
                var value = environment(reference);
                if (value is null)
                {
                    Error(node, path, $"environment variable {reference} is not set. Export it before starting");
                    return "";
                }
                return value;
            });
        }

        private static bool TryParse<T>(string text, out object? value) where T : ISpanParsable<T>
        {
            var ok = T.TryParse(text, CultureInfo.InvariantCulture, out var parsed);
            value = parsed;
            return ok;
        }

        private static bool TryParseBool(string text, out object? value)
        {
            var ok = bool.TryParse(text, out var parsed);
            value = parsed;
            return ok;
        }

        private static bool TryParseDuration(string text, out object? value)
        {
            var ok = Durations.TryParse(text, out var parsed);
            value = parsed;
            return ok;
        }

        private static PropertyInfo? FindProperty(Type type, string key) =>
            type.GetProperty(key, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase) is { CanWrite: true } p
            && string.Equals(CamelCase(p.Name), key, StringComparison.Ordinal) ? p : null;

        private static string KnownKeys(Type type) =>
            string.Join(", ", type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Select(p => CamelCase(p.Name)));

        private static string CamelCase(string name) => char.ToLowerInvariant(name[0]) + name[1..];

        private void Error(YamlNode node, string path, string message) =>
            Errors.Add($"{(path.Length == 0 ? "(root)" : path)} (line {node.Start.Line}): {message}.");
    }
}

/// <summary>Durations as written in the file: 250ms, 5s, 2m, 1h, 1d.</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var span = text.AsSpan().Trim();
        var unitStart = 0;
        while (unitStart < span.Length && (char.IsAsciiDigit(span[unitStart]) || span[unitStart] == '.'))
        {
            unitStart++;
        }
        if (unitStart == 0 || !double.TryParse(span[..unitStart], NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return false;
        }
        double? milliseconds = span[unitStart..] switch
        {
            "ms" => number,
            "s" => number * 1000,
            "m" => number * 60_000,
            "h" => number * 3_600_000,
            "d" => number * 86_400_000,
            _ => null,
        };
        // Beyond TimeSpan's range (about 29,000 years) is a typo, not a duration.
        if (milliseconds is not { } ms || double.IsNaN(ms) || Math.Abs(ms) >= TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }
        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalMilliseconds % 1000 != 0 ? $"{value.TotalMilliseconds}ms"
        : value.TotalSeconds % 60 != 0 ? $"{value.TotalSeconds}s"
        : $"{value.TotalMinutes}m";
}

/// <summary>A configuration that cannot be used; <see cref="Errors"/> lists every problem with its fix.</summary>
public sealed class ConfigException(IReadOnlyList<string> errors)
    : Exception($"configuration has {errors.Count} error(s):{Environment.NewLine}  - " + string.Join(Environment.NewLine + "  - ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}
