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

  escapeRegex = builtins.replaceStrings (chars "\\[{()^$?*+|.") (map (c: "\\${c}") (chars "\\[{()^$?*+|."));
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
      optionalString = cond: s: if cond then s else "";
      filterAttrs =
        pred: attrs:
        builtins.removeAttrs attrs (builtins.filter (n: !(pred n attrs.${n})) (builtins.attrNames attrs));
      concatMap = f: list: builtins.concatLists (map f list);
      inherit (builtins) concatStringsSep;
      hasInfix = infix: s: builtins.match ".*${escapeRegex infix}.*" s != null;
      removePrefix =
        prefix: s:
        let
          n = builtins.stringLength prefix;
        in
        if builtins.substring 0 n s == prefix then builtins.substring n (-1) s else s;
      removeSuffix =
        suffix: s:
        let
          n = builtins.stringLength suffix;
          l = builtins.stringLength s;
        in
        if n <= l && builtins.substring (l - n) n s == suffix then builtins.substring 0 (l - n) s else s;
      # As nixpkgs: safe words stay bare, anything else is single-quoted.
      escapeShellArg =
        arg:
        let
          s = toString arg;
        in
        if builtins.match "[[:alnum:],._+:@%/-]+" s != null then
          s
        else
          "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
      getExe = pkg: "${pkg}/bin/${pkg.args.meta.mainProgram}";
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
    curl = call "curl" { };
    diffutils = call "diffutils" { };
    writeShellScript = name: text: call "writeShellScript" { inherit name text; };
    testers.runNixOSTest = args: call "testers.runNixOSTest" args;
    nixfmt-tree = call "nixfmt-tree" { };
  };
in
builtins.foldl' (pkgs: overlay: pkgs // overlay pkgs pkgs) base overlays
