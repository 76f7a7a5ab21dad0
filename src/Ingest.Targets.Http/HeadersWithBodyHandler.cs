using System.Net;

namespace Ingest.Targets.Http;

/// <summary>
/// Sends the request headers together with the first body bytes. YARP's request content flushes
/// the headers on their own before it copies the body, so a small POST costs the gateway two
/// sends and the backend two reads; here that first flush (before any body byte) is skipped and
/// the headers leave with the body. Only for bodies of known length: a streamed body without one
/// (chunked, gRPC) may wait for the backend's answer, so its headers must go first.
/// </summary>
internal sealed class HeadersWithBodyHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Content is { Headers.ContentLength: > 0 } content)
        {
            request.Content = new Content(content);
        }
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The proxied body with the same headers; its copy writes through <see cref="DeferredFlushStream"/>.</summary>
    private sealed class Content : HttpContent
    {
        private readonly HttpContent _inner;

        public Content(HttpContent inner)
        {
            _inner = inner;
            foreach (var header in inner.Headers.NonValidated)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            _inner.CopyToAsync(new DeferredFlushStream(stream), context);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            _inner.CopyToAsync(new DeferredFlushStream(stream), context, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Write-only pass-through that ignores flushes until the first write.</summary>
    private sealed class DeferredFlushStream(Stream inner) : Stream
    {
        private bool _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
            if (_written)
            {
                inner.Flush();
            }
        }

        public override Task FlushAsync(CancellationToken cancellationToken) =>
            _written ? inner.FlushAsync(cancellationToken) : Task.CompletedTask;

        public override void Write(byte[] buffer, int offset, int count)
        {
            _written = true;
            inner.Write(buffer, offset, count);
        }

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _written = true;
            inner.Write(buffer);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            _written = true;
            return inner.WriteAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _written = true;
            return inner.WriteAsync(buffer, cancellationToken);
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
