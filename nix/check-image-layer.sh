#!/usr/bin/env bash
# Proves the http-fileserver image shape on an image tarball: one layer that
# holds exactly one static binary (mode 0555, owner 0:0) for the image's
# architecture (amd64 or arm64), its relocations packed if it is
# position-independent, nothing from /nix/store, and the config the contract
# names.
#
# The same script runs in the Nix sandbox (checks.image-layer, on the
# gzip'd docker-archive of dockerTools.buildImage) and on a real engine's
# `docker save` output (.ci/image-test): legacy layout (<id>/layer.tar) and
# OCI layout (blobs/sha256/...) both carry manifest.json, which is all we read.
# Tools: bash, tar, gzip, jq, coreutils, readelf; nothing that needs a network.
#
# Usage: check-image-layer.sh IMAGE_TARBALL [BINARY_NAME]   (default http-fileserver)
set -euo pipefail

prog=check-image-layer
die() {
  echo "$prog: FAIL: $*" >&2
  exit 1
}
ok() { echo "$prog: ok: $*"; }

[[ $# -ge 1 && $# -le 2 ]] || die "usage: $prog IMAGE_TARBALL [BINARY_NAME]"
archive=$1
name=${2:-http-fileserver}
[[ -f $archive ]] || die "no such file: $archive"
for tool in tar gzip jq sha256sum readelf; do
  command -v "$tool" >/dev/null || die "needs $tool on PATH"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

is_gzip() { [[ $(od -An -tx1 -N2 "$1" | tr -d ' \n') == 1f8b ]]; }

# Work on a plain tar; members are read one at a time to stdout, so the
# archive's read-only directories are never unpacked.
image=$work/image.tar
if is_gzip "$archive"; then gzip -dc "$archive" >"$image"; else cp "$archive" "$image"; fi
member() { tar -xOf "$image" "$1" 2>/dev/null || die "archive has no member $1"; }

member manifest.json >"$work/manifest.json"
jq -e 'type == "array"' "$work/manifest.json" >/dev/null || die "manifest.json is not a JSON array"
images=$(jq length "$work/manifest.json")
[[ $images == 1 ]] || die "manifest.json lists $images images, expected 1"
layers=$(jq '.[0].Layers | length' "$work/manifest.json")
[[ $layers == 1 ]] || die "image has $layers layers, expected exactly 1"
layer_member=$(jq -r '.[0].Layers[0]' "$work/manifest.json")
config_member=$(jq -r '.[0].Config' "$work/manifest.json")
ok "1 image with 1 layer ($layer_member)"

# diff_ids name the uncompressed layer; an OCI-layout save may hold it gzip'd.
layer=$work/layer.tar
member "$layer_member" >"$work/layer.blob"
if is_gzip "$work/layer.blob"; then gzip -dc "$work/layer.blob" >"$layer"; else mv "$work/layer.blob" "$layer"; fi

member "$config_member" >"$work/config.json"
config=$work/config.json
diff_ids=$(jq -c '.rootfs.diff_ids' "$config")
layer_sha="sha256:$(sha256sum "$layer" | cut -d' ' -f1)"
[[ $diff_ids == "[\"$layer_sha\"]" ]] ||
  die "rootfs.diff_ids is $diff_ids, expected [\"$layer_sha\"] (sha256 of the layer tar)"
ok "rootfs.diff_ids[0] = $layer_sha"

# The listing: every entry must be the root directory or the binary.
tar -tf "$layer" >"$work/names" || die "layer is not a readable tar"
# First the store: a closure appended by dockerTools is the likeliest intruder.
while IFS= read -r entry; do
  [[ $entry != *nix/store* ]] || die "layer contains a /nix/store path: $entry"
done <"$work/names"
bin_entry=""
while IFS= read -r entry; do
  rel=${entry#./}
  rel=${rel#/}
  rel=${rel%/}
  if [[ -z $rel || $rel == . ]]; then
    continue
  elif [[ $rel == "$name" && -z $bin_entry ]]; then
    bin_entry=$entry
  else
    die "layer must hold only /$name: unexpected entry '$entry'"
  fi
done <"$work/names"
[[ -n $bin_entry ]] || die "layer has no /$name"
ok "layer entries: $(tr '\n' ' ' <"$work/names")(no /nix/store)"

# Mode and numeric owner of the binary, as tar records them.
read -r perms owner _ < <(tar -tvf "$layer" --numeric-owner "$bin_entry")
[[ $perms == -r-xr-xr-x ]] || die "/$name has mode $perms, expected -r-xr-xr-x (regular file, 0555)"
[[ $owner == 0/0 ]] || die "/$name is owned by $owner, expected 0/0"
ok "/$name is a regular file, mode 0555, owner 0/0"

# Static: an ELF with loadable segments and no PT_INTERP (no dynamic loader).
tar -xOf "$layer" "$bin_entry" >"$work/bin"
readelf --file-header "$work/bin" >/dev/null 2>&1 || die "/$name is not an ELF file"
phdrs=$(readelf --program-headers --wide "$work/bin")
[[ $phdrs =~ [[:space:]]LOAD[[:space:]] ]] || die "/$name has no loadable segments"
if [[ $phdrs =~ [[:space:]]INTERP[[:space:]] ]]; then
  interp=PT_INTERP
  [[ $phdrs =~ interpreter:\ ([^]]+)\] ]] && interp=${BASH_REMATCH[1]}
  die "/$name requests a program interpreter ($interp): it is not statically linked"
fi
ok "/$name is a static ELF (no PT_INTERP)"

# A position-independent binary (the x86-64 build) carries its relocations packed, as
# .cargo/config.toml asks: without them (120 KB more) the build did not read that file.
if [[ $(readelf --file-header "$work/bin") =~ Type:\ +DYN ]]; then
  readelf --dynamic "$work/bin" | grep -qF '(RELR)' ||
    die "/$name is position-independent without packed relocations (RELR): was .cargo/config.toml left out of the build?"
  ok "/$name carries packed relocations (RELR)"
fi

# The binary must be built for the CPU the image declares: a cross build mixed up
# would otherwise only fail on the first node of the other architecture.
arch=$(jq -r '.architecture // "(none)"' "$config")
case $arch in
  amd64) want_machine="Advanced Micro Devices X86-64" ;;
  arm64) want_machine=AArch64 ;;
  *) die "config: architecture is $arch, expected amd64 or arm64" ;;
