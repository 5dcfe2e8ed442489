# Stand-in for `import nixpkgs { system; overlays; }` (see ./default.nix).
{
  system,
  overlays ? [ ],
}:
let
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

  chars = s: builtins.genList (i: builtins.substring i 1 s) (builtins.stringLength s);

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
      optionalAttrs = cond: attrs: if cond then attrs else { };
      toUpper = builtins.replaceStrings (chars "abcdefghijklmnopqrstuvwxyz") (chars "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
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
