namespace Ingest.Core.Configuration;

// The YAML file, key by key (see ingest.example.yaml). These classes are the parsed text only:
// ConfigValidator checks them and GatewaySnapshot turns them into the immutable runtime form.
// Property names are the YAML keys in camelCase; unknown keys are rejected by ConfigLoader.

/// <summary>The whole configuration file.</summary>
public sealed class IngestConfig
{
    private HashSet<string>? _referencedKeys;

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

    /// <summary>
    /// Longest time from SIGTERM to exit: in-flight requests finish, queued events are sent, the
    /// access log is flushed; events still undelivered then go to the spill file. Default: 25s
    /// (inside the usual 30s grace period between SIGTERM and SIGKILL).
    /// </summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Write-ahead log for routes with <c>ack: durable</c>.</summary>
    public WalOptions Wal { get; set; } = new();

    /// <summary>Gateway-wide token bucket. Default: none.</summary>
    public ThrottleOptions? Throttle { get; set; }

    /// <summary>CIDR allow and deny lists for the whole gateway. Default: allow all.</summary>
    public ResourcePolicyOptions ResourcePolicy { get; set; } = new();

    /// <summary>Proxies whose X-Forwarded-For is believed. Default: none.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Request firewall rules (block, count, rateBlock) and the built-in rule sets' settings. Default: no rules.</summary>
    public Firewall.FirewallOptions Firewall { get; set; } = new();

    /// <summary>Connection and header limits of the public listeners (slow clients, header floods).</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>
    /// Content types whose bodies are binary (e.g. <c>image/png</c>, <c>application/octet-stream</c>,
    /// <c>image/*</c>): passed through as exact bytes, base64-encoded where a target needs text and
    /// decoded on the way back. Default: none.
    /// </summary>
    public List<string> BinaryMediaTypes { get; set; } = [];

    /// <summary>Response cache used by routes with <c>cache:</c> when there are no stages (stages have their own). Default: none.</summary>
    public StageCacheOptions? Cache { get; set; }

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

    /// <summary>Stages; routes are served under <c>/{stage}/</c>. Default: none (routes have no prefix).</summary>
    public List<StageOptions> Stages { get; set; } = [];

    /// <summary>Deploy the configuration file again whenever it changes on disk (a bad file is logged and the old one keeps serving). Default: false.</summary>
    public bool Watch { get; set; }

    /// <summary>Where deployments are recorded and how file changes are picked up.</summary>
    public DeploymentsOptions Deployments { get; set; } = new();

    /// <summary>Custom domains: host name and base path mapped to a stage. Default: none (paths are used as sent).</summary>
    public List<DomainOptions> Domains { get; set; } = [];

    /// <summary>WebSocket API settings, used when routes of kind <c>WEBSOCKET</c> exist (see docs/websocket.md).</summary>
    public WebSocketOptions WebSocket { get; set; } = new();

    /// <summary>The route table.</summary>
    public List<RouteOptions> Routes { get; set; } = [];

    /// <summary>
    /// True when the value at <paramref name="key"/> (e.g. <c>listen[0].tls.certificates[0].password</c>)
    /// was written as <c>${VAR}</c> or <c>${file:PATH}</c> rather than as the value itself.
    /// </summary>
    public bool IsReference(string key) => _referencedKeys?.Contains(key) == true;

    internal void SetReferencedKeys(HashSet<string> keys) => _referencedKeys = keys;
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

/// <summary>
/// TLS of one listener: certificates chosen by the name the client asks for (SNI), TLS 1.2 or newer,
/// HTTP/2 by ALPN. Certificate files are read again when they change; a bad new file keeps the old one.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>
    /// Certificates by host name. The first one is also served to clients that send no name (or a
    /// name no certificate matches). Required: at least one.
    /// </summary>
    public List<CertificateOptions> Certificates { get; set; } = [];

    /// <summary>Oldest TLS version accepted: <c>tls12</c> (default) or <c>tls13</c>.</summary>
    public string MinVersion { get; set; } = "tls12";

    /// <summary>
    /// host:port of a plain-HTTP listener that answers every request with a redirect to this
    /// listener (301 for GET and HEAD, 308 otherwise, so bodies are re-sent). Default: none.
    /// </summary>
    public string? RedirectHttp { get; set; }