esac
machine=$(readelf --file-header "$work/bin" | sed -n 's/^ *Machine: *//p')
[[ $machine == "$want_machine" ]] ||
  die "/$name is an ELF for '$machine', but the image's architecture is $arch ('$want_machine')"
[[ $(jq -r '.os' "$config") == linux ]] || die "config: os is $(jq -r '.os' "$config"), expected linux"
ok "/$name is an $machine ELF, as architecture $arch (os linux) requires"

# The runtime config of the contract; no store path may hide in it either.
expect_config() { # FILTER (with $n = binary name), WHAT, FILTER for the actual value
  jq -e --arg n "$name" "$1" "$config" >/dev/null ||
    die "config: expected $2, got $(jq -c "$3" "$config")"
}
# shellcheck disable=SC2016 # $n is a jq variable, bound by --arg
expect_config '.config.Entrypoint == ["/" + $n]' "Entrypoint [\"/$name\"]" .config.Entrypoint
expect_config '.config.User == "65534:65534"' 'User "65534:65534"' .config.User
expect_config '.config.WorkingDir == "/"' 'WorkingDir "/"' .config.WorkingDir
expect_config '(.config.ExposedPorts // {}) | has("8080/tcp")' 'ExposedPorts with "8080/tcp"' .config.ExposedPorts
# shellcheck disable=SC2016
expect_config '.config.Healthcheck.Test == ["CMD", "/" + $n, "healthcheck"]' \
  "Healthcheck.Test [\"CMD\", \"/$name\", \"healthcheck\"]" .config.Healthcheck
[[ $(<"$config") != *nix/store* ]] || die "config mentions /nix/store"
ok "config: Entrypoint [\"/$name\"], User 65534:65534, WorkingDir /, ExposedPorts 8080/tcp, Healthcheck; no /nix/store"

echo "$prog: PASS: $archive"
