# Evaluates the flake's outputs against stand-ins for nixpkgs, crane and
# rust-overlay. This machine's Nix (2.8) cannot evaluate the real nixpkgs, so
# this is the only evaluation the flake gets before GitHub CI: it catches
# wiring mistakes (a misspelt attribute, a missing argument, a store path in
# the image config) and lets .ci/lib/nix-checks assert the arguments handed to
# crane and dockerTools. The stand-ins only know the names the flake uses;
# each call returns a record { stub = NAME; args = ...; } that prints as JSON.
#
#   nix-instantiate --eval --strict --json --arg moduleValues null .ci/lib/flake-stubs
#
# With --arg moduleValues '{ ... }', the module is also evaluated with those
# values for services.http-fileserver (nix-checks proves bad ones are refused).
{
  moduleValues ? null,
}:
let
  flake = import ../../../flake.nix;
  inherit (import ./nixpkgs.nix { system = "x86_64-linux"; }) lib;

  # Like a derivation for interpolation ("${drv}/bin/x"), but JSON keeps the record.
  # The store path names the target or architecture, so that an interpolated
  # path tells which of the two builds it is.
  call = stub: args: {
    inherit stub args;
    __toString =
      _:
      "/nix/store/00000000000000000000000000000000-${stub}"
      + (if args ? CARGO_BUILD_TARGET then "-${args.CARGO_BUILD_TARGET}" else "")
      + (if args ? architecture then "-${args.architecture}" else "");
  };

  crane.mkLib =
    pkgs:
    let
      mkCraneLib =
        toolchain:
        {
          overrideToolchain = f: mkCraneLib (f pkgs);
          # Paths stay strings, so nothing is copied into the store.
          fileset.commonCargoSources = root: "commonCargoSources(${toString root})";
          # Reads the real Cargo.toml, as crane does (package.version, else workspace.package.version).
          crateNameFromCargoToml =
            { src }:
            let
              toml = builtins.fromTOML (builtins.readFile (lib.stubRoot + "/Cargo.toml"));
              v = toml.package.version or null;
            in
            {
              pname = toml.package.name;
              version = if builtins.isString v then v else toml.workspace.package.version;
            };
        }
        // lib.genAttrs [
          "buildDepsOnly"
          "buildPackage"
          "cargoClippy"
          "cargoFmt"
          "cargoNextest"
          "devShell"
        ] (name: args: call name (args // { inherit toolchain; }));
    in
    mkCraneLib null;

  outputs = flake.outputs {
    self = outputs;
    nixpkgs = {
      outPath = ./nixpkgs.nix;
      inherit lib;
    };
    rust-overlay.outPath = ./rust-overlay.nix;
    inherit crane;
  };

  nixos = import ./nixos.nix { inherit lib; };
  module = outputs.nixosModules.default;
  evalModule =
    system: values:
    nixos.eval {
      inherit module values system;
      stubLib = nixos.lib;
    };
  vmTest = outputs.checks.x86_64-linux.nixos-module;

  # nixosModules.default in the configurations expect.jq asserts on.
  moduleEvals = {
    # Only what must be set: the defaults everywhere else.
    minimal = evalModule "x86_64-linux" {
      enable = true;
      root = "/srv/www";
    };
    # Every option set, on the other system.
    full = evalModule "aarch64-linux" {
      enable = true;
      root = "/srv/my site";
      port = 80;
      bind = "127.0.0.1";
      openFirewall = true;
      settings = {
        HTTP_FILESERVER_MAX_CONNECTIONS = 4096;
        HTTP_FILESERVER_NO_LISTING = true;
        HTTP_FILESERVER_THREADS = 4;
        HTTP_FILESERVER_HEADERS = "Cache-Control: max-age=60\nX-Progress: 100%";
        HTTP_FILESERVER_HEALTH_PATH = "/healthz";
      };
    };
    bracketed = evalModule "x86_64-linux" {
      enable = true;
      root = "/srv/www";
      bind = "[::1]";
    };
    # The socket unit decides where to listen: these variables must be refused.
    conflicting = evalModule "x86_64-linux" {
      enable = true;
      root = "/srv/www";
      settings.PORT = "9000";
    };
    disabled = evalModule "x86_64-linux" { root = "/srv/www"; };
    # The VM test's server, as the test configures it.
    vmServer = evalModule "x86_64-linux" vmTest.args.nodes.server.services.http-fileserver;
  }
  // lib.optionalAttrs (moduleValues != null) { given = evalModule "x86_64-linux" moduleValues; };

  # overlays.default applied to a nixpkgs of each system.
  overlayResults = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (
    system:
    outputs.overlays.default {
      stdenv.hostPlatform.system = system;
    } { }
  );

  # JSON cannot hold functions; records keep their stub name and arguments.
  plain =
    x:
    if builtins.isFunction x then
      "<function>"
    else if builtins.isAttrs x then
      builtins.mapAttrs (_: plain) (removeAttrs x [ "__toString" ])
    else if builtins.isList x then
      map plain x
    else if builtins.isPath x then
      toString x
    else
      x;
in
plain (
  outputs
  // {
    # Not flake outputs: what the module and the overlay evaluate to.
    stubbed = {
      inherit moduleEvals overlayResults;
      vmServerImports = vmTest.args.nodes.server.imports;
    };
  }
)