    /// <summary>Strict-Transport-Security on every response of this listener. Default: none (no header).</summary>
    public HstsOptions? Hsts { get; set; }

    /// <summary>How often the certificate files are checked for changes. Default: 10s.</summary>
    public TimeSpan ReloadInterval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// One certificate: a PEM certificate (with its chain) and key, or a PKCS#12 (.pfx) file.
/// Relative paths resolve against the working directory.
/// </summary>
public sealed class CertificateOptions
{
    /// <summary>
    /// Host name this certificate is served for: <c>api.example.com</c>, or <c>*.example.com</c> for
    /// every name one label below. Default: the DNS names in the certificate itself.
    /// </summary>
    public string Host { get; set; } = "";

    /// <summary>PEM file: the certificate first, then any intermediate certificates. Use with <see cref="Key"/>.</summary>
    public string? Pem { get; set; }

    /// <summary>PEM private key (PKCS#8, RSA or EC; encrypted when <see cref="Password"/> is set). Default: the key in the <see cref="Pem"/> file.</summary>
    public string? Key { get; set; }

    /// <summary>PKCS#12 file with the certificate, its key and chain; instead of pem and key.</summary>
    public string? Pfx { get; set; }

    /// <summary>Password of the pfx file or the encrypted key; only as <c>${VAR}</c> or <c>${file:PATH}</c>. Default: none.</summary>
    public string? Password { get; set; }
}

/// <summary>HTTP Strict Transport Security: browsers use only HTTPS for the host afterwards.</summary>
public sealed class HstsOptions
{
    /// <summary>How long browsers remember it (max-age). Default: 365d.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Also for every subdomain (includeSubDomains). Default: false.</summary>
    public bool IncludeSubDomains { get; set; }

    /// <summary>Ask to be put on the browsers' preload list (preload; needs includeSubDomains and 365d or more). Default: false.</summary>
    public bool Preload { get; set; }
}

/// <summary>
/// A custom domain mapping: requests for <see cref="Host"/> whose path starts with
/// <see cref="BasePath"/> are served as <c>/{stage}/rest</c> (or <c>/rest</c> without a stage).
/// On a mapped host, a path under no mapped base path is refused (http-v2: 404, rest-v1: 403).
/// </summary>
public sealed class DomainOptions
{
    /// <summary>Host name (the Host header without port), or <c>*.example.com</c>. Required.</summary>
    public string Host { get; set; } = "";

    /// <summary>First path segment(s) of this mapping, e.g. <c>v2</c> or <c>v2/beta</c>. Default: empty (every path on the host).</summary>
    public string BasePath { get; set; } = "";

    /// <summary>Stage the requests are served from; must be one of <c>stages</c>. Default: none (the path without prefix).</summary>
    public string? Stage { get; set; }
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

    /// <summary>Service endpoints (sqs, s3, kinesis, dynamodb, lambda, stepfunctions, and stepfunctionsSync for StartSyncExecution, served by AWS on sync-states.REGION). Default: AWS.</summary>
    public Dictionary<string, string> Endpoints { get; set; } = [];

    /// <summary>Create queues and streams named by targets at start. Default: false.</summary>
    public bool CreateMissing { get; set; }
}

public sealed class RedisOptions
{
    /// <summary>host:port of the Redis server all instances share. Required.</summary>
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

    /// <summary>When async routes answer 202: <c>memory</c> once queued, <c>durable</c> once fsync'd to the write-ahead log (<c>wal:</c>), <c>delivered</c> once the backend confirmed (502 if it refused, 504/503 at the timeout). Default: memory.</summary>
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
    /// <summary>
    /// All queued events together; beyond it new requests get 503. Default: 134217728 (128 MiB).
    /// An event counts what it holds in memory while queued, not just its body: the body plus about
    /// 400 bytes of envelope (event object, client address, content type, traceparent, queue slot),
    /// plus its kept headers: an event with a 100-byte body counts about 500 bytes. The process needs
    /// memory beyond this for the runtime, loaded code and garbage-collector headroom.
    /// </summary>
    public long BufferBytes { get; set; } = 128L * 1024 * 1024;
}

public sealed class WalOptions
{
    /// <summary>Directory of the write-ahead log. Default: ./data/wal.</summary>
    public string Path { get; set; } = "./data/wal";

