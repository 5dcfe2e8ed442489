# Evaluates the flake's outputs against stand-ins for nixpkgs, crane and
# rust-overlay. This machine's Nix (2.8) cannot evaluate the real nixpkgs, so
# this is the only evaluation the flake gets before GitHub CI: it catches
# wiring mistakes (a misspelt attribute, a missing argument, a store path in
# the image config) and lets .ci/lib/nix-checks assert the arguments handed to
# crane and dockerTools. The stand-ins only know the names the flake uses;
# each call returns a record { stub = NAME; args = ...; } that prints as JSON.
#
#   nix-instantiate --eval --strict --json .ci/lib/flake-stubs
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
plain outputs
