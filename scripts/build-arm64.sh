#!/usr/bin/env bash
# `npm run build:arm64`: cross-builds the aarch64 addon on x86_64 Debian bookworm, giving
# <binaryName>.linux-arm64-gnu.node at the package root. rustup cannot download the aarch64 std
# here, so the compiler is Debian's rustc-web 1.96 with its arm64 std (same version, enforced by
# Multi-Arch: same); the linker and glibc 2.17 sysroot come from napi-rs's npm cross toolchain
# (`--use-napi-cross`, fetched by `npm pack` into ~/.napi-rs on first use).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64-common.sh

log "Debian Rust toolchain with the arm64 std, and qemu for test:arm64"
ensure_apt rustc-web cargo-web libstd-rust-web-dev:arm64 qemu-user-static binutils file

# Use Debian's rustc through rustup when there is one (its proxies come first on PATH).
if command -v rustup >/dev/null; then
  rustup toolchain list | grep -q '^debian-web' || rustup toolchain link debian-web /usr
  export RUSTUP_TOOLCHAIN=debian-web
else
  export CARGO=/usr/bin/cargo RUSTC=/usr/bin/rustc
fi
log "$(rustc --version)"
libdir=$(rustc --print target-libdir --target aarch64-unknown-linux-gnu)
ls "$libdir"/libstd-*.rlib >/dev/null || { echo "no aarch64 std in $libdir" >&2; exit 1; }

[ -x node_modules/.bin/napi ] || { log "npm ci"; npm ci --no-audit --no-fund; }

# The cross toolchain's gcc predates __ARM_ARCH on aarch64, which ring's assembly (rustls, for
# the web panel's TLS) requires: define it as the ARMv8 the target is.
export CFLAGS_aarch64_unknown_linux_gnu="${CFLAGS_aarch64_unknown_linux_gnu:-} -D__ARM_ARCH=8"
log "napi build --target aarch64-unknown-linux-gnu --use-napi-cross"
# Own target dir: artifacts of rustc 1.96 and the host's rustc stay apart.
npx napi build --platform --release --target aarch64-unknown-linux-gnu --use-napi-cross \
  --target-dir target/debian-web --js binding.cjs --dts binding.d.cts

check_node_file "$ARM64_NODE_FILE" "ARM aarch64"
log "built $ARM64_NODE_FILE"