    /// <summary>Cap on all segment files together; when full, durable routes answer 503 with Retry-After (never loss). Default: 1073741824 (1 GiB).</summary>
    public long MaxBytes { get; set; } = 1L << 30;

    /// <summary>Size at which a segment file is closed and a new one started; a segment is deleted once all its events are delivered or dead-lettered. Default: 67108864 (64 MiB), at most maxBytes.</summary>
    public long SegmentBytes { get; set; } = 64L << 20;
}

public sealed class ThrottleOptions
{
    /// <summary>Tokens per second. Required.</summary>
    public double Rate { get; set; }

    /// <summary>Bucket size: requests accepted at once after a quiet period. Required.</summary>
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
    /// <summary>Addresses allowed. Default: none (all allowed).</summary>
    public List<string> Allow { get; set; } = [];

    /// <summary>Addresses refused with 403, even when also allowed. Default: none.</summary>
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
    /// <summary>Name of the key, shown in the access log (apiKeyId) and used by usage plans. Required.</summary>
    public string Id { get; set; } = "";

    /// <summary>SHA-256 of the key, 64 hex digits (<c>ingest keys new</c> prints it); the key itself is never stored. Required.</summary>
    public string Sha256 { get; set; } = "";
}

public sealed class UsagePlanOptions
{
    /// <summary>Name of the plan. Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>Token bucket per API key of the plan. Default: none.</summary>
    public ThrottleOptions? Throttle { get; set; }

    /// <summary>Requests per key per period; used up means 429 <c>Limit Exceeded</c>. Default: none.</summary>
    public QuotaOptions? Quota { get; set; }

    /// <summary>Ids of the API keys (<c>apiKeys[].id</c>) on this plan. Default: none.</summary>
    public List<string> Keys { get; set; } = [];
}

public sealed class QuotaOptions
{
    /// <summary>Requests per key per period. Required.</summary>
    public long Limit { get; set; }

    /// <summary><c>day</c>, <c>week</c> or <c>month</c>.</summary>
    public string Period { get; set; } = "day";
}

public sealed class IamKeyOptions
{
    /// <summary>Access key id clients sign with. Required.</summary>
    public string AccessKeyId { get; set; } = "";

    /// <summary>Its secret key; give it as <c>${VAR}</c> or <c>${file:PATH}</c>. Required.</summary>
    public string SecretAccessKey { get; set; } = "";
}

public sealed class HmacKeyOptions
{
    /// <summary>Device id the client sends with its signature. Required.</summary>
    public string Id { get; set; } = "";

    /// <summary>Shared secret of the device; give it as <c>${VAR}</c> or <c>${file:PATH}</c>. Required.</summary>
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

    /// <summary>jwt: required <c>iss</c> of tokens; also where OIDC discovery looks when <see cref="Jwks"/> is not set. Required for jwt.</summary>
    public string? Issuer { get; set; }

    /// <summary>jwt: required <c>aud</c> of tokens. Required for jwt.</summary>
    public string? Audience { get; set; }

    /// <summary>jwt: key set as <c>file:PATH</c> or an http(s) URL. Default: found by OIDC discovery from the issuer.</summary>
    public string? Jwks { get; set; }

    /// <summary>http: URL of the authorizer. Required for http.</summary>
    public string? Url { get; set; }

    /// <summary>lambda: function name or ARN. Required for lambda.</summary>
    public string? Function { get; set; }

    /// <summary>http, lambda: where the identity is read, <c>header:NAME</c>. Default: header:authorization.</summary>
    public string? IdentitySource { get; set; }

    /// <summary>http, lambda: how long an answer is cached per identity; 0 disables. Default: 300s.</summary>
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

    /// <summary>kinesis: per-shard pacing under the shards' write limits. Default: on, with the Kinesis limits.</summary>
    public KinesisShardOptions? Shards { get; set; }

    /// <summary>Batching. Defaults depend on the kind.</summary>
    public BatchOptions? Batch { get; set; }

    /// <summary>Retries of failed entries.</summary>
    public RetryOptions? Retry { get; set; }

    /// <summary>Where events go after the last attempt or a sender fault.</summary>
    public DeadLetterOptions? DeadLetter { get; set; }

