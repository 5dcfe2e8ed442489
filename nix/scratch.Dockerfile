# The image of nix/image.nix, built by a Docker engine instead of Nix: one
# layer holding only /http-fileserver. The build context must hold just the
# static musl binary, already mode 0555 (the classic builder keeps the mode;
# COPY --chmod needs BuildKit). .ci/image-test builds it this way and checks
# the result with nix/check-image-layer.sh.
FROM scratch
ARG VERSION=unknown
COPY http-fileserver /http-fileserver
WORKDIR /
USER 65534:65534
EXPOSE 8080/tcp
LABEL org.opencontainers.image.title="http-fileserver" \
      org.opencontainers.image.description="Static-file HTTP server" \
      org.opencontainers.image.source="https://github.com/http-fileserver/http-fileserver" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/http-fileserver", "healthcheck"]
ENTRYPOINT ["/http-fileserver"]
