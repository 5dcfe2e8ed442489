# Everything the flake builds for one system. flake.nix only wires systems and
# output names; the details live here and in ./image.nix.
{
  pkgs,
  crane,
  # The flake's source tree (./. in flake.nix).
  root,
}:
let
  inherit (pkgs) lib;

  # An explicit release, not stable.latest: bumping the lock must not change the
  # compiler or clippy's lints (checks.clippy denies warnings). Keep it the
  # release .ci/run's rustup toolchain is, so both CIs lint alike.
  rustVersion = "1.95.0";

  # Always the musl target of the build machine: the binary must run in an empty
  # (scratch) image, so it is linked statically, and the tests run it natively.
  target = "${pkgs.stdenv.hostPlatform.parsed.cpu.name}-unknown-linux-musl";

  # crane's cross-musl recipe: a rust-overlay toolchain that carries the musl std.
  craneLib = (crane.mkLib pkgs).overrideToolchain (
    p: p.rust-bin.stable.${rustVersion}.default.override { targets = [ target ]; }
  );

  # One source for the dependencies, the package and every check, so the
  # dependency artifacts match what the checks build and nothing is compiled
  # twice. The Rust and Cargo files (vendor/tiny_http, a [patch.crates-io]
  # path dependency, consists of those too) and tests/ whole: a data file
  # added there must not be silently dropped by a .rs/.toml filter.
  src = lib.fileset.toSource {
    inherit root;
    fileset = lib.fileset.unions [
      (craneLib.fileset.commonCargoSources root)
      (lib.fileset.maybeMissing (root + "/tests"))
    ];
  };

  # The image tag and its version label.
  inherit (craneLib.crateNameFromCargoToml { inherit src; }) version;

  commonArgs = {
    inherit src;
    strictDeps = true;
    # The vendored tiny_http is a workspace member: its tests and lints count too.
    cargoExtraArgs = "--locked --workspace";
    CARGO_BUILD_TARGET = target;
    CARGO_BUILD_RUSTFLAGS = "-C target-feature=+crt-static";
  };

  # Dependencies are built once and shared by the package, clippy and the tests.
  cargoArtifacts = craneLib.buildDepsOnly commonArgs;

  http-fileserver = craneLib.buildPackage (
    commonArgs
    // {
      inherit cargoArtifacts;
      # The suite runs in checks.tests; running it here too would only double the build time.
      doCheck = false;
      meta.mainProgram = "http-fileserver";
    }
  );

  image = import ./image.nix {
    inherit (pkgs) dockerTools runCommand;
    inherit http-fileserver version;
  };

  checks = {
    inherit http-fileserver;

    clippy = craneLib.cargoClippy (
      commonArgs
      // {
        inherit cargoArtifacts;
        cargoClippyExtraArgs = "--all-targets -- --deny warnings";
      }
    );

    # --all: the vendored tiny_http too, as `cargo fmt --all -- --check` in .ci/run.
    fmt = craneLib.cargoFmt {
      inherit src;
      cargoExtraArgs = "--all";
    };

    tests = craneLib.cargoNextest (
      commonArgs
      // {
        inherit cargoArtifacts;
        # prlimit and setpriv for the resource-exhaustion tests (the tests that need
        # root to switch users skip themselves in the unprivileged sandbox). The
        # tests that need Docker skip themselves in the sandbox; the rest talk to
        # the binary on 127.0.0.1.
        nativeBuildInputs = [ pkgs.util-linux ];
      }
    );

    # The same script that .ci/image-test runs on a `docker save` tarball.
    image-layer =
      pkgs.runCommand "http-fileserver-image-layer"
        {
          # readelf only; the rest (bash, tar, gzip, coreutils) is in every builder's PATH.
          nativeBuildInputs = [
            pkgs.jq
            pkgs.binutils-unwrapped
          ];
        }
        ''
          bash ${./check-image-layer.sh} ${image} http-fileserver
          touch $out
        '';
  };
in
{
  inherit
    pkgs
    http-fileserver
    image
    checks
    ;

  devShell = craneLib.devShell {
    # Brings cargo-nextest and the toolchain with the musl target into the shell.
    inherit checks;
  };
}
