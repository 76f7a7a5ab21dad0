namespace Ingest.Core.Configuration;

// The YAML file, key by key (see ingest.example.yaml). These classes are the parsed text only:
// ConfigValidator checks them and GatewaySnapshot turns them into the immutable runtime form.
// Property names are the YAML keys in camelCase; unknown keys are rejected by ConfigLoader.

/// <summary>The whole configuration file.</summary>
public sealed class IngestConfig
{
    /// <summary>Listeners. Default: one plain listener on 127.0.0.1:8080.</summary>
    public List<ListenerOptions> Listen { get; set; } = [];

    /// <summary>Admin port: health, metrics and the admin API.</summary>
    public AdminOptions Admin { get; set; } = new();

    /// <summary>Error behaviour: <c>http-v2</c> (default) or <c>rest-v1</c>.</summary>
    public string Compat { get; set; } = "http-v2";

    /// <summary>AWS region, credentials and endpoints.</summary>
    public AwsOptions Aws { get; set; } = new();

    /// <summary>Shared limits through Redis. Default: none (limits per instance).</summary>
    public RedisOptions? Redis { get; set; }

    /// <summary>Access log destination.</summary>
    public AccessLogOptions AccessLog { get; set; } = new();

    /// <summary>Values every route inherits unless it sets its own.</summary>
    public DefaultsOptions Defaults { get; set; } = new();

    /// <summary>Memory budget of queued events.</summary>
    public MemoryOptions Memory { get; set; } = new();

    /// <summary>Write-ahead log for routes with <c>ack: durable</c>.</summary>
    public WalOptions Wal { get; set; } = new();

    /// <summary>Gateway-wide token bucket. Default: none.</summary>
    public ThrottleOptions? Throttle { get; set; }

    /// <summary>CIDR allow and deny lists for the whole gateway. Default: allow all.</summary>
    public ResourcePolicyOptions ResourcePolicy { get; set; } = new();

    /// <summary>Proxies whose X-Forwarded-For is believed. Default: none.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Connection and header limits of the public listeners (slow clients, header floods).</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>API keys, stored as SHA-256 hashes.</summary>
    public List<ApiKeyOptions> ApiKeys { get; set; } = [];

    /// <summary>Usage plans: throttle and quota per API key.</summary>
    public List<UsagePlanOptions> UsagePlans { get; set; } = [];

    /// <summary>Access keys accepted by <c>auth: iam</c>.</summary>
    public List<IamKeyOptions> IamKeys { get; set; } = [];

    /// <summary>How <c>auth: iam</c> checks signatures (clock skew).</summary>
    public IamOptions Iam { get; set; } = new();

    /// <summary>Device secrets accepted by <c>auth: hmac</c>.</summary>
    public List<HmacKeyOptions> HmacKeys { get; set; } = [];

    /// <summary>How <c>auth: hmac</c> checks signatures (replay window).</summary>
    public HmacOptions Hmac { get; set; } = new();

    /// <summary>Named authorizers (jwt, http, lambda).</summary>
    public Dictionary<string, AuthorizerOptions> Authorizers { get; set; } = [];

    /// <summary>Backends, by name.</summary>
    public Dictionary<string, TargetOptions> Targets { get; set; } = [];

    /// <summary>Stages; routes are served under <c>/{stage}/</c>. Default: no prefix.</summary>
    public List<StageOptions> Stages { get; set; } = [];

    /// <summary>The route table.</summary>
    public List<RouteOptions> Routes { get; set; } = [];
}

/// <summary>One listening socket.</summary>
public sealed class ListenerOptions
{
    /// <summary>host:port. Required.</summary>
    public string Address { get; set; } = "";

    /// <summary><c>http1</c>, <c>http2</c> or <c>http1AndHttp2</c> (default; h2c on plain listeners).</summary>
    public string Protocols { get; set; } = "http1AndHttp2";

    /// <summary>TLS settings. Default: plain text.</summary>
    public TlsOptions? Tls { get; set; }
}

public sealed class TlsOptions
{
    public List<CertificateOptions> Certificates { get; set; } = [];
}

public sealed class CertificateOptions
{
    public string Host { get; set; } = "";
    public string? Pem { get; set; }
    public string? Key { get; set; }
    public string? Pfx { get; set; }
    public string? Password { get; set; }
}

public sealed class AdminOptions
{
    /// <summary>host:port of the admin listener. Default: 127.0.0.1:9090.</summary>
    public string Listen { get; set; } = "127.0.0.1:9090";

    /// <summary>Bearer token required by /admin/*. Default: none (admin API disabled).</summary>
    public string? Token { get; set; }
}

