# Stand-in for rust-overlay's overlay (see ./default.nix).
final: prev: {
  rust-bin.stable.latest.default.override = args: {
    stub = "rust-bin.stable.latest.default";
    inherit args;
  };
}
