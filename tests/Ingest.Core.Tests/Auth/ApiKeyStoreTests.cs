using Ingest.Core.Auth;
using Ingest.Core.Configuration;
using Microsoft.Extensions.Time.Testing;

namespace Ingest.Core.Tests.Auth;

public class ApiKeyStoreTests
{
    // SHA-256 of "secret", as in ingest.example.yaml.
    private const string SecretHash = "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b";

    private static ApiKeyStore Store() => ApiKeyStore.Create(
    [
        new ApiKeyOptions { Id = "fleet-a", Sha256 = SecretHash },
        new ApiKeyOptions { Id = "fleet-b", Sha256 = ApiKeyStore.HashHex("another-key") },
    ]);

    [Fact]
    public void Finds_the_id_of_a_configured_key()
    {
        Assert.True(Store().TryFind("secret", out var id));
        Assert.Equal("fleet-a", id);
        Assert.True(Store().TryFind("another-key", out id));
        Assert.Equal("fleet-b", id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Secret")]
    [InlineData("secret ")]
    [InlineData(SecretHash)]
    public void Refuses_anything_else(string key)
    {
        Assert.False(Store().TryFind(key, out var id));
        Assert.Null(id);
    }

    [Fact]
    public void Refuses_overlong_keys_without_hashing()
    {
        Assert.False(Store().TryFind(new string('a', ApiKeyStore.MaxKeyLength + 1), out _));
    }

    [Fact]
    public void Accepts_uppercase_hex_in_the_configuration()
    {
        var store = ApiKeyStore.Create([new ApiKeyOptions { Id = "upper", Sha256 = SecretHash.ToUpperInvariant() }]);

        Assert.True(store.TryFind("secret", out var id));
        Assert.Equal("upper", id);
    }

    [Fact]
    public void Lookup_allocates_nothing()
    {
        var store = Store();
        const string key = "secret";
        store.TryFind(key, out _);
        store.TryFind("wrong", out _);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            store.TryFind(key, out _);
            store.TryFind("wrong", out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Authenticator_sets_the_key_id_and_refuses_missing_or_wrong_keys()
    {
        var time = new FakeTimeProvider();
        var auth = AuthTestContext.Compile($$"""
            apiKeys: [{ id: fleet-a, sha256: {{SecretHash}} }]
            targets: { sink: { type: blackhole } }
            routes: [{ route: POST /v1/events, target: sink, auth: [apiKey] }]
            """, time);
        Assert.False(auth.NeedsBody);

        var ok = AuthTestContext.Request(AuthTestContext.Http("POST", "/v1/events", null, ("x-api-key", "secret")));
        Assert.Null(await auth.AuthenticateAsync(ok, default));
        Assert.Equal("fleet-a", ok.ApiKeyId);

        var missing = await auth.AuthenticateAsync(AuthTestContext.Request(AuthTestContext.Http("POST", "/v1/events")), default);
        Assert.Equal((403, "Forbidden"), (missing!.Status, missing.Message));

        var wrong = AuthTestContext.Request(AuthTestContext.Http("POST", "/v1/events", null, ("x-api-key", "guess")));
        var rejection = await auth.AuthenticateAsync(wrong, default);
        Assert.Equal((403, "Forbidden"), (rejection!.Status, rejection.Message));
        Assert.Null(wrong.ApiKeyId);
        Assert.DoesNotContain("guess", rejection.LogReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Hash_keys_compare_all_bytes()
    {
        Span<byte> a = stackalloc byte[32];
        Span<byte> b = stackalloc byte[32];
        b[31] = 1;

        Assert.NotEqual(new Sha256Key(a), new Sha256Key(b));
        Assert.Equal(new Sha256Key(a), new Sha256Key(a.ToArray()));
    }
}