public sealed class AwsOptions
{
    /// <summary>Region. Default: us-east-1.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>Access key id. Default: the SDK's credential chain.</summary>
    public string? AccessKeyId { get; set; }

    /// <summary>Secret key; use ${VAR} or ${file:PATH}.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>Optional session token.</summary>
    public string? SessionToken { get; set; }

    /// <summary>Service endpoints (sqs, s3, kinesis, dynamodb, lambda, stepfunctions). Default: AWS.</summary>
    public Dictionary<string, string> Endpoints { get; set; } = [];

    /// <summary>Create queues and streams named by targets at start. Default: false.</summary>
    public bool CreateMissing { get; set; }
}

public sealed class RedisOptions
{
    public string Endpoint { get; set; } = "";

    /// <summary><c>local</c> (default) or <c>deny</c>.</summary>
    public string OnFailure { get; set; } = "local";

    /// <summary>Longest wait for one Redis check before onFailure applies. Default: 250ms.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Prefix of every key the gateway writes to Redis. Default: <c>ingest:</c>.</summary>
    public string KeyPrefix { get; set; } = "ingest:";
}

public sealed class AccessLogOptions
{
    /// <summary><c>stdout</c> (default), <c>off</c>, or a file path.</summary>
    public string Path { get; set; } = "stdout";

    /// <summary>Rotate the file past this size. Default: 104857600 (100 MiB).</summary>
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Lines held while the sink is slow; beyond, lines are dropped and counted. Default: 65536.</summary>
    public int BufferLines { get; set; } = 65536;
}

public sealed class DefaultsOptions
{
    /// <summary>Largest accepted body. Default: 262144.</summary>
    public long MaxBodyBytes { get; set; } = 262144;

    /// <summary>Allowed content types. Default: application/json.</summary>
    public List<string> ContentTypes { get; set; } = ["application/json"];

    /// <summary><c>memory</c> (default), <c>durable</c> or <c>delivered</c>.</summary>
    public string Ack { get; set; } = "memory";

    /// <summary>Backend timeout. Default: 29s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(29);

    /// <summary>Largest body after Content-Encoding (gzip, deflate) is undone. Default: the route's maxBodyBytes.</summary>
    public long? MaxInflatedBytes { get; set; }

    /// <summary>Most events one split request (ndjson, array) may carry; more is 413. Default: 1000.</summary>
    public int MaxItems { get; set; } = 1000;
}

public sealed class MemoryOptions
{
    /// <summary>All queued events together; beyond it new requests get 503. Default: 134217728 (128 MiB).</summary>
    public long BufferBytes { get; set; } = 128L * 1024 * 1024;
}

public sealed class WalOptions
{
    /// <summary>Directory of the write-ahead log. Default: ./data/wal.</summary>
    public string Path { get; set; } = "./data/wal";

    /// <summary>Cap; full means 503. Default: 1073741824 (1 GiB).</summary>
    public long MaxBytes { get; set; } = 1L << 30;
}

public sealed class ThrottleOptions
{
    /// <summary>Tokens per second.</summary>
    public double Rate { get; set; }

    /// <summary>Bucket size.</summary>
    public double Burst { get; set; }

    /// <summary><c>route</c> (default), <c>apiKey</c>, <c>sourceIp</c> or <c>header:NAME</c>.</summary>
    public string By { get; set; } = "route";

    /// <summary>
    /// Keyed throttles (<c>by</c> other than route): most clients tracked at once; idle (full) buckets are
    /// dropped first, clients beyond share one bucket. Default: 100000.
    /// </summary>
    public int? MaxKeys { get; set; }
}

/// <summary>CIDR lists (IPv4 and IPv6, or single addresses). Deny wins; an empty allow list allows all.</summary>
public sealed class ResourcePolicyOptions
{
    public List<string> Allow { get; set; } = [];
    public List<string> Deny { get; set; } = [];
}

/// <summary>Kestrel limits of the public listeners. Every value has a default; 0 disables a data rate.</summary>
public sealed class LimitsOptions
{
    /// <summary>Most request headers; more is 431. Default: 100.</summary>
    public int MaxRequestHeaderCount { get; set; } = 100;

    /// <summary>Largest total size of the request headers; more is 431. Default: 32768 (32 KiB).</summary>
    public int MaxRequestHeadersTotalSize { get; set; } = 32 * 1024;

    /// <summary>Longest request line (method, target, version); longer is 414. Default: 8192 (8 KiB).</summary>
    public int MaxRequestLineSize { get; set; } = 8 * 1024;

