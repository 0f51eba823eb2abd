#!/usr/bin/env bash
# `npm run build:x64`: the x86_64 addon as it is published, <binaryName>.linux-x64-gnu.node at the
# package root, linked by napi-rs's npm cross toolchain against its glibc 2.17 sysroot. (`npm run
# build` links against the build machine's glibc: on bookworm the result needs GLIBC_2.34.)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64-common.sh
TRIPLE=x86_64-unknown-linux-gnu
# The only x86_64 toolchain package this registry serves (the aarch64 one is 1.0.3).
TOOLCHAIN_PACKAGE=@napi-rs/cross-toolchain-x64-target-x86_64@1.0.0

ensure_apt binutils file xz-utils
[ -x node_modules/.bin/napi ] || { log "npm ci"; npm ci --no-audit --no-fund; }

# `--use-napi-cross` would `npm pack` the toolchain of the installed @napi-rs/cross-toolchain's own
# version, which does not exist for x86_64 here. Unpacked where the CLI looks, it is used as is.
tc_version=$(node -p "require('@napi-rs/cross-toolchain/package.json').version")
tc_dir="$HOME/.napi-rs/cross-toolchain/$tc_version/$TRIPLE"
if [ ! -f "$tc_dir/package.json" ]; then
  log "fetching $TOOLCHAIN_PACKAGE into $tc_dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$TOOLCHAIN_PACKAGE" >/dev/null && tar xzf ./*.tgz)
  rm -rf "$tc_dir" && mkdir -p "$tc_dir"
  tar xJf "$tmp/package/$TRIPLE.tar.xz" -C "$tc_dir"
  [ -f "$tc_dir/package.json" ] || { echo "unexpected layout of $TOOLCHAIN_PACKAGE" >&2; exit 1; }
fi

log "napi build --target $TRIPLE --use-napi-cross"
# Same target dir as `npm run build`: crates whose build depends on the linker are redone (about
# half of them), the rest is shared (2.5 min instead of 7.5 here).
npx napi build --platform --release --target "$TRIPLE" --use-napi-cross --js binding.cjs --dts binding.d.cts

check_node_file "$X64_NODE_FILE" "x86-64"
log "built $X64_NODE_FILE"
