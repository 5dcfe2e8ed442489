# Assertions on the stub evaluation of the flake (./default.nix); prints one
# line per violation, nothing when all hold. Used by .ci/lib/nix-checks.
def expect(cond; msg): if cond then empty else msg end;
def systems: ["aarch64-linux", "x86_64-linux"];
def seconds(n): n * 1000000000;
def cpu: split("-")[0];
def other_cpu: if . == "x86_64" then "aarch64" else "x86_64" end;
def musl: . + "-unknown-linux-musl";
def docker_arch: if . == "x86_64" then "amd64" else "arm64" end;
def linker_var: "CARGO_TARGET_" + (musl | ascii_upcase | gsub("-"; "_")) + "_LINKER";

# The image contract, the same for both architectures.
def image_config($tag): {
  Entrypoint: ["/http-fileserver"], WorkingDir: "/", User: "65534:65534",
  ExposedPorts: {"8080/tcp": {}},
  Labels: {"org.opencontainers.image.title": "http-fileserver",
           "org.opencontainers.image.description": "Static-file HTTP server",
           "org.opencontainers.image.source": "https://github.com/http-fileserver/http-fileserver",
           "org.opencontainers.image.licenses": "MIT OR Apache-2.0",
           "org.opencontainers.image.version": $tag},
  Healthcheck: {Test: ["CMD", "/http-fileserver", "healthcheck"], Interval: seconds(30),
                Timeout: seconds(3), StartPeriod: seconds(5), Retries: 3}};

# IMAGE NAME CPU: one dockerTools.buildImage of the binary built for CPU.
def expect_image($s; $name; $cpu):
  .args as $img
  | expect(.stub == "dockerTools.buildImage"; "\($s): packages.\($name) is \(.stub), expected dockerTools.buildImage"),
    expect(($img | has("fromImage") | not) and ($img | has("created") | not);
      "\($s): \($name) sets fromImage or created (it must be scratch and reproducible)"),
    expect($img.name == "http-fileserver" and ($img.tag | type) == "string" and $img.tag != "";
      "\($s): \($name) name/tag are \($img.name)/\($img.tag)"),
    expect($img.architecture == ($cpu | docker_arch);
      "\($s): \($name) architecture is \($img.architecture), expected \($cpu | docker_arch)"),
    expect($img.copyToRoot == {stub: "runCommand", args: {name: "http-fileserver-image-root",
        env: {allowedReferences: []}, script: $img.copyToRoot.args.script}}
      and ($img.copyToRoot.args.script
           | test("^mkdir \\$out\ncp /nix/store/[a-z0-9]{32}-buildPackage-\($cpu | musl)/bin/http-fileserver \\$out/http-fileserver\n$"));
      "\($s): \($name) copyToRoot is not the one-file runCommand of the \($cpu) binary with allowedReferences = [ ]: \($img.copyToRoot)"),
    expect($img.config == image_config($img.tag); "\($s): \($name) config differs from the contract: \($img.config)"),
    expect($img.config | tostring | test("/nix/store") | not; "\($s): \($name) config mentions /nix/store");