    /// <summary>Pauses sends while the backend keeps failing. Default: on, with the defaults of <see cref="CircuitBreakerOptions"/>.</summary>
    public CircuitBreakerOptions? CircuitBreaker { get; set; }

    /// <summary>Queued events per target before 503. Default: 100000.</summary>
    public int? ChannelCapacity { get; set; }

    /// <summary>http: backend URL.</summary>
    public string? Url { get; set; }

    /// <summary>Backend timeout; precedence route &gt; target &gt; defaults.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>sqs, kinesis: events too big for the target are stored in S3 and a pointer is sent instead. Default: none (413).</summary>
    public ClaimCheckOptions? ClaimCheck { get; set; }

    /// <summary>http: several backend URLs, load-balanced (instead of <see cref="Url"/>). Default: none.</summary>
    public List<string>? Destinations { get; set; }

    /// <summary>http with several destinations: <c>roundRobin</c>, <c>powerOfTwoChoices</c>, <c>leastRequests</c>, <c>random</c>. Default: powerOfTwoChoices.</summary>
    public string? LoadBalancing { get; set; }

    /// <summary>http: active health checks of the destinations. Default: none (passive only).</summary>
    public HealthCheckOptions? HealthCheck { get; set; }

    /// <summary>http: request headers set or removed before the call. Default: none.</summary>
    public HeaderRewriteOptions? RequestHeaders { get; set; }

    /// <summary>http: response headers set or removed before the client gets them. Default: none.</summary>
    public HeaderRewriteOptions? ResponseHeaders { get; set; }

    /// <summary>lambda: function name or ARN (with an optional <c>:alias</c>).</summary>
    public string? Function { get; set; }

    /// <summary>lambda: proxy event format, <c>1.0</c> (REST API) or <c>2.0</c> (HTTP API). Default: 2.0, or 1.0 with compat rest-v1.</summary>
    public string? PayloadFormat { get; set; }

    /// <summary>lambda: <c>RequestResponse</c> (wait for the result) or <c>Event</c> (async, answered 202). Default: RequestResponse.</summary>
    public string? InvocationType { get; set; }

    /// <summary>dynamodb: table name.</summary>
    public string? Table { get; set; }

    /// <summary>dynamodb: <c>PutItem</c>, <c>GetItem</c>, <c>Query</c>, <c>UpdateItem</c> or <c>DeleteItem</c>; the route's requestTemplate renders the call's JSON.</summary>
    public string? Action { get; set; }

    /// <summary>s3: bucket name.</summary>
    public string? Bucket { get; set; }

    /// <summary>s3: object key with path parameters, e.g. <c>uploads/{id}</c>. Default: the greedy <c>{proxy+}</c> parameter.</summary>
    public string? Key { get; set; }

    /// <summary>stepfunctions: state machine ARN.</summary>
    public string? StateMachineArn { get; set; }

    /// <summary>stepfunctions: <c>true</c> runs an express workflow with <c>StartSyncExecution</c> and answers with its output. Default: false (<c>StartExecution</c>, answered with the execution ARN).</summary>
    public bool Sync { get; set; }
}

/// <summary>Active health checks of an http target's destinations.</summary>
public sealed class HealthCheckOptions
{
    /// <summary>Path probed with GET on each destination; 2xx is healthy. Default: /health.</summary>
    public string Path { get; set; } = "/health";

    /// <summary>Time between probes. Default: 5s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Probe timeout. Default: 2s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>Headers changed on the way through. Values may use <c>${stageVariables.NAME}</c>.</summary>
public sealed class HeaderRewriteOptions
{
    /// <summary>Headers set (replacing any value). Default: none.</summary>
    public Dictionary<string, string> Set { get; set; } = [];

    /// <summary>Headers removed. Default: none.</summary>
    public List<string> Remove { get; set; } = [];
}

/// <summary>Response cache of a stage (API Gateway's stage cache).</summary>
public sealed class StageCacheOptions
{
    /// <summary>Total bytes of cached responses; the least recently used go first. Default: 67108864 (64 MiB).</summary>
    public long MaxBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Time to live of an entry, at most 3600s. Default: 300s.</summary>
    public TimeSpan Ttl { get; set; } = TimeSpan.FromSeconds(300);
}

/// <summary>Caching of one route's responses (needs a stage with <c>cache:</c>, or the gateway-wide <c>cache:</c> without stages).</summary>
public sealed class RouteCacheOptions
{
    /// <summary>Cache this route's 2xx responses. Default: true when the block is present.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time to live, at most 3600s. Default: the stage's ttl.</summary>
    public TimeSpan? Ttl { get; set; }

