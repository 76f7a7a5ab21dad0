using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Ingest.Core.Integration;
using Ingest.Core.Templates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;

namespace Ingest.Targets.S3.Objects;

/// <summary>
/// <c>type: s3</c>: the request method decides the call on object <c>bucket</c>/<c>key</c>.
/// <list type="bullet">
/// <item>PUT, POST: PutObject with the body bytes as received and the request's Content-Type
/// (default <c>application/octet-stream</c>); answered 200 <c>{"bucket","key","etag"}</c> with an <c>ETag</c> header.</item>
/// <item>GET: GetObject; the object's bytes, Content-Type, ETag and Last-Modified.</item>
/// <item>HEAD: the same headers (Content-Length the object's) without the body.</item>
/// <item>DELETE: DeleteObject; 204.</item>
/// </list>
/// A missing object is 404 <c>{"message":"Not Found"}</c>; a key that is empty or has <c>.</c>/<c>..</c>
/// segments is 400. Objects up to <see cref="MaxBufferedBytes"/> are handed to the gateway; larger
/// ones are streamed to the client, unless the route needs the whole answer (response template,
/// cache), where they are refused with 502.
/// </summary>
public sealed partial class S3ObjectTarget : ISyncTarget
{
    /// <summary>Largest object returned through the gateway's buffered path (API Gateway's payload limit).</summary>
    public const int MaxBufferedBytes = 10 * 1024 * 1024;

    private const string DefaultContentType = "application/octet-stream";
    private static readonly byte[] NotFoundBody = """{"message":"Not Found"}"""u8.ToArray();
    private static readonly byte[] MethodNotAllowedBody = """{"message":"Method Not Allowed"}"""u8.ToArray();
    private static readonly KeyValuePair<string, StringValues>[] AllowHeader = [new("Allow", "GET, HEAD, PUT, POST, DELETE")];

    private readonly IAmazonS3 _client;
    private readonly IDisposable? _owned;
    private readonly string _bucket;
    private readonly S3ObjectKey? _key;
    private readonly bool _createMissing;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, S3ObjectKey?> _defaultKeys = new(StringComparer.Ordinal);
    private Lazy<Task>? _bucketCreated;

    /// <param name="name">Target name.</param>
    /// <param name="bucket">Bucket (stage variables filled in).</param>
    /// <param name="key">Key template; null: the route's greedy parameter.</param>
    /// <param name="client">S3 client, disposed with the target.</param>
    /// <param name="createMissing">Create the bucket at first use.</param>
    /// <param name="logger">Logger.</param>
    /// <param name="owned">Something else disposed with the target (the HTTP client factory).</param>
    internal S3ObjectTarget(string name, string bucket, S3ObjectKey? key, IAmazonS3 client, bool createMissing, ILogger logger, IDisposable? owned = null)
    {
        Name = name;
        _bucket = bucket;
        _key = key;
        _client = client;
        _createMissing = createMissing;
        _logger = logger;
        _owned = owned;
    }

    public string Name { get; }

    public async ValueTask<IntegrationResult> InvokeAsync(IntegrationRequest request, CancellationToken cancellationToken)
    {
        var method = request.Context.Http.Request.Method;
        var operation = method switch
        {
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "PUT" or "POST" => "PutObject",
            "DELETE" => "DeleteObject",
            _ => null,
        };
        if (operation is null)
        {
            return new IntegrationResult { StatusCode = 405, ContentType = "application/json", Body = MethodNotAllowedBody, Headers = AllowHeader };
        }
        var key = KeyFor(request, out var keyError);
        if (key is null)
        {
            return Message(400, keyError!);
        }
        try
        {
            if (_createMissing)
            {
                await EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
            }
            return operation switch
            {
                "GetObject" => await GetAsync(request, key, cancellationToken).ConfigureAwait(false),
                "HeadObject" => await HeadAsync(request, key, cancellationToken).ConfigureAwait(false),
                "PutObject" => await PutAsync(request, key, cancellationToken).ConfigureAwait(false),
                _ => await DeleteAsync(key, cancellationToken).ConfigureAwait(false),
            };
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode is "NoSuchKey" or "NotFound" or null)
        {
            return new IntegrationResult { IntegrationStatus = 404, StatusCode = 404, ContentType = "application/json", Body = NotFoundBody };
        }
        catch (TemplateRenderException e)
        {
            return IntegrationResult.Failed(IntegrationFailure.MappingError, $"requestTemplate: {e.Message}");
        }
        catch (Exception e) when (Classify(e, cancellationToken) is { } failure)
        {
            var status = e is AmazonServiceException { StatusCode: not 0 } service ? (int)service.StatusCode : 0;
            return IntegrationResult.Failed(failure, $"S3 {operation} {_bucket}/{key}: {Describe(e)}", status);
        }
    }