. as $o
| (["packages", "apps", "checks", "devShells", "formatter"][] as $out
   | expect(($o[$out] | keys) == systems; "\($out): systems are \($o[$out] | keys), expected \(systems)")),
  (systems[] as $s
   | ($s | cpu) as $cpu
   | ($cpu | other_cpu) as $other
   | ($cpu | musl) as $target
   | $o.packages[$s] as $p
   | $p.default as $bin
   | $p["image-\($other)"] as $cross_image
   | $o.checks[$s] as $c
   | $bin.args.src.args.root as $root
   | expect(($p | keys) == (["default", "http-fileserver-\($other)", "image", "image-\($other)"] | sort); "\($s): packages are \($p | keys)"),
     expect($bin.stub == "buildPackage"; "\($s): packages.default is \($bin.stub), expected crane buildPackage"),
     expect($bin.args.CARGO_BUILD_TARGET == $target; "\($s): CARGO_BUILD_TARGET is \($bin.args.CARGO_BUILD_TARGET), expected \($target)"),
     # How the binary is linked is in .cargo/config.toml, which crane's sources keep: a
     # RUSTFLAGS here would replace it.
     expect([$bin.args | keys[] | select(test("RUSTFLAGS"))] == []; "\($s): the package sets \([$bin.args | keys[] | select(test("RUSTFLAGS"))])"),
     # The native build links as crane's cross-musl template does; only the cross build uses rust-lld.
     expect([$bin.args | keys[] | select(endswith("_LINKER"))] == []; "\($s): the native package overrides the linker"),
     # A pinned release, never stable.latest, so a lock bump can't change clippy's lints;
     # one toolchain with the musl std of both CPUs.
     expect($bin.args.toolchain == {stub: "rust-bin.stable.1.95.0.default", args: {targets: [$target, ($other | musl)]}};
       "\($s): toolchain is \($bin.args.toolchain), expected rust-bin stable 1.95.0 with targets \($target) and \($other | musl)"),
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

     # The cross build: the other CPU's static binary, linked by the toolchain's rust-lld.
     $p["http-fileserver-\($other)"] as $xbin
     | expect($xbin.stub == "buildPackage" and $xbin.args.CARGO_BUILD_TARGET == ($other | musl)
         and $xbin.args[$other | linker_var] == "rust-lld" and $xbin.args.doCheck == false
         and ($xbin.args | del(.CARGO_BUILD_TARGET, .[$other | linker_var], .cargoArtifacts))
             == ($bin.args | del(.CARGO_BUILD_TARGET, .cargoArtifacts));
         "\($s): http-fileserver-\($other) is not the package's build for \($other | musl) linked with rust-lld: \($xbin.args | del(.cargoArtifacts, .src))"),
     expect($xbin.args.cargoArtifacts.stub == "buildDepsOnly" and $xbin.args.cargoArtifacts.args.doCheck == false
         and $xbin.args.cargoArtifacts.args[$other | linker_var] == "rust-lld"
         and $xbin.args.cargoArtifacts.args.CARGO_BUILD_TARGET == ($other | musl);
         "\($s): the cross package's dependencies are not built for \($other | musl) with rust-lld"),
     ($p.image | expect_image($s; "image"; $cpu)),
     ($cross_image | expect_image($s; "image-\($other)"; $other)),
     expect($cross_image.args.tag == $p.image.args.tag; "\($s): the cross image's tag differs from the native one's"),

     expect(($c | keys) == (["clippy", "fmt", "http-fileserver", "image-layer", "image-\($other)-layer", "nixos-module", "tests"] | sort);
       "\($s): checks are \($c | keys)"),
     expect($c["http-fileserver"] == $bin; "\($s): checks.http-fileserver is not the package"),
     expect($c.clippy.stub == "cargoClippy" and $c.clippy.args.cargoClippyExtraArgs == "--all-targets -- --deny warnings"
       and $c.clippy.args.cargoArtifacts == $bin.args.cargoArtifacts;
       "\($s): clippy check is \($c.clippy.stub) \($c.clippy.args.cargoClippyExtraArgs), not on the package's dependency artifacts"),
     expect($c.fmt.stub == "cargoFmt" and $c.fmt.args.cargoExtraArgs == "--all" and $c.fmt.args.src == $bin.args.src;
       "\($s): fmt check is \($c.fmt.stub) with \($c.fmt.args.cargoExtraArgs), expected cargoFmt --all"),
     expect($c.tests.stub == "cargoNextest" and $c.tests.args.CARGO_BUILD_TARGET == $target
       and $c.tests.args.cargoArtifacts == $bin.args.cargoArtifacts;
       "\($s): tests check is \($c.tests.stub), target \($c.tests.args.CARGO_BUILD_TARGET), not on the package's dependency artifacts"),
     ((["image-layer", ($cpu | docker_arch)], ["image-\($other)-layer", ($other | docker_arch)]) as [$check, $arch]
      | expect($c[$check].stub == "runCommand"
          and ($c[$check].args.script | test("^bash /nix/store/[a-z0-9]{32}-check-image-layer\\.sh /nix/store/[a-z0-9]{32}-dockerTools\\.buildImage-\($arch) http-fileserver\n"));
          "\($s): \($check) does not run nix/check-image-layer.sh on the \($arch) image: \($c[$check].args.script)")),
     expect($o.apps[$s].default.type == "app"
       and ($o.apps[$s].default.program | test("^/nix/store/[a-z0-9]{32}-buildPackage-\($target)/bin/http-fileserver$"));
       "\($s): apps.default is \($o.apps[$s].default)"),
     # Every check's inputs but the VM test's, which are a whole NixOS.
     expect($o.devShells[$s].default.stub == "devShell"
       and ($o.devShells[$s].default.args.checks | keys) == ($c | keys | map(select(. != "nixos-module")));
       "\($s): devShells.default does not carry the checks (but nixos-module)"),
     # nixfmt-tree, not nixfmt: bare `nix fmt` would hang on nixfmt reading stdin.
     expect($o.formatter[$s].stub == "nixfmt-tree"; "\($s): formatter is \($o.formatter[$s].stub), expected nixfmt-tree"))