    /// <summary>What the cache key is made of besides method and path: <c>path:NAME</c>, <c>query:NAME</c>, <c>header:NAME</c>. Default: path parameters only.</summary>
    public List<string> Keys { get; set; } = [];

    /// <summary>Clients may skip the cache with <c>Cache-Control: max-age=0</c>. Default: false.</summary>
    public bool AllowBypass { get; set; }
}

/// <summary>
/// Claim check: an event larger than <see cref="ThresholdBytes"/>, or than the target accepts, is
/// stored in S3 (endpoint <c>aws.endpoints.s3</c>) and the target gets
/// <c>{"claimCheck":{"bucket","key","bytes","sha256","contentType"}}</c> with the same event id and
/// envelope. The key is <see cref="Prefix"/> + the event id. The client's 202 comes only after the object is stored.
/// </summary>
public sealed class ClaimCheckOptions
{
    /// <summary>S3 bucket. Required; created at first use when <c>aws.createMissing</c> is true.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>Start of every object key. Default: claims/.</summary>
    public string Prefix { get; set; } = "claims/";

    /// <summary>Bodies larger than this go to S3 even when the target would take them. Default: the target's record limit (maxRecordBytes).</summary>
    public long? ThresholdBytes { get; set; }
}

/// <summary>
/// kinesis: records are mapped to their shard (MD5 of the partition key against the shards' hash key
/// ranges) and each shard is sent at most its write limit, so a hot partition key is slowed down
/// here instead of being refused by Kinesis.
/// </summary>
public sealed class KinesisShardOptions
{
    /// <summary>Pace records per shard. Default: true. Off: records are sent as they come and Kinesis throttles.</summary>
    public bool Pace { get; set; } = true;

    /// <summary>Records per second one shard accepts. Default: 1000 (the Kinesis limit).</summary>
    public int RecordsPerSecond { get; set; } = 1000;

    /// <summary>Bytes per second one shard accepts (data plus partition key). Default: 1048576 (1 MiB, the Kinesis limit).</summary>
    public long BytesPerSecond { get; set; } = 1024 * 1024;

    /// <summary>How often the shard map is read again with ListShards (it is also read on throttling or an unknown shard). Default: 60s.</summary>
    public TimeSpan Refresh { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest a batch waits for its shards' budget before the rest goes back to the writer's retries. Default: 10s.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);
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

/// <summary>
/// Circuit breaker of one target: opens when at least <see cref="FailureRatio"/> of the sends in
/// <see cref="SamplingDuration"/> failed as a whole (and there were at least <see cref="MinimumThroughput"/>);
/// while open no batch is sent and queued events wait (a full buffer answers 503); after
/// <see cref="BreakDuration"/> one probe batch is sent (half-open) and its outcome closes or reopens it.
/// Sends refused by an open circuit, and failed sends that open it, do not use up an event's retry attempts.
/// </summary>
public sealed class CircuitBreakerOptions
{
    /// <summary>False turns the breaker off: every batch is sent and retried on its own. Default: true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Share of failed sends (0 to 1, above 0) that opens the circuit. Default: 0.5.</summary>
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Fewest sends in the sampling window before the ratio counts (at least 2). Default: 10.</summary>
    public int MinimumThroughput { get; set; } = 10;

    /// <summary>Window over which the failure ratio is measured (at least 500ms); short, so earlier successes do not hide a backend that just went down. Default: 10s.</summary>
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time the circuit stays open before a probe (at least 500ms). Default: 5s.</summary>
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(5);
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

/// <summary>One stage: every route is served under <c>/{name}/...</c> (and without prefix on its <see cref="Hosts"/>).</summary>
public sealed class StageOptions
{
    /// <summary>Path prefix: letters, digits, '-' and '_'. Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>Stage variables, read as <c>${stageVariables.NAME}</c> in target settings and by templates. Default: none.</summary>
    public Dictionary<string, string> Variables { get; set; } = [];