    /// <summary>Time a client has to send all request headers (slowloris guard). Default: 10s.</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Idle time before a kept-alive connection is closed. Default: 130s.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(130);

    /// <summary>Slowest accepted request body upload in bytes per second, averaged after the grace period; 0 disables. Default: 240.</summary>
    public double MinRequestBodyDataRate { get; set; } = 240;

    /// <summary>Grace period of <see cref="MinRequestBodyDataRate"/>; above 1s. Default: 5s.</summary>
    public TimeSpan MinRequestBodyDataRateGracePeriod { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Slowest accepted response download in bytes per second (after a 5s grace period); 0 disables. Default: 240.</summary>
    public double MinResponseDataRate { get; set; } = 240;

    /// <summary>Open connections at most per listener; beyond, new ones are refused. Default: none (unlimited).</summary>
    public long? MaxConcurrentConnections { get; set; }
}

public sealed class ApiKeyOptions
{
    public string Id { get; set; } = "";
    public string Sha256 { get; set; } = "";
}

public sealed class UsagePlanOptions
{
    public string Name { get; set; } = "";
    public ThrottleOptions? Throttle { get; set; }
    public QuotaOptions? Quota { get; set; }
    public List<string> Keys { get; set; } = [];
}

public sealed class QuotaOptions
{
    public long Limit { get; set; }

    /// <summary><c>day</c>, <c>week</c> or <c>month</c>.</summary>
    public string Period { get; set; } = "day";
}

public sealed class IamKeyOptions
{
    public string AccessKeyId { get; set; } = "";
    public string SecretAccessKey { get; set; } = "";
}

public sealed class HmacKeyOptions
{
    public string Id { get; set; } = "";
    public string Secret { get; set; } = "";
}

public sealed class IamOptions
{
    /// <summary>Largest accepted difference between X-Amz-Date and the gateway clock. Default: 5m.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(5);
}

public sealed class HmacOptions
{
    /// <summary>Timestamps further than this from the gateway clock are refused, and a signature is remembered this long so it cannot be replayed. Default: 5m.</summary>
    public TimeSpan ReplayWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Signatures remembered at most; when full of unexpired ones, new requests get 503 rather than risk a replay. Default: 1000000.</summary>
    public int ReplayCacheEntries { get; set; } = 1_000_000;
}

public sealed class AuthorizerOptions
{
    /// <summary><c>jwt</c>, <c>http</c> or <c>lambda</c>.</summary>
    public string Type { get; set; } = "";
    public string? Issuer { get; set; }
    public string? Audience { get; set; }
    public string? Jwks { get; set; }
    public string? Url { get; set; }
    public string? Function { get; set; }
    public string? IdentitySource { get; set; }
    public TimeSpan? CacheTtl { get; set; }

    /// <summary>jwt: how often the JWKS (and discovery document) is fetched again. Default: 10m.</summary>
    public TimeSpan? RefreshInterval { get; set; }

    /// <summary>jwt: tolerance on exp and nbf. Default: 5m.</summary>
    public TimeSpan? ClockSkew { get; set; }

    /// <summary>http, lambda: longest wait for the authorizer (also JWKS fetches for jwt). Default: 10s.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>http, lambda: cached results at most (per authorizer). Default: 10000.</summary>
    public int? CacheEntries { get; set; }
}

/// <summary>A backend. Which keys apply depends on <see cref="Type"/>.</summary>
public sealed class TargetOptions
{
    /// <summary>Target kind: sqs, kinesis, blackhole, http, lambda, dynamodb, s3, stepfunctions.</summary>
    public string Type { get; set; } = "";

    /// <summary>sqs: queue name or URL; names ending .fifo are FIFO queues.</summary>
    public string? Queue { get; set; }

    /// <summary>sqs FIFO: <c>header:NAME</c> or <c>json:FIELD</c>. Default: the route key.</summary>
    public string? MessageGroupId { get; set; }

    /// <summary>kinesis: stream name.</summary>
    public string? Stream { get; set; }

    /// <summary>kinesis: <c>header:NAME</c>, <c>json:FIELD</c> or <c>random</c> (default).</summary>
    public string? PartitionKey { get; set; }

    /// <summary>Largest record or message, envelope included. Default: 1048576 (1 MiB).</summary>
    public long? MaxRecordBytes { get; set; }

    /// <summary>Batching. Defaults depend on the kind.</summary>
    public BatchOptions? Batch { get; set; }

    /// <summary>Retries of failed entries.</summary>
    public RetryOptions? Retry { get; set; }

    /// <summary>Where events go after the last attempt or a sender fault.</summary>
    public DeadLetterOptions? DeadLetter { get; set; }