,
# nixosModules.default, evaluated by ./nixos.nix in the configurations of ./default.nix.
(.stubbed.moduleEvals as $m
 | $o.packages["x86_64-linux"].default as $bin
 | def unit($e): $e.config.systemd.services["http-fileserver"];
   def sock($e): $e.config.systemd.sockets["http-fileserver"];
   # The hardening every configuration gets; each line is one the task names or one
   # systemd-analyze security scores.
   def hardening: {
     DynamicUser: true, ProtectSystem: "strict", ProtectHome: true, PrivateTmp: true,
     PrivateDevices: true, NoNewPrivileges: true, CapabilityBoundingSet: "", AmbientCapabilities: "",
     RestrictAddressFamilies: ["AF_INET", "AF_INET6"], SystemCallFilter: ["@system-service", "~@privileged"],
     SystemCallErrorNumber: "EPERM", SystemCallArchitectures: "native", MemoryDenyWriteExecute: true,
     LockPersonality: true, RestrictNamespaces: true, RestrictRealtime: true, RestrictSUIDSGID: true,
     ProtectKernelTunables: true, ProtectKernelModules: true, ProtectKernelLogs: true,
     ProtectControlGroups: true, ProtectClock: true, ProtectHostname: true, ProtectProc: "invisible",
     ProcSubset: "pid", PrivateMounts: true, RemoveIPC: true, UMask: "0077"};
   def expect_unit($name; $e; $exec; $env; $nofile; $listen; $v6only; $ports):
     unit($e) as $u | sock($e) as $k | $u.serviceConfig as $sc
     | expect($e.failedAssertions == []; "module (\($name)): assertions failed: \($e.failedAssertions)"),
       ((hardening | to_entries[]) as {key: $key, value: $want}
        | expect($sc[$key] == $want; "module (\($name)): \($key) is \($sc[$key] | tojson), expected \($want | tojson)")),
       expect($sc.ExecStart == $exec; "module (\($name)): ExecStart is \($sc.ExecStart), expected \($exec)"),
       expect($sc.LimitNOFILE == $nofile; "module (\($name)): LimitNOFILE is \($sc.LimitNOFILE), expected \($nofile)"),
       expect($sc.LimitNOFILE >= 2 * ($e.cfg.settings.HTTP_FILESERVER_MAX_CONNECTIONS);
         "module (\($name)): LimitNOFILE \($sc.LimitNOFILE) is below twice the connection cap"),
       expect($sc.Restart == "on-failure" and $sc.TimeoutStopSec == 30;
         "module (\($name)): Restart/TimeoutStopSec are \($sc.Restart)/\($sc.TimeoutStopSec)"),
       expect($u.environment == $env; "module (\($name)): environment is \($u.environment), expected \($env)"),
       expect($u.wantedBy == ["multi-user.target"] and $u.requires == ["http-fileserver.socket"]
         and $u.after == ["http-fileserver.socket"];
         "module (\($name)): the service is not started at boot after its socket: \($u | del(.serviceConfig, .environment))"),
       # Socket activation: systemd listens where the options say and passes the socket.
       expect($k.listenStreams == [$listen]; "module (\($name)): ListenStream is \($k.listenStreams), expected [\($listen)]"),
       expect($k.wantedBy == ["sockets.target"] and $k.socketConfig.Backlog == 4096;
         "module (\($name)): the socket unit is \($k)"),
       expect($k.socketConfig.BindIPv6Only == $v6only; "module (\($name)): BindIPv6Only is \($k.socketConfig.BindIPv6Only)"),
       expect(($e.config.networking.firewall.allowedTCPPorts // []) == $ports;
         "module (\($name)): firewall ports are \($e.config.networking.firewall.allowedTCPPorts)"),
       # The serviceConfig keys NixOS writes as they are: nothing the server could be
       # pointed elsewhere with.
       expect(($u.environment | keys | map(select(. == "PORT" or . == "HTTP_FILESERVER_BIND" or . == "HTTP_FILESERVER_ROOT"))) == [];
         "module (\($name)): the environment sets the listening address or root");

   # The option declarations and their defaults.
   ($m.minimal.options as $opts
    | expect($opts.enable == {type: "bool", hasDefault: true, default: false}; "module: enable is \($opts.enable)"),
      expect($opts.package.type == "package" and $opts.package.default == $bin;
        "module: package does not default to packages.<system>.default"),
      expect($opts.root == {type: "path", hasDefault: false}; "module: root is \($opts.root), expected a path without default"),
      expect($opts.port == {type: "port", hasDefault: true, default: 8080}; "module: port is \($opts.port)"),
      expect($opts.bind == {type: "str", hasDefault: true, default: "::"}; "module: bind is \($opts.bind)"),
      expect($opts.openFirewall == {type: "bool", hasDefault: true, default: false}; "module: openFirewall is \($opts.openFirewall)"),
      expect($opts.settings.type == "submodule" and $opts.settings.default == {}
        and $opts.settings.options.HTTP_FILESERVER_MAX_CONNECTIONS == {type: "positive int", hasDefault: true, default: 1024};
        "module: settings is \($opts.settings)")),
   expect_unit("minimal"; $m.minimal; "/nix/store/00000000000000000000000000000000-buildPackage-x86_64-unknown-linux-musl/bin/http-fileserver /srv/www";
     {HTTP_FILESERVER_MAX_CONNECTIONS: "1024"}; 2304; "[::]:8080"; "both"; []),
   expect_unit("full"; $m.full; "/nix/store/00000000000000000000000000000000-buildPackage-aarch64-unknown-linux-musl/bin/http-fileserver '/srv/my site'";
     {HTTP_FILESERVER_MAX_CONNECTIONS: "4096", HTTP_FILESERVER_NO_LISTING: "true", HTTP_FILESERVER_THREADS: "4",
      HTTP_FILESERVER_HEADERS: "Cache-Control: max-age=60\nX-Progress: 100%%", HTTP_FILESERVER_HEALTH_PATH: "/healthz"};
     8448; "127.0.0.1:80"; null; [80]),
   expect(sock($m.bracketed).listenStreams == ["[::1]:8080"] and sock($m.bracketed).socketConfig.BindIPv6Only == null;
     "module: bind [::1] listens on \(sock($m.bracketed).listenStreams)"),
   expect($m.conflicting.failedAssertions | length == 1 and (.[0] | test("PORT")); "module: settings.PORT is not refused: \($m.conflicting.failedAssertions)"),
   expect($m.disabled.config == null; "module: disabled, it still configures \($m.disabled.config)"),

   # The VM test: its server is the module; what it checks matches what the module sets.
   ($o.checks["x86_64-linux"]["nixos-module"] as $t
    | (unit($m.vmServer).serviceConfig.LimitNOFILE | tostring) as $nofile
    | expect($t.stub == "testers.runNixOSTest" and ($t.args.nodes | keys) == ["client", "server"]
        and $o.stubbed.vmServerImports == ["<function>"];
        "checks.nixos-module is not a two-node runNixOSTest importing the module: \($t.args | del(.testScript))"),
      expect($t.args.testScript | test("' \($nofile) '"); "checks.nixos-module does not check LimitNOFILE \($nofile), the module's value for its server"),
      expect(sock($m.vmServer).listenStreams == ["[::]:80"] and $m.vmServer.config.networking.firewall.allowedTCPPorts == [80];
        "checks.nixos-module: its server does not listen on port 80 through the firewall"),
      (["systemctl restart http-fileserver.service", "assert failed == 0", "LISTEN_FDS=1", "CapEff", "http://server/hello.txt", "/healthz"][] as $needle
       | expect($t.args.testScript | contains($needle); "checks.nixos-module's script lacks \($needle)"))),
   ($o.checks | to_entries[] | .key as $s | .value["nixos-module"] as $t
    | expect($t.stub == "testers.runNixOSTest"; "\($s): checks.nixos-module is \($t.stub)")),

   # overlays.default: pkgs.http-fileserver is this flake's package of that system.
   (systems[] as $s
    | expect($o.stubbed.overlayResults[$s] == {"http-fileserver": $o.packages[$s].default};
        "overlays.default on \($s) gives \($o.stubbed.overlayResults[$s] | keys), not packages.\($s).default")))
