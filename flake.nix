{
  description = "http-fileserver: a static-file HTTP server, built as a static musl binary and a one-file scratch image";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-26.05";

    crane.url = "github:ipetkov/crane";

    rust-overlay = {
      url = "github:oxalica/rust-overlay";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      nixpkgs,
      crane,
      rust-overlay,
      ...
    }:
    let
      # Linux only: the point of the build is a static musl binary for a scratch image.
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];

      # Evaluate each system once and project the outputs from it, so that
      # `nix flake check` does not instantiate nixpkgs once per output kind.
      perSystem = nixpkgs.lib.genAttrs systems (
        system:
        import ./nix {
          pkgs = import nixpkgs {
            inherit system;
            overlays = [ (import rust-overlay) ];
          };
          inherit crane nixosModule;
          root = ./.;
        }
      );

      each = f: builtins.mapAttrs (_: f) perSystem;

      # default and image are for the build machine's CPU; image-aarch64 and
      # http-fileserver-aarch64 (on x86_64-linux), and image-x86_64 and
      # http-fileserver-x86_64 (on aarch64-linux), are cross-built for the other.
      packages = each (
        p:
        {
          default = p.http-fileserver;
          inherit (p) image;
        }
        // p.crossPackages
      );

      # services.http-fileserver; its package defaults to this flake's.
      nixosModule = import ./nix/module.nix { inherit packages; };
    in
    {
      inherit packages;

      nixosModules.default = nixosModule;

      # pkgs.http-fileserver: this flake's build, not one with the user's
      # nixpkgs; a static binary takes nothing from it at run time.
      overlays.default = final: _prev: {
        http-fileserver = packages.${final.stdenv.hostPlatform.system}.default;
      };

      # `nix run` serves ./public (the binary's default root); `nix run . -- DIR` serves DIR.
      apps = each (p: {
        default = {
          type = "app";
          program = "${p.http-fileserver}/bin/http-fileserver";
          meta.description = "Serve a directory over HTTP (default ./public)";
        };
      });

      checks = each (p: p.checks);

      devShells = each (p: {
        default = p.devShell;
      });

      # nixfmt-tree formats the whole tree; bare nixfmt, given no file, waits on stdin.
      formatter = each (p: p.pkgs.nixfmt-tree);
    };
}
