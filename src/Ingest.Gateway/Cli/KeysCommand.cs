using System.CommandLine;
using System.Security.Cryptography;
using Ingest.Core.Auth;

namespace Ingest.Gateway.Cli;

/// <summary><c>ingest keys new [--id NAME]</c>: makes an API key and prints it once, with its config line.</summary>
public static class KeysCommand
{
    /// <summary>Random bytes in a new key.</summary>
    public const int KeyBytes = 32;

    public static Command Create()
    {
        var keys = new Command("keys", "Manage API keys.");
        keys.Subcommands.Add(New());
        return keys;
    }

    /// <summary>A new random key: 32 bytes, base64url without padding (43 characters).</summary>
    public static string NewKey() => Base64UrlEncode(RandomNumberGenerator.GetBytes(KeyBytes));

    /// <summary>The line to paste under <c>apiKeys:</c>.</summary>
    public static string ConfigLine(string id, string key) => $"- {{ id: {id}, sha256: {ApiKeyStore.HashHex(key)} }}";

    private static Command New()
    {
        var id = new Option<string>("--id")
        {
            Description = "Id of the key, shown in the access log and used by usage plans.",
            DefaultValueFactory = _ => $"key-{DateTime.UtcNow:yyyyMMddHHmmss}",
        };
        var config = new Option<string>("--config", "-c")
        {
            Description = "Configuration file (checked for a key with the same id when it exists).",
            DefaultValueFactory = _ => "ingest.yaml",
        };
        var command = new Command("new", "Print a new random API key (once: only its SHA-256 is stored) and the line to add under apiKeys.") { id, config };
        command.SetAction(result =>
        {
            var name = result.GetValue(id)!;
            if (string.IsNullOrWhiteSpace(name) || name.Any(c => char.IsWhiteSpace(c) || c is ',' or '{' or '}' or ':' or '#'))
            {
                Console.Error.WriteLine($"--id: '{name}' must be one word without , {{ }} : or #.");
                return 1;
            }
            if (IdTaken(result.GetValue(config)!, name))
            {
                Console.Error.WriteLine($"--id: '{name}' is already an API key id in {result.GetValue(config)}. Pick another id.");
                return 1;
            }
            var key = NewKey();
            Console.WriteLine($"API key (shown once; give it to the client, it cannot be recovered): {key}");
            Console.WriteLine("Add under apiKeys: in the configuration:");
            Console.WriteLine($"  {ConfigLine(name, key)}");
            return 0;
        });
        return command;
    }

    private static bool IdTaken(string path, string id)
    {
        if (!File.Exists(path))
        {
            return false;
        }
        try
        {
            // Unset ${VAR} secrets are not this verb's business: read the ids the file has anyway.
            return Core.Configuration.ConfigLoader.LoadFile(path, _ => "").ApiKeys.Any(k => k.Id == id);
        }
        catch (Core.Configuration.ConfigException)
        {
            return false;
        }
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