    private async Task<IntegrationResult> GetAsync(IntegrationRequest request, string key, CancellationToken cancellationToken)
    {
        using var response = await _client.GetObjectAsync(new GetObjectRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        var contentType = string.IsNullOrEmpty(response.Headers.ContentType) ? DefaultContentType : response.Headers.ContentType;
        var headers = ObjectHeaders(response.ETag, response.LastModified);
        var length = response.Headers.ContentLength;
        if (length > MaxBufferedBytes)
        {
            if (request.BufferResponse)
            {
                return IntegrationResult.Failed(IntegrationFailure.InvalidResponse,
                    $"S3 GetObject {_bucket}/{key}: {length} bytes, more than {MaxBufferedBytes} a route with a response template or cache can take", 200);
            }
            // Too big to hold: straight to the client.
            var http = request.Context.Http.Response;
            http.StatusCode = 200;
            http.ContentType = contentType;
            http.ContentLength = length;
            foreach (var (name, value) in headers)
            {
                http.Headers[name] = value;
            }
            await response.ResponseStream.CopyToAsync(http.Body, cancellationToken).ConfigureAwait(false);
            return IntegrationResult.WrittenByTarget(200);
        }
        var body = await ReadAsync(response.ResponseStream, length, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return IntegrationResult.Failed(IntegrationFailure.InvalidResponse, $"S3 GetObject {_bucket}/{key}: body longer than {MaxBufferedBytes} bytes", 200);
        }
        return new IntegrationResult { IntegrationStatus = 200, StatusCode = 200, ContentType = contentType, Body = body, Headers = headers };
    }

    private async Task<IntegrationResult> HeadAsync(IntegrationRequest request, string key, CancellationToken cancellationToken)
    {
        var response = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        var headers = ObjectHeaders(response.ETag, response.LastModified);
        var contentType = string.IsNullOrEmpty(response.Headers.ContentType) ? DefaultContentType : response.Headers.ContentType;
        if (request.BufferResponse)
        {
            return new IntegrationResult { IntegrationStatus = 200, StatusCode = 200, ContentType = contentType, Headers = headers };
        }
        // Written here so that Content-Length is the object's, as a GET would send, not the empty body's.
        var http = request.Context.Http.Response;
        http.StatusCode = 200;
        http.ContentType = contentType;
        http.ContentLength = response.Headers.ContentLength;
        foreach (var (name, value) in headers)
        {
            http.Headers[name] = value;
        }
        return IntegrationResult.WrittenByTarget(200);
    }

    private async Task<IntegrationResult> PutAsync(IntegrationRequest request, string key, CancellationToken cancellationToken)
    {
        var body = request.Body;
        if (request.RenderRequestTemplate(cancellationToken) is { } rendered)
        {
            body = System.Text.Encoding.UTF8.GetBytes(rendered);
        }
        var contentType = request.Context.Http.Request.ContentType;
        var put = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = ReadOnlyStream(body),
            AutoCloseStream = true,
            ContentType = string.IsNullOrEmpty(contentType) ? DefaultContentType : contentType,
            // Signed in one piece: S3-compatible stores do not all read aws-chunked uploads.
            UseChunkEncoding = false,
        };
        var response = await _client.PutObjectAsync(put, cancellationToken).ConfigureAwait(false);
        var etag = response.ETag ?? "";
        return new IntegrationResult
        {
            IntegrationStatus = (int)response.HttpStatusCode,
            StatusCode = 200,
            ContentType = "application/json",
            Body = PutAnswer(key, etag.Trim('"')),
            Headers = etag.Length > 0 ? [new("ETag", etag)] : [],
        };
    }