    /// <summary>Token bucket shared by every route of this stage (after the gateway's, before the route's). Default: none.</summary>
    public ThrottleOptions? Throttle { get; set; }

    /// <summary>Host names (the request's Host header without port) on which this stage is served without the prefix. Default: none.</summary>
    public List<string> Hosts { get; set; } = [];

    /// <summary>Response cache of this stage, used by routes with <c>cache:</c>. Default: none.</summary>
    public StageCacheOptions? Cache { get; set; }
}

/// <summary>Recorded deployments (<c>ingest deploy</c>, <c>ingest rollback</c>, <c>watch: true</c>).</summary>
public sealed class DeploymentsOptions
{
    /// <summary>Directory of the numbered, immutable deployment records. Default: ./data/deployments.</summary>
    public string Path { get; set; } = "./data/deployments";

    /// <summary>With <c>watch: true</c>: quiet time after the last change to the file before it is deployed. Default: 500ms.</summary>
    public TimeSpan WatchDebounce { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest wait for requests still running on a replaced configuration before its removed or changed targets are drained anyway. Default: 30s.</summary>
    public TimeSpan RetireTimeout { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class CorsOptions
{
    /// <summary>Origins allowed (<c>https://app.example</c>, or <c>*</c>). Default: none.</summary>
    public List<string> Origins { get; set; } = [];

    /// <summary>Methods allowed in preflight answers (<c>*</c>: any). Default: none (the methods of the route).</summary>
    public List<string> Methods { get; set; } = [];

    /// <summary>Request headers allowed in preflight answers (<c>*</c>: any). Default: none (only CORS-safelisted headers).</summary>
    public List<string> Headers { get; set; } = [];

    /// <summary>Seconds a browser may cache the preflight answer (Access-Control-Max-Age). Default: none (not sent).</summary>
    public int? MaxAge { get; set; }

    /// <summary>Allow cookies and credentials (Access-Control-Allow-Credentials). Default: false.</summary>
    public bool Credentials { get; set; }

    /// <summary>Response headers the browser lets scripts read (Access-Control-Expose-Headers). Default: none.</summary>
    public List<string> ExposeHeaders { get; set; } = [];
}

/// <summary>
/// Idempotency keys of a route: a request whose key was answered with a 2xx within the window gets
/// that first answer again (header <c>Idempotent-Replayed: true</c>) and its events are not queued again.
/// Keys are scoped by route and client (API key id, else the authenticated principal). A duplicate
/// arriving while the first request runs gets 409 with Retry-After: 1; a request that never ends
/// (the instance crashed) holds its key for at most the route's timeout (default 29s).
/// </summary>
public sealed class IdempotencyOptions
{
    /// <summary>Request header carrying the key (1..255 characters). Default: Idempotency-Key.</summary>
    public string Header { get; set; } = "Idempotency-Key";

    /// <summary>How long an answer is remembered. Default: 10m.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Keys remembered at most by one instance for this route (without <c>redis:</c>, or while Redis is down); when full, the oldest answers are forgotten first. Default: 100000.</summary>
    public int MaxKeys { get; set; } = 100_000;
}

/// <summary>
/// The WebSocket API: clients upgrade on <see cref="Path"/> (per stage <c>/{stage}/ws</c>); routes
/// <c>WEBSOCKET $connect</c> (authentication, on the upgrade request), <c>WEBSOCKET $disconnect</c>,
/// <c>WEBSOCKET $default</c> and <c>WEBSOCKET KEY</c> (chosen by <see cref="RouteSelection"/>) send
/// each message as an event to their target and answer it with an ack or error frame.
/// </summary>
public sealed class WebSocketOptions
{
    /// <summary>Upgrade path, served per stage as <c>/{stage}/ws</c>. Default: /ws.</summary>
    public string Path { get; set; } = "/ws";

    /// <summary>
    /// Route selection expression: <c>json:FIELD</c> (or AWS's <c>$request.body.FIELD</c>; dots for
    /// nested fields) names the JSON field whose value is the route key of a message. A message that is
    /// not JSON, lacks the field or names no route goes to <c>$default</c>. Default: none (every
    /// message goes to <c>$default</c>).
    /// </summary>
    public string? RouteSelection { get; set; }

    /// <summary>A connection that sent no message for this long is closed (1001 Going Away). Default: 10m (as API Gateway).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest life of a connection; then it is closed (1001 Going Away). Default: 2h (as API Gateway).</summary>
    public TimeSpan MaxConnectionDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>
    /// Largest message, all its frames together; a larger one gets an error frame (413) and the
    /// connection is closed with 1009 Message Too Big. Also the largest @connections push. Default: 131072 (128 KiB, as API Gateway).
    /// </summary>
    public int MaxMessageBytes { get; set; } = 128 * 1024;

    /// <summary>Open connections per instance; upgrades beyond it get 503. Default: 10000.</summary>
    public int MaxConnections { get; set; } = 10_000;

    /// <summary>
    /// Query parameter whose value is used as <c>Authorization: Bearer &lt;value&gt;</c> on an upgrade
    /// request that has no Authorization header, for browsers (which cannot set headers on a
    /// WebSocket), e.g. <c>access_token</c>. Default: none.
    /// </summary>
    public string? QueryToken { get; set; }
}

/// <summary>One route: <c>METHOD /path/{param}/{proxy+}</c> to a target.</summary>
public sealed class RouteOptions
{
    /// <summary>Route key, e.g. <c>POST /v1/events</c>; method ANY matches every method. WebSocket routes: <c>WEBSOCKET $connect</c>, <c>WEBSOCKET $default</c>, <c>WEBSOCKET KEY</c>.</summary>
    public string Route { get; set; } = "";

    /// <summary>Target name.</summary>
    public string Target { get; set; } = "";

    /// <summary>Authentication kinds, all must pass: none, apiKey, iam, hmac or an authorizer name.</summary>
    public List<string> Auth { get; set; } = [];

    /// <summary>Required with <c>auth: none</c>.</summary>
    public bool Public { get; set; }

    /// <summary>Token bucket of this route (after the gateway's and the stage's). Default: none.</summary>
    public ThrottleOptions? Throttle { get; set; }

    /// <summary>CORS preflight and response headers. Default: none (no CORS headers).</summary>
    public CorsOptions? Cors { get; set; }

    /// <summary>jwt authorizers: scopes the token must all carry (<c>scope</c> or <c>scp</c> claim). Default: none.</summary>
    public List<string>? Scopes { get; set; }

    /// <summary><c>none</c> (default), <c>ndjson</c> or <c>array</c>.</summary>
    public string Split { get; set; } = "none";

    /// <summary>Content types accepted; others get 415. Default: defaults.contentTypes.</summary>
    public List<string>? ContentTypes { get; set; }

    /// <summary>Largest body as sent; larger gets 413. Default: defaults.maxBodyBytes.</summary>
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

    /// <summary>Ids of <c>firewall.rules</c> checked for this route, after <c>firewall.gateway</c>'s. Default: none.</summary>
    public List<string>? Firewall { get; set; }

    /// <summary>Built-in rule sets checked for this route: <c>sqli</c>, <c>xss</c>. Default: none.</summary>
    public List<string>? ManagedRules { get; set; }

    /// <summary>When the client gets its 202: <c>memory</c>, <c>durable</c> or <c>delivered</c>. Default: defaults.ack.</summary>
    public string? Ack { get; set; }

    /// <summary>Backend timeout. Default: target timeout, then defaults.timeout.</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>Request headers copied into the event envelope. Default: none.</summary>
    public List<string> Headers { get; set; } = [];

    /// <summary>Idempotency keys: a repeated key gets the first answer again. Default: none.</summary>
    public IdempotencyOptions? Idempotency { get; set; }

    /// <summary>Sync targets: Liquid template rendering the backend request from the client's (body, params, stage variables, context). Default: none (pass through).</summary>
    public string? RequestTemplate { get; set; }

    /// <summary>Sync targets: Liquid template rendering the client's response body from the backend's. Default: none (pass through).</summary>
    public string? ResponseTemplate { get; set; }

    /// <summary>Sync targets: cache this route's responses in the stage cache. Default: none.</summary>
    public RouteCacheOptions? Cache { get; set; }
}
