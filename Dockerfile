# syntax=docker/dockerfile:1
# Ingest gateway image: the SDK image builds, a small runtime image runs it as a non-root user.
#   docker build -t ingest .
#   docker run -v $PWD/config/ingest.compose.yaml:/etc/ingest/ingest.yaml:ro -p 8080:8080 ingest
# The configuration is mounted at /etc/ingest/ingest.yaml; relative paths in it (WAL, spill
# files) resolve under /var/lib/ingest, the working directory and a volume.

# The gateway is published native (ahead-of-time compiled, scripts/publish-native.sh): no .NET
# runtime in the image and ~60 MiB less memory than the JIT build. The -aot SDK image carries the
# C toolchain for the final link; it builds for the platform it runs on.
FROM mcr.microsoft.com/dotnet/sdk:10.0-alpine-aot AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/ src/
# The package cache survives between builds (BuildKit cache mount): a rebuild downloads nothing new.
RUN --mount=type=cache,target=/root/.nuget/packages \
    dotnet publish src/Ingest.Gateway/Ingest.Gateway.csproj -c Release --use-current-runtime \
      -p:PublishAot=true -p:DebugType=none -p:GenerateDocumentationFile=false -o /app

# Alpine runtime dependencies only, the smallest image with a shell: the gateway runs with
# invariant globalization, so it needs no ICU; busybox wget serves the health check.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0-alpine AS runtime
WORKDIR /app
COPY --from=build /app .
RUN mkdir -p /etc/ingest /var/lib/ingest && chown "$APP_UID" /var/lib/ingest
VOLUME /var/lib/ingest
WORKDIR /var/lib/ingest
# The image's unprivileged user (uid 1654).
USER $APP_UID
# 8080: public listener, 9090: admin (health, metrics). Both as set in the mounted config.
EXPOSE 8080 9090
# Liveness from the admin port; the config must keep admin.listen on port 9090 (loopback is enough).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:9090/healthz || exit 1
# SIGTERM (docker stop) drains: readiness fails, new requests get 503, queued events are flushed.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/ingest"]
CMD ["serve", "--config", "/etc/ingest/ingest.yaml"]
