using System.Security.Cryptography;
using System.Text;
using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Ingest.Gateway.Cli;

namespace Ingest.Gateway.Tests.Auth;

public class KeysCommandTests
{
    [Fact]
    public void New_keys_are_32_random_bytes_in_base64url()
    {
        var a = KeysCommand.NewKey();
        var b = KeysCommand.NewKey();

        Assert.NotEqual(a, b);
        Assert.Equal(43, a.Length);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", a);
    }

    [Fact]
    public void Printed_line_pastes_into_apiKeys_and_matches_the_key()
    {
        var key = KeysCommand.NewKey();
        var line = KeysCommand.ConfigLine("fleet-b", key);

        var config = ConfigLoader.Load("apiKeys:\n  " + line + "\n");

        Assert.Equal("fleet-b", config.ApiKeys.Single().Id);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key))), config.ApiKeys.Single().Sha256);
        Assert.True(ApiKeyStore.Create(config.ApiKeys).TryFind(key, out var id));
        Assert.Equal("fleet-b", id);
    }

    [Fact]
    public async Task Verb_prints_the_key_once_and_the_yaml_line()
    {
        var output = new StringWriter();
        var previous = Console.Out;
        Console.SetOut(output);
        int exit;
        try
        {
            exit = await IngestCommands.Create().Parse(["keys", "new", "--id", "fleet-c", "--config", "/nonexistent/ingest.yaml"]).InvokeAsync();
        }
        finally
        {
            Console.SetOut(previous);
        }

        Assert.Equal(0, exit);
        var text = output.ToString();
        var key = System.Text.RegularExpressions.Regex.Match(text, "API key [^:]*: ([A-Za-z0-9_-]{43})").Groups[1].Value;
        Assert.Contains($"- {{ id: fleet-c, sha256: {ApiKeyStore.HashHex(key)} }}", text, StringComparison.Ordinal);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(text, key));
    }
}
