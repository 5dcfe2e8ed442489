# checks.nixos-module: nixosModules.default on a booted NixOS. A client
# fetches a file from the server through the firewall on port 80 (bound by
# systemd, so the service needs no capability), the unit runs unprivileged
# with the hardening and file limit the module sets, and the service restarts
# three times while clients keep requesting, without one failed request:
# with socket activation, connections that arrive during a restart wait in
# the socket's backlog for the next process.
{
  pkgs,
  nixosModule,
}:
let
  site = pkgs.runCommand "http-fileserver-test-site" { } ''
    mkdir -p $out/sub
    echo hello >$out/hello.txt
    head -c 100000 /dev/zero | tr '\0' x >$out/sub/big.txt
  '';

  # One client loop: a fresh connection per request, until /tmp/stop exists;
  # counts answers that are right and those that are not.
  load = pkgs.writeShellScript "http-fileserver-load" ''
    ok=0 failed=0
    while [ ! -e /tmp/stop ]; do
      if ${pkgs.curl}/bin/curl -fsS --max-time 10 -o /tmp/got-$1 http://server/sub/big.txt \
        && ${pkgs.diffutils}/bin/cmp -s /tmp/got-$1 ${site}/sub/big.txt; then
        ok=$((ok + 1))
      else
        failed=$((failed + 1))
      fi
    done
    echo "$ok $failed" >/tmp/result-$1
  '';
in
pkgs.testers.runNixOSTest {
  name = "http-fileserver-module";

  nodes.server = {
    imports = [ nixosModule ];
    services.http-fileserver = {
      enable = true;
      root = site;
      port = 80;
      openFirewall = true;
      settings = {
        HTTP_FILESERVER_HEALTH_PATH = "/healthz";
        HTTP_FILESERVER_MAX_CONNECTIONS = 2000;
      };
    };
  };

  nodes.client = {
    environment.systemPackages = [ pkgs.curl ];
  };

  testScript = ''
    import time

    start_all()
    server.wait_for_unit("http-fileserver.socket")
    server.wait_for_unit("http-fileserver.service")
    server.wait_for_open_port(80)
    client.wait_for_unit("multi-user.target")

    with subtest("serves a file through the firewall on port 80"):
        client.succeed("curl -fsS http://server/hello.txt | grep -qx hello")
        client.succeed("curl -fsS http://server/healthz | grep -qx ok")

    with subtest("runs unprivileged, with the limits and hardening of the module"):
        pid = server.succeed("systemctl show -P MainPID http-fileserver.service").strip()
        assert pid != "0", "the service has no main process"
        uid = server.succeed(f"awk '/^Uid:/ {{ print $2 }}' /proc/{pid}/status").strip()
        assert uid != "0", "the server runs as root"
        server.succeed(f"grep -qE '^CapEff:\\s+0+$' /proc/{pid}/status")
        server.succeed(f"grep -qE '^NoNewPrivs:\\s+1$' /proc/{pid}/status")
        server.succeed(f"grep -qE '^Seccomp:\\s+2$' /proc/{pid}/status")
        server.succeed(f"grep -E '^Max open files' /proc/{pid}/limits | grep -q ' 4256 '")
        # The listening socket is systemd's, passed in: the server bound nothing.
        server.succeed(f"test \"$(tr '\\0' '\\n' </proc/{pid}/environ | grep -c '^LISTEN_FDS=1$')\" = 1")

    with subtest("restarts under load without a failed request"):
        for i in range(4):
            client.succeed(f"systemd-run --unit=load-{i} ${load} {i}")
        time.sleep(3)
        pids = {pid}
        for _ in range(3):
            server.succeed("systemctl restart http-fileserver.service")
            time.sleep(2)
            pids.add(server.succeed("systemctl show -P MainPID http-fileserver.service").strip())
        assert len(pids) == 4, f"expected 4 server processes over 3 restarts, saw {pids}"
        client.succeed("touch /tmp/stop")
        for i in range(4):
            client.wait_for_file(f"/tmp/result-{i}")
            ok, failed = map(int, client.succeed(f"cat /tmp/result-{i}").split())
            print(f"client loop {i}: {ok} answers right, {failed} failed")
            assert failed == 0, f"client loop {i}: {failed} requests failed across the restarts"
            assert ok > 0, f"client loop {i} got no answer"
        server.succeed("curl -fsS http://localhost/hello.txt | grep -qx hello")
  '';
}
