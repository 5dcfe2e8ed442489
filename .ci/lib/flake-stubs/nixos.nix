# Stand-in for the NixOS module system (see ./default.nix): just enough of it to
# evaluate nixosModules.default without nixpkgs. It reads the module's option
# declarations, type-checks the values it is given against them (a wrong
# default or a value of the wrong type fails the evaluation, as in NixOS),
# fills in the defaults, resolves mkIf/mkDefault, and renders the systemd
# units the way NixOS does (nixos/lib/systemd-lib.nix: one Environment= line
# per variable, JSON-quoted; a list value repeats its key), so that the unit
# files can be verified by systemd itself.
{ lib }:
let
  inherit (builtins)
    all
    attrNames
    concatStringsSep
    filter
    isAttrs
    isBool
    isInt
    isList
    isString
    mapAttrs
    ;

  type = name: check: extra: { _type = "type"; inherit name check; } // extra;

  types = rec {
    str = type "str" isString { };
    bool = type "bool" isBool { };
    int = type "int" isInt { };
    ints.positive = type "positive int" (v: isInt v && v > 0) { };
    port = type "port" (v: isInt v && v >= 0 && v <= 65535) { };
    # As NixOS: a path value, or a string (or string-coercible set) that is absolute.
    path = type "path" (
      v: builtins.isPath v || ((isString v || v ? __toString || v ? outPath) && builtins.substring 0 1 "${v}" == "/")
    ) { };
    package = type "package" (v: isAttrs v && v ? stub) { };
    oneOf = ts: type "one of ${concatStringsSep ", " (map (t: t.name) ts)}" (v: builtins.any (t: t.check v) ts) { };
    attrsOf = t: type "attrs of ${t.name}" (v: isAttrs v && all (n: t.check v.${n}) (attrNames v)) { };
    listOf = t: type "list of ${t.name}" (v: isList v && all t.check v) { };
    submodule =
      m:
      type "submodule" isAttrs {
        inherit (m) options;
        freeformType = m.freeformType or null;
      };
  };

  isOption = x: isAttrs x && x._type or null == "option";

  # One option's value: the one given (type-checked), else its default.
  resolve =
    path: opt: given:
    let
      where = concatStringsSep "." path;
      value =
        if given != null then
          given
        else if opt ? default then
          opt.default
        else
          throw "stub NixOS: option ${where} is used but has no value and no default";
      sub = opt.type.options or null;
    in
    if sub != null then
      let
        declared = mapAttrs (n: o: resolve (path ++ [ n ]) o (value.${n} or null)) sub;
        free = removeAttrs value (attrNames sub);
      in
      if opt.type.freeformType != null && !(opt.type.freeformType.check free) then
        throw "stub NixOS: ${where} has a value outside ${opt.type.freeformType.name}: ${builtins.toJSON free}"
      else
        free // declared
    else if opt.type.check value then
      value
    else
      throw "stub NixOS: ${where} = ${builtins.toJSON value} is not a ${opt.type.name}";

  # Option declarations as JSON can show them: types by name, defaults when present.
  describe = mapAttrs (
    _: o:
    if isOption o then
      {
        type = o.type.name;
        hasDefault = o ? default;
      }
      // lib.optionalAttrs (o ? default) { inherit (o) default; }
      // lib.optionalAttrs (o.type ? options) { options = describe o.type.options; }
    else
      describe o
  );

  # mkIf / mkDefault resolved; a false mkIf leaves nothing behind.
  unwrap =
    x:
    if isAttrs x && x._type or null == "if" then
      (if x.condition then unwrap x.content else null)
    else if isAttrs x && x._type or null == "override" then
      unwrap x.content
    else if isAttrs x && !(x ? stub) && !(x ? __toString) then
      lib.filterAttrs (_: v: v != null) (mapAttrs (_: unwrap) x)
    else if isList x then
      map unwrap x
    else
      x;

  # nixos/lib/systemd-lib.nix: how a unit option's value is written.
  toOption =
    v:
    if v == true then
      "true"
    else if v == false then
      "false"
    else
      toString v;
  section = attrs: concatStringsSep "" (
    lib.concatMap (
      n: map (v: "${n}=${toOption v}\n") (if isList attrs.${n} then attrs.${n} else [ attrs.${n} ])
    ) (attrNames attrs)
  );
  unitSection =
    def:
    section (
      lib.optionalAttrs (def ? description) { Description = def.description; }
      // lib.optionalAttrs (def ? documentation) { Documentation = concatStringsSep " " def.documentation; }
      // lib.optionalAttrs (def ? requires) { Requires = def.requires; }
      // lib.optionalAttrs (def ? after) { After = def.after; }
    );
  installSection =
    def: lib.optionalString (def ? wantedBy) "[Install]\nWantedBy=${concatStringsSep " " def.wantedBy}\n";
in
{
  lib = lib // {
    inherit types;
    mkOption = args: { _type = "option"; } // args;
    mkEnableOption = what: {
      _type = "option";
      type = types.bool;
      default = false;
      description = "Whether to enable ${what}.";
    };
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkDefault = content: {
      _type = "override";
      priority = 1000;
      inherit content;
    };
    literalExpression = text: {
      _type = "literalExpression";
      inherit text;
    };
  };

  # MODULE (a NixOS module function) evaluated with the option values VALUES
  # for services.http-fileserver, on SYSTEM.
  eval =
    {
      module,
      values,
      system,
      stubLib,
    }:
    let
      pkgs.stdenv.hostPlatform.system = system;
      declared = (module {
        config = config;
        lib = stubLib;
        inherit pkgs;
      }).options.services.http-fileserver;
      unknown = attrNames (removeAttrs values (attrNames declared));
      cfg =
        if unknown != [ ] then
          throw "stub NixOS: the option services.http-fileserver.${builtins.head unknown} does not exist"
        else
          mapAttrs (n: o: resolve [ "services" "http-fileserver" n ] o (values.${n} or null)) declared;
      config.services.http-fileserver = cfg;
      result = module {
        inherit config pkgs;
        lib = stubLib;
      };
      out = unwrap result.config;
      service = out.systemd.services.http-fileserver or null;
      socket = out.systemd.sockets.http-fileserver or null;
    in
    {
      options = describe declared;
      inherit cfg;
      config = out;
      failedAssertions = map (a: a.message) (filter (a: !a.assertion) (out.assertions or [ ]));
      units = lib.optionalAttrs (service != null && socket != null) {
        "http-fileserver.service" =
          "[Unit]\n"
          + unitSection service
          + "\n[Service]\n"
          + concatStringsSep "" (
            map (n: "Environment=${builtins.toJSON "${n}=${service.environment.${n}}"}\n") (
              attrNames service.environment
            )
          )
          + section service.serviceConfig
          + "\n"
          + installSection service;
        "http-fileserver.socket" =
          "[Unit]\n"
          + unitSection socket
          + "\n[Socket]\n"
          + section ({ ListenStream = socket.listenStreams; } // socket.socketConfig)
          + "\n"
          + installSection socket;
      };
    };
}
