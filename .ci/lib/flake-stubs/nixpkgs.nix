# Stand-in for `import nixpkgs { system; overlays; }` (see ./default.nix).
{
  system,
  overlays ? [ ],
}:
let
  call = stub: args: {
    inherit stub args;
    __toString = _: "/nix/store/00000000000000000000000000000000-${stub}";
  };

  base = {
    lib = {
      # Where crateNameFromCargoToml reads Cargo.toml: the repository itself.
      stubRoot = toString ../../..;
      genAttrs =
        names: f:
        builtins.listToAttrs (
          map (name: {
            inherit name;
            value = f name;
          }) names
        );
      fileset = {
        toSource = args: call "fileset.toSource" args;
        unions = sets: { unions = sets; };
        maybeMissing = path: "maybeMissing(${toString path})";
      };
    };
    stdenv.hostPlatform.parsed.cpu.name = builtins.head (builtins.split "-" system);
    dockerTools.buildImage = args: call "dockerTools.buildImage" args;
    runCommand =
      name: env: script:
      call "runCommand" { inherit name env script; };
    jq = call "jq" { };
    binutils-unwrapped = call "binutils-unwrapped" { };
    util-linux = call "util-linux" { };
    nixfmt-tree = call "nixfmt-tree" { };
  };
in
builtins.foldl' (pkgs: overlay: pkgs // overlay pkgs pkgs) base overlays