    private async Task<IntegrationResult> DeleteAsync(string key, CancellationToken cancellationToken)
    {
        var response = await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = key }, cancellationToken).ConfigureAwait(false);
        return new IntegrationResult { IntegrationStatus = (int)response.HttpStatusCode, StatusCode = 204 };
    }

    /// <summary>The object key of a request: the target's template, else the route's greedy parameter.</summary>
    private string? KeyFor(IntegrationRequest request, out string? error)
    {
        var template = _key;
        if (template is null)
        {
            var route = request.Context.Route.Template;
            template = _defaultKeys.GetOrAdd(route.Text, static (text, r) => GreedyKey(r), route);
            if (template is null)
            {
                error = "Invalid object key: the route has no greedy {proxy+} parameter and the target no key";
                return null;
            }
        }
        return template.Resolve(request.PathParameters, out error);
    }

    /// <summary><c>{name+}</c> of a route template ending in a greedy parameter, as a key template.</summary>
    internal static S3ObjectKey? GreedyKey(Core.Routing.RouteTemplate route) =>
        route.Text.EndsWith("+}", StringComparison.Ordinal) && route.ParameterNames.LastOrDefault() is { } name
            ? S3ObjectKey.TryParse($"{{{name}}}", out _)
            : null;

    private Task EnsureBucketAsync(CancellationToken cancellationToken)
    {
        var created = Volatile.Read(ref _bucketCreated);
        if (created is null || (created.IsValueCreated && (created.Value.IsFaulted || created.Value.IsCanceled)))
        {
            // First use, or S3 was down the last time: (re)try on this request.
            var fresh = new Lazy<Task>(CreateBucketAsync);
            created = Interlocked.CompareExchange(ref _bucketCreated, fresh, created) == created ? fresh : Volatile.Read(ref _bucketCreated)!;
        }
        return created.Value.WaitAsync(cancellationToken);
    }

    private async Task CreateBucketAsync()
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket, UseClientRegion = true }).ConfigureAwait(false);
            LogBucketCreated(_logger, Name, _bucket);
        }
        catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
            // Already there.
        }
    }

    private static KeyValuePair<string, StringValues>[] ObjectHeaders(string? etag, DateTime? lastModified)
    {
        var headers = new List<KeyValuePair<string, StringValues>>(2);
        if (!string.IsNullOrEmpty(etag))
        {
            headers.Add(new("ETag", etag));
        }
        if (lastModified is { } modified)
        {
            headers.Add(new("Last-Modified", modified.ToUniversalTime().ToString("R", CultureInfo.InvariantCulture)));
        }
        return [.. headers];
    }

    /// <summary>The body, read whole; null when longer than <see cref="MaxBufferedBytes"/>.</summary>
    private static async Task<byte[]?> ReadAsync(Stream stream, long length, CancellationToken cancellationToken)
    {
        if (length >= 0)
        {
            var exact = new byte[length];
            await stream.ReadExactlyAsync(exact, cancellationToken).ConfigureAwait(false);
            return exact;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxBufferedBytes)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    private byte[] PutAnswer(string key, string etag)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("bucket", _bucket);
            json.WriteString("key", key);
            json.WriteString("etag", etag);
            json.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static IntegrationResult Message(int status, string message)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("message", message);
            json.WriteEndObject();
        }
        return new IntegrationResult { StatusCode = status, ContentType = "application/json", Body = buffer.ToArray() };
    }

    private static MemoryStream ReadOnlyStream(ReadOnlyMemory<byte> body) =>
        MemoryMarshal.TryGetArray(body, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(body.ToArray(), writable: false);

    /// <summary>What a failed call means for the client; null for exceptions that are not S3 failures (bugs: let them surface).</summary>
    internal static IntegrationFailure? Classify(Exception e, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested && e is OperationCanceledException)
        {
            return IntegrationFailure.Timeout;
        }
        if (e is AmazonServiceException { StatusCode: not 0 })
        {
            // S3 answered with an error (403 AccessDenied, NoSuchBucket, 5xx after retries).
            return IntegrationFailure.InvalidResponse;
        }
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            switch (inner)
            {
                case HttpRequestException or SocketException or IOException:
                    return IntegrationFailure.Unreachable;
                case TimeoutException or OperationCanceledException:
                    // The SDK's own per-call timeout.
                    return IntegrationFailure.Timeout;
            }
        }
        return e is AmazonClientException ? IntegrationFailure.Unreachable : null;
    }

    private static string Describe(Exception e) => e switch
    {
        AmazonServiceException { StatusCode: not 0 } service => $"{(int)service.StatusCode} {service.ErrorCode ?? e.GetType().Name}",
        _ => $"{e.GetType().Name}: {(e.InnerException ?? e).Message}",
    };

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        _owned?.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Target {Target}: created S3 bucket {Bucket} (aws.createMissing)")]
    private static partial void LogBucketCreated(ILogger logger, string target, string bucket);
}