    /// <summary>Queued events per target before 503. Default: 100000.</summary>
    public int? ChannelCapacity { get; set; }

    /// <summary>http: backend URL.</summary>
    public string? Url { get; set; }

    /// <summary>Backend timeout; precedence route &gt; target &gt; defaults.</summary>
    public TimeSpan? Timeout { get; set; }
}

public sealed class BatchOptions
{
    /// <summary>Entries per batch. Default: the service maximum (SQS 10, Kinesis 500).</summary>
    public int? MaxRecords { get; set; }

    /// <summary>Bytes per batch. Default: the service maximum (SQS 1 MiB, Kinesis 5 MiB).</summary>
    public long? MaxBytes { get; set; }

    /// <summary>Longest wait for a batch to fill. Default: 20ms.</summary>
    public TimeSpan? Linger { get; set; }

    /// <summary>Batches sent at once. Default: 8.</summary>
    public int? MaxInFlight { get; set; }
}

public sealed class RetryOptions
{
    /// <summary>Attempts per entry, the first included. Default: 8.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>First backoff delay. Default: 100ms.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest backoff delay. Default: 20s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(20);
}

public sealed class DeadLetterOptions
{
    /// <summary><c>file</c> (spill file), or empty when <see cref="Target"/> is set.</summary>
    public string? Type { get; set; }

    /// <summary>Spill directory for <c>type: file</c>. Default: ./data/spill.</summary>
    public string? Path { get; set; }

    /// <summary>Another target that receives dead letters.</summary>
    public string? Target { get; set; }
}

public sealed class StageOptions
{
    public string Name { get; set; } = "";
    public Dictionary<string, string> Variables { get; set; } = [];
    public ThrottleOptions? Throttle { get; set; }
}

public sealed class CorsOptions
{
    public List<string> Origins { get; set; } = [];
    public List<string> Methods { get; set; } = [];
    public List<string> Headers { get; set; } = [];
    public int? MaxAge { get; set; }
    public bool Credentials { get; set; }

    /// <summary>Response headers the browser lets scripts read (Access-Control-Expose-Headers). Default: none.</summary>
    public List<string> ExposeHeaders { get; set; } = [];
}

public sealed class IdempotencyOptions
{
    public string Header { get; set; } = "Idempotency-Key";
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);
}

/// <summary>One route: <c>METHOD /path/{param}/{proxy+}</c> to a target.</summary>
public sealed class RouteOptions
{
    /// <summary>Route key, e.g. <c>POST /v1/events</c>; method ANY matches every method.</summary>
    public string Route { get; set; } = "";

    /// <summary>Target name.</summary>
    public string Target { get; set; } = "";

    /// <summary>Authentication kinds, all must pass: none, apiKey, iam, hmac or an authorizer name.</summary>
    public List<string> Auth { get; set; } = [];

    /// <summary>Required with <c>auth: none</c>.</summary>
    public bool Public { get; set; }

    public ThrottleOptions? Throttle { get; set; }
    public CorsOptions? Cors { get; set; }
    public List<string>? Scopes { get; set; }

    /// <summary><c>none</c> (default), <c>ndjson</c> or <c>array</c>.</summary>
    public string Split { get; set; } = "none";

    /// <summary>Default: defaults.contentTypes.</summary>
    public List<string>? ContentTypes { get; set; }

    /// <summary>Default: defaults.maxBodyBytes.</summary>
    public long? MaxBodyBytes { get; set; }

    /// <summary>Largest body after Content-Encoding is undone. Default: defaults.maxInflatedBytes, else this route's maxBodyBytes.</summary>
    public long? MaxInflatedBytes { get; set; }

    /// <summary>Split routes: most events per request. Default: defaults.maxItems (1000).</summary>
    public int? MaxItems { get; set; }

    /// <summary><c>none</c> (default) or <c>json</c>: refuse bodies (or split items) that are not valid JSON with 400.</summary>
    public string Validate { get; set; } = "none";

    /// <summary>JSON schema every body (or split item) must match: <c>file:PATH</c> or the schema inline. Implies <c>validate: json</c>. Default: none.</summary>
    public string? Schema { get; set; }

    /// <summary>CIDR allow/deny lists of this route, on top of the gateway's. Default: none.</summary>
    public ResourcePolicyOptions? ResourcePolicy { get; set; }

    /// <summary>Default: defaults.ack.</summary>
    public string? Ack { get; set; }

    /// <summary>Default: target timeout, then defaults.timeout.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Request headers copied into the event envelope. Default: none.</summary>
    public List<string> Headers { get; set; } = [];

    public IdempotencyOptions? Idempotency { get; set; }
}
