# Everything the flake builds for one system. flake.nix only wires systems and
# output names; the details live here, in ./image.nix, ./module.nix and
# ./nixos-test.nix.
{
  pkgs,
  crane,
  # The flake's source tree (./. in flake.nix).
  root,
  # nixosModules.default, for the VM test.
  nixosModule,
}:
let
  inherit (pkgs) lib;

  # An explicit release, not stable.latest: bumping the lock must not change the
  # compiler or clippy's lints (checks.clippy denies warnings). Keep it the
  # release .ci/run's rustup toolchain is, so both CIs lint alike.
  rustVersion = "1.95.0";

  # The binary always targets musl: it must run in an empty (scratch) image, so
  # it is linked statically. The build machine's CPU is native (the tests run
  # it); the other one is cross-built.
  hostCpu = pkgs.stdenv.hostPlatform.parsed.cpu.name;
  otherCpu = if hostCpu == "x86_64" then "aarch64" else "x86_64";
  muslTarget = cpu: "${cpu}-unknown-linux-musl";

  # crane's cross-musl recipe: a rust-overlay toolchain that carries the musl
  # std of both CPUs, so one toolchain serves the native and the cross build.
  craneLib = (crane.mkLib pkgs).overrideToolchain (
    p:
    p.rust-bin.stable.${rustVersion}.default.override {
      targets = map muslTarget [
        hostCpu
        otherCpu
      ];
    }
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

  # The static binary for one CPU. The other CPU's binary is linked with the
  # toolchain's own rust-lld: the musl targets bring their C runtime objects,
  # so no cross C compiler is needed (no dependency builds C).
  build =
    cpu:
    let
      target = muslTarget cpu;
      cross = cpu != hostCpu;
      args = {
        inherit src;
        strictDeps = true;
        # The vendored tiny_http is a workspace member: its tests and lints count too.
        cargoExtraArgs = "--locked --workspace";
        CARGO_BUILD_TARGET = target;
      }
      // lib.optionalAttrs cross {
        "CARGO_TARGET_${lib.toUpper (builtins.replaceStrings [ "-" ] [ "_" ] target)}_LINKER" = "rust-lld";
        # Test binaries of another CPU can't run here: build no test dependencies.
        doCheck = false;
      };
      # Dependencies are built once and shared by the package, clippy and the tests.
      cargoArtifacts = craneLib.buildDepsOnly args;
    in
    {
      inherit args cargoArtifacts;
      http-fileserver = craneLib.buildPackage (
        args
        // {
          inherit cargoArtifacts;
          # The suite runs in checks.tests; running it here too would only double the build time.
          doCheck = false;
          meta.mainProgram = "http-fileserver";
        }
      );
    };

  native = build hostCpu;
  other = build otherCpu;

  # Docker's names for the CPUs.
  dockerArch = cpu: if cpu == "x86_64" then "amd64" else "arm64";

  mkImage =
    cpu: http-fileserver:
    import ./image.nix {
      inherit (pkgs) dockerTools runCommand;
      inherit http-fileserver version;
      architecture = dockerArch cpu;
    };

  inherit (native) http-fileserver;
  image = mkImage hostCpu http-fileserver;
  # The other CPU's image, built here: `nix build .#image-aarch64` on an x86_64 machine.
  crossImage = mkImage otherCpu other.http-fileserver;

  # The same script that .ci/image-test runs on a `docker save` tarball; it also
  # requires the binary's ELF machine to be the image's architecture.
  layerCheck =
    name: img:
    pkgs.runCommand name
      {
        # readelf only; the rest (bash, tar, gzip, coreutils) is in every builder's PATH.
        nativeBuildInputs = [
          pkgs.jq
          pkgs.binutils-unwrapped
        ];
      }
      ''
        bash ${./check-image-layer.sh} ${img} http-fileserver
        touch $out
      '';

  checks = {
    inherit http-fileserver;

    clippy = craneLib.cargoClippy (
      native.args
      // {
        inherit (native) cargoArtifacts;
        cargoClippyExtraArgs = "--all-targets -- --deny warnings";
      }
    );

    # --all: the vendored tiny_http too, as `cargo fmt --all -- --check` in .ci/run.
    fmt = craneLib.cargoFmt {
      inherit src;
      cargoExtraArgs = "--all";
    };

    tests = craneLib.cargoNextest (
      native.args
      // {
        inherit (native) cargoArtifacts;
        # prlimit and setpriv for the resource-exhaustion tests (the tests that need
        # root to switch users skip themselves in the unprivileged sandbox). The
        # tests that need Docker skip themselves in the sandbox; the rest talk to
        # the binary on 127.0.0.1.
        nativeBuildInputs = [ pkgs.util-linux ];
      }
    );

    image-layer = layerCheck "http-fileserver-image-layer" image;
    "image-${otherCpu}-layer" = layerCheck "http-fileserver-image-${otherCpu}-layer" crossImage;

    # Boots NixOS with nixosModules.default: serves a file over the network,
    # and restarts under load without a failed request (socket activation).
    nixos-module = import ./nixos-test.nix {
      inherit pkgs nixosModule;
    };
  };
in
{
  inherit
    pkgs
    http-fileserver
    image
    checks
    ;
  # On x86_64-linux: packages.image-aarch64 and the binary in it,
  # packages.http-fileserver-aarch64; on aarch64-linux the same for x86_64.
  crossPackages = {
    "image-${otherCpu}" = crossImage;
    "http-fileserver-${otherCpu}" = other.http-fileserver;
  };

  devShell = craneLib.devShell {
    # Brings cargo-nextest, the toolchain with both musl targets, jq and readelf
    # into the shell; not the VM test, whose inputs are a whole NixOS.
    checks = removeAttrs checks [ "nixos-module" ];
  };
}
