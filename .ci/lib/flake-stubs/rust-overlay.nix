# Stand-in for rust-overlay's overlay (see ./default.nix). Only the releases the
# flake pins exist here, as in rust-overlay only released versions do: pinning
# another one means adding it here after checking rust-overlay has it at the
# locked revision (manifests/stable/VERSION.nix).
final: prev: {
  rust-bin.stable."1.95.0".default.override = args: {
    stub = "rust-bin.stable.1.95.0.default";
    inherit args;
  };
}
