# nixosModules.default: services.http-fileserver, a socket-activated, hardened
# systemd service.
#
# systemd owns the listening socket (http-fileserver.socket) and hands it to
# the server as fd 3 (LISTEN_FDS/LISTEN_PID). So the service needs no
# capability even for port 80, and a restart loses no connection: while one
# process drains and the next starts, new connections wait in the socket's
# backlog, which systemd keeps open.
#
# The flake passes its packages in, for the default of `package`.
{ packages }:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  inherit (lib)
    mkEnableOption
    mkIf
    mkOption
    types
    ;

  cfg = config.services.http-fileserver;
  system = pkgs.stdenv.hostPlatform.system;

  # The binary needs about two descriptors per connection (the socket and the
  # file it sends), and warns at start-up below twice the cap; the rest covers
  # the listening socket, epoll, the log and files opened for listings.
  maxConnections = cfg.settings.HTTP_FILESERVER_MAX_CONNECTIONS;
  fileLimit = 2 * maxConnections + 256;

  # The variables systemd's unit gets, as strings. "%" starts a specifier in
  # Environment=, so it is doubled; NixOS quotes and escapes the rest (a
  # newline in HTTP_FILESERVER_HEADERS included).
  render =
    v:
    if builtins.isBool v then
      (if v then "true" else "false")
    else
      builtins.replaceStrings [ "%" ] [ "%%" ] (toString v);
  environment = builtins.mapAttrs (_: render) cfg.settings;

  # ListenStream= takes [v6]:port and v4:port.
  bareBind = lib.removePrefix "[" (lib.removeSuffix "]" cfg.bind);
  listenStream =
    if lib.hasInfix ":" bareBind then
      "[${bareBind}]:${toString cfg.port}"
    else
      "${bareBind}:${toString cfg.port}";

  # Set through the options above, which the socket unit uses; as variables
  # they would name a socket the server no longer binds.
  socketVariables = [
    "PORT"
    "HTTP_FILESERVER_BIND"
    "HTTP_FILESERVER_ROOT"
  ];
in
{
  options.services.http-fileserver = {
    enable = mkEnableOption "http-fileserver, a static-file HTTP server";

    package = mkOption {
      type = types.package;
      default =
        packages.${system}.default
          or (throw "http-fileserver builds for x86_64-linux and aarch64-linux, not ${system}: set services.http-fileserver.package");
      defaultText = lib.literalExpression "http-fileserver.packages.\${pkgs.stdenv.hostPlatform.system}.default";
      description = "The http-fileserver package (a static binary).";
    };

    root = mkOption {
      type = types.path;
      example = "/srv/www";
      description = ''
        The directory to serve. It must be readable by an unprivileged user
        (the service runs as a dynamic user) and lie outside /home, /root and
        /run/user, which the service cannot see (ProtectHome). A store path
        works too.
      '';
    };

    port = mkOption {
      type = types.port;
      default = 8080;
      example = 80;
      description = "TCP port of the listening socket. Any port works, 80 included: systemd binds it, not the server.";
    };

    bind = mkOption {
      type = types.str;
      default = "::";
      example = "127.0.0.1";
      description = ''
        IP address of the listening socket. The default, `::`, accepts IPv6
        and IPv4 connections on every address.
      '';
    };

    openFirewall = mkOption {
      type = types.bool;
      default = false;
      description = "Open `port` in the firewall.";
    };

    settings = mkOption {
      type = types.submodule {
        freeformType = types.attrsOf (
          types.oneOf [
            types.str
            types.int
            types.bool
          ]
        );
        options.HTTP_FILESERVER_MAX_CONNECTIONS = mkOption {
          type = types.ints.positive;
          default = 1024;
          description = ''
            Most open connections (the binary's default). The unit's
            LimitNOFILE is sized from it: twice this, plus 256.
          '';
        };
      };
      default = { };
      example = {
        HTTP_FILESERVER_HEALTH_PATH = "/healthz";
        HTTP_FILESERVER_NO_LISTING = true;
        HTTP_FILESERVER_HEADERS = "Strict-Transport-Security: max-age=31536000\nX-Frame-Options: DENY";
        HTTP_FILESERVER_SHUTDOWN_GRACE = "10s";
      };
      description = ''
        The server's options as its environment variables (`http-fileserver
        --help` lists every one): booleans become true/false, numbers
        strings. Port, address and root are set by `port`, `bind` and `root`.
      '';
    };
  };

  config = mkIf cfg.enable {
    assertions = [
      {
        assertion = builtins.all (v: !(cfg.settings ? ${v})) socketVariables;
        message = "services.http-fileserver.settings: set ${lib.concatStringsSep ", " socketVariables} through services.http-fileserver.port, .bind and .root; the socket unit listens there.";
      }
    ];

    systemd.sockets.http-fileserver = {
      description = "http-fileserver listening socket";
      wantedBy = [ "sockets.target" ];
      listenStreams = [ listenStream ];
      socketConfig = {
        # Connections that arrive while the service restarts queue here.
        Backlog = 4096;
      }
      # Both families on ::, whatever net.ipv6.bindv6only says.
      // lib.optionalAttrs (bareBind == "::") { BindIPv6Only = "both"; };
    };

    systemd.services.http-fileserver = {
      description = "http-fileserver static-file HTTP server";
      documentation = [ "https://github.com/http-fileserver/http-fileserver" ];
      # Started at boot, not on the first connection: a server should be warm.
      wantedBy = [ "multi-user.target" ];
      requires = [ "http-fileserver.socket" ];
      after = [ "http-fileserver.socket" ];
      inherit environment;
      serviceConfig = {
        # Interpolated, so that a path literal is copied to the store rather
        # than naming a directory of the machine that evaluated it.
        ExecStart = "${lib.getExe cfg.package} ${lib.escapeShellArg "${cfg.root}"}";
        Restart = "on-failure";
        # On SIGTERM the server finishes requests in flight within its shutdown
        # grace (5 s unless HTTP_FILESERVER_SHUTDOWN_GRACE says otherwise) and
        # exits 0; raise this with a longer grace.
        TimeoutStopSec = lib.mkDefault 30;
        LimitNOFILE = fileLimit;

        # No identity and no privilege: systemd binds the port.
        DynamicUser = true;
        CapabilityBoundingSet = "";
        AmbientCapabilities = "";
        NoNewPrivileges = true;

        # Read-only view of the system, nothing of the users'.
        ProtectSystem = "strict";
        ProtectHome = true;
        PrivateTmp = true;
        PrivateDevices = true;
        ProtectKernelTunables = true;
        ProtectKernelModules = true;
        ProtectKernelLogs = true;
        ProtectControlGroups = true;
        ProtectClock = true;
        ProtectHostname = true;
        # /proc/self stays: the symlink check reads /proc/self/fd.
        ProtectProc = "invisible";
        ProcSubset = "pid";
        PrivateMounts = true;
        UMask = "0077";

        # The server accepts TCP on the socket it is given and opens no other kind.
        RestrictAddressFamilies = [
          "AF_INET"
          "AF_INET6"
        ];
        RestrictNamespaces = true;
        RestrictRealtime = true;
        RestrictSUIDSGID = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RemoveIPC = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [
          "@system-service"
          "~@privileged"
        ];
        SystemCallErrorNumber = "EPERM";
      };
    };

    networking.firewall.allowedTCPPorts = mkIf cfg.openFirewall [ cfg.port ];
  };
}
