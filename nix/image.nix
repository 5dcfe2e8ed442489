# The container image: one layer holding exactly /http-fileserver, nothing from
# /nix/store. nix/check-image-layer.sh (checks.image-layer) proves that shape.
{
  dockerTools,
  runCommand,
  http-fileserver,
  version,
  # Docker's name of the binary's CPU ("amd64", "arm64"): a cross-built binary
  # makes an image for another machine than the one that builds it.
  architecture,
}:
let
  # buildImage appends the runtime closure of copyToRoot to the layer, so the
  # root must reference no store path at all: allowedReferences = [ ] turns a
  # stray reference (e.g. a dynamic loader) into a build failure instead of a
  # fat image.
  root = runCommand "http-fileserver-image-root" { allowedReferences = [ ]; } ''
    mkdir $out
    cp ${http-fileserver}/bin/http-fileserver $out/http-fileserver
  '';

  # Docker's image config counts durations in nanoseconds.
  seconds = n: n * 1000000000;
in
# No fromImage: a scratch image with a single layer. `created` keeps its
# fixed default, so the tarball is reproducible.
dockerTools.buildImage {
  name = "http-fileserver";
  tag = version;
  inherit architecture;
  copyToRoot = root;

  # Plain strings only: interpolating a derivation here would pull its
  # closure into the layer.
  config = {
    Entrypoint = [ "/http-fileserver" ];
    # The default root is ./public, so a bind mount on /public is served as is.
    WorkingDir = "/";
    User = "65534:65534";
    ExposedPorts."8080/tcp" = { };
    Labels = {
      "org.opencontainers.image.title" = "http-fileserver";
      "org.opencontainers.image.description" = "Static-file HTTP server";
      "org.opencontainers.image.source" = "https://github.com/http-fileserver/http-fileserver";
      "org.opencontainers.image.licenses" = "MIT OR Apache-2.0";
      "org.opencontainers.image.version" = version;
    };
    Healthcheck = {
      Test = [
        "CMD"
        "/http-fileserver"
        "healthcheck"
      ];
      Interval = seconds 30;
      Timeout = seconds 3;
      StartPeriod = seconds 5;
      Retries = 3;
    };
  };
}
