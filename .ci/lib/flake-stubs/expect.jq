# Assertions on the stub evaluation of the flake (./default.nix); prints one
# line per violation, nothing when all hold. Used by .ci/lib/nix-checks.
def expect(cond; msg): if cond then empty else msg end;
def systems: ["aarch64-linux", "x86_64-linux"];
def seconds(n): n * 1000000000;

. as $o
| (["packages", "apps", "checks", "devShells", "formatter"][] as $out
   | expect(($o[$out] | keys) == systems; "\($out): systems are \($o[$out] | keys), expected \(systems)")),
  (systems[] as $s
   | ($s | split("-")[0] + "-unknown-linux-musl") as $target
   | $o.packages[$s] as $p
   | $p.default as $bin
   | $p.image.args as $img
   | $o.checks[$s] as $c
   | $p.default.args.src.args.root as $root
   | expect(($p | keys) == ["default", "image"]; "\($s): packages are \($p | keys)"),
     expect($bin.stub == "buildPackage"; "\($s): packages.default is \($bin.stub), expected crane buildPackage"),
     expect($bin.args.CARGO_BUILD_TARGET == $target; "\($s): CARGO_BUILD_TARGET is \($bin.args.CARGO_BUILD_TARGET), expected \($target)"),
     expect($bin.args.CARGO_BUILD_RUSTFLAGS == "-C target-feature=+crt-static"; "\($s): CARGO_BUILD_RUSTFLAGS is \($bin.args.CARGO_BUILD_RUSTFLAGS)"),
     # A pinned release, never stable.latest, so a lock bump can't change clippy's lints.
     expect($bin.args.toolchain == {stub: "rust-bin.stable.1.95.0.default", args: {targets: [$target]}};
       "\($s): toolchain is \($bin.args.toolchain), expected rust-bin stable 1.95.0 with target \($target)"),
     expect($bin.args.cargoArtifacts.stub == "buildDepsOnly"; "\($s): the package does not reuse buildDepsOnly artifacts"),
     expect($bin.args.src == {stub: "fileset.toSource", args: {root: $root, fileset: {unions:
         ["commonCargoSources(\($root))", "maybeMissing(\($root)/tests)"]}}};
       "\($s): src is \($bin.args.src), expected the Cargo sources and tests/"),
     # Same source and flags for the dependencies and everything built on them,
     # so crane builds the dependencies once.
     ([$bin.args.cargoArtifacts, $c.clippy, $c.tests][] as $d
      | expect($d.args.src == $bin.args.src and $d.args.cargoExtraArgs == "--locked --workspace";
          "\($s): \($d.stub) has src \($d.args.src) and cargoExtraArgs \($d.args.cargoExtraArgs), expected the package's src and --locked --workspace")),
     expect($bin.args.cargoExtraArgs == "--locked --workspace"; "\($s): the package's cargoExtraArgs are \($bin.args.cargoExtraArgs)"),
     expect($p.image.stub == "dockerTools.buildImage"; "\($s): packages.image is \($p.image.stub), expected dockerTools.buildImage"),
     expect(($img | has("fromImage") | not) and ($img | has("created") | not);
       "\($s): the image sets fromImage or created (it must be scratch and reproducible)"),
     expect($img.name == "http-fileserver" and ($img.tag | type) == "string" and $img.tag != "";
       "\($s): image name/tag are \($img.name)/\($img.tag)"),
     expect($img.copyToRoot == {stub: "runCommand", args: {name: "http-fileserver-image-root",
         env: {allowedReferences: []}, script: $img.copyToRoot.args.script}}
       and ($img.copyToRoot.args.script | test("/bin/http-fileserver \\$out/http-fileserver\n$"));
       "\($s): copyToRoot is not the one-file runCommand with allowedReferences = [ ]: \($img.copyToRoot)"),
     expect($img.config == {
         Entrypoint: ["/http-fileserver"], WorkingDir: "/", User: "65534:65534",
         ExposedPorts: {"8080/tcp": {}},
         Labels: {"org.opencontainers.image.title": "http-fileserver",
                  "org.opencontainers.image.description": "Static-file HTTP server",
                  "org.opencontainers.image.source": "https://github.com/http-fileserver/http-fileserver",
                  "org.opencontainers.image.licenses": "MIT OR Apache-2.0",
                  "org.opencontainers.image.version": $img.tag},
         Healthcheck: {Test: ["CMD", "/http-fileserver", "healthcheck"], Interval: seconds(30),
                       Timeout: seconds(3), StartPeriod: seconds(5), Retries: 3}};
       "\($s): image config differs from the contract: \($img.config)"),
     expect($img.config | tostring | test("/nix/store") | not; "\($s): image config mentions /nix/store"),
     expect(($c | keys) == ["clippy", "fmt", "http-fileserver", "image-layer", "tests"]; "\($s): checks are \($c | keys)"),
     expect($c["http-fileserver"] == $bin; "\($s): checks.http-fileserver is not the package"),
     expect($c.clippy.stub == "cargoClippy" and $c.clippy.args.cargoClippyExtraArgs == "--all-targets -- --deny warnings"
       and $c.clippy.args.cargoArtifacts.stub == "buildDepsOnly"; "\($s): clippy check is \($c.clippy.stub) \($c.clippy.args.cargoClippyExtraArgs)"),
     expect($c.fmt.stub == "cargoFmt" and $c.fmt.args.cargoExtraArgs == "--all" and $c.fmt.args.src == $bin.args.src;
       "\($s): fmt check is \($c.fmt.stub) with \($c.fmt.args.cargoExtraArgs), expected cargoFmt --all"),
     expect($c.tests.stub == "cargoNextest" and $c.tests.args.CARGO_BUILD_TARGET == $target
       and $c.tests.args.cargoArtifacts == $bin.args.cargoArtifacts;
       "\($s): tests check is \($c.tests.stub), target \($c.tests.args.CARGO_BUILD_TARGET), not on the package's dependency artifacts"),
     expect($c["image-layer"].stub == "runCommand"
       and ($c["image-layer"].args.script | test("^bash /nix/store/[a-z0-9]{32}-check-image-layer\\.sh /nix/store/[^ ]*-dockerTools\\.buildImage http-fileserver\n"));
       "\($s): image-layer check does not run nix/check-image-layer.sh on the image: \($c["image-layer"].args.script)"),
     expect($o.apps[$s].default.type == "app" and ($o.apps[$s].default.program | endswith("-buildPackage/bin/http-fileserver"));
       "\($s): apps.default is \($o.apps[$s].default)"),
     expect($o.devShells[$s].default.stub == "devShell" and ($o.devShells[$s].default.args.checks | keys) == ($c | keys);
       "\($s): devShells.default does not carry the checks"),
     # nixfmt-tree, not nixfmt: bare `nix fmt` would hang on nixfmt reading stdin.
     expect($o.formatter[$s].stub == "nixfmt-tree"; "\($s): formatter is \($o.formatter[$s].stub), expected nixfmt-tree"))
