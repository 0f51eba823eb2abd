#!/usr/bin/env bash
# `npm run pack:check`: the release as npm would publish it, installed as a user installs it.
# 1. Checks both binaries against the stated glibc floor (objdump -T).
# 2. In a copy of the package, runs the release flow's `napi artifacts` and `napi prepublish`
#    (without publishing), checks `npm publish --dry-run` of each package prints no warning, and
#    packs the main package and both platform packages.
# 3. In a fresh project with no cargo or rustc on PATH: installs the x64 tarballs, imports the API,
#    runs the LED example on a free 127.0.0.1 port, strict-compiles the README's first driver with
#    each TypeScript version below, runs `npx indi-node --help` and `--version`.
# 4. Installs the arm64 tarballs and runs them under qemu (scripts/test-arm64.sh).
# Needs `npm run build:ts`, `npm run build:x64` and `npm run build:arm64` first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
source scripts/arm64-common.sh
# The newest TypeScript, the one this package is built with, and the oldest stated as supported.
TS_VERSIONS=(7.0.2 6.0.3 5.0.4)
NAME=$(node -p "require('./package.json').name")
VERSION=$(node -p "require('./package.json').version")
NAPI=$ROOT/node_modules/.bin/napi

fail() { echo "pack:check: $*" >&2; exit 1; }

log "1. both binaries against the glibc floor"
[ -f dist/index.js ] || fail "no dist/: npm run build:ts first"
for f in "$X64_NODE_FILE" "$ARM64_NODE_FILE"; do [ -f "$f" ] || fail "no $f: npm run build:x64 and npm run build:arm64 first"; done
check_node_file "$X64_NODE_FILE" x86-64
check_node_file "$ARM64_NODE_FILE" "ARM aarch64"

work=$ROOT/.cache/pack-check
stage=$work/stage tarballs=$work/tarballs
rm -rf "$work" && mkdir -p "$stage" "$tarballs"
# Outside the repository, so nothing resolves from its node_modules.
app=$(mktemp -d -t indi-node-pack-check-XXXXXX)
led_pid=
cleanup() {
  [ -z "$led_pid" ] || kill "$led_pid" 2>/dev/null || true
  rm -rf "$app"
}
trap cleanup EXIT
cp -r package.json README.md LICENSE CHANGELOG.md binding.cjs binding.d.cts dist npm scripts "$stage/"
cp "$X64_NODE_FILE" "$ARM64_NODE_FILE" "$stage/"
ln -s "$ROOT/node_modules" "$stage/node_modules"

log "2. release flow in a copy: napi artifacts, napi prepublish -t npm --no-gh-release --skip-optional-publish"
"$NAPI" artifacts --cwd "$stage" -d .
"$NAPI" prepublish --cwd "$stage" -t npm --no-gh-release --skip-optional-publish
for dir in "$stage" "$stage/npm/linux-x64-gnu" "$stage/npm/linux-arm64-gnu"; do
  out=$(cd "$dir" && npm publish --dry-run 2>&1) || { echo "$out"; fail "npm publish --dry-run failed in $dir"; }
  # Not logged in to the registry is this machine's state, not the package's.
  if grep -i 'warn' <<<"$out" | grep -v 'requires you to be logged in'; then fail "npm publish --dry-run warns in $dir"; fi
  echo "npm publish --dry-run ($(node -p "require('$dir/package.json').name")): no warning"
  (cd "$dir" && npm pack --silent --pack-destination "$tarballs" >/dev/null)
done
ls -l "$tarballs"
main_tgz=$tarballs/$NAME-$VERSION.tgz
node scripts/pack-check/tarball.mjs "$main_tgz" "$work"

log "3. x64: install the tarballs in a fresh project, with cargo and rustc unavailable"
norust=$work/no-rust && mkdir -p "$norust"
for tool in cargo rustc rustup; do
  printf '#!/bin/sh\necho "%s $*" >> "%s/called"\nexit 127\n' "$tool" "$norust" > "$norust/$tool"
  chmod +x "$norust/$tool"
done
export PATH="$norust:$PATH"
[ "$(command -v cargo)" = "$norust/cargo" ] && [ "$(command -v rustc)" = "$norust/rustc" ] || fail "cannot hide cargo/rustc"
cd "$app"
echo '{"private": true, "type": "module"}' > package.json
ts_deps=()
for v in "${TS_VERSIONS[@]}"; do ts_deps+=("ts$v@npm:typescript@$v"); done
npm install --no-audit --no-fund --loglevel=error "$main_tgz" "$tarballs/$NAME-linux-x64-gnu-$VERSION.tgz"
npm install --no-audit --no-fund --loglevel=error --save-dev "${ts_deps[@]}" @types/node@20
ls node_modules/"$NAME"/*.node 2>/dev/null && fail "the main package must not carry .node files"

log "3a. import the API"
# Run from inside the project: from scripts/ 'indi-node' would resolve to this repository.
cp "$ROOT/scripts/pack-check/api.mjs" . && node api.mjs

log "3b. the LED example on TCP"
port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
INDI_NODE_GPIO= node "node_modules/$NAME/dist/examples/led.js" --host 127.0.0.1 --port "$port" > led.log 2>&1 &
led_pid=$!
for _ in $(seq 100); do
  node -e "require('net').connect($port,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" && break
  kill -0 "$led_pid" 2>/dev/null || { cat led.log; fail "the LED example exited"; }
  sleep 0.1
done
node "$ROOT/scripts/pack-check/led-client.mjs" "$port" || { cat led.log; fail "LED example"; }
kill "$led_pid" && wait "$led_pid" 2>/dev/null || true
led_pid=

log "3c. strict compile of the README's first driver"
awk '/^```ts$/ { n++; if (n == 1) { on = 1; next } } /^```$/ { if (on) exit } on' "$ROOT/README.md" > driver.ts
grep -q "from 'indi-node'" driver.ts || fail "README's first driver not found"
# No "types" and no skipLibCheck: TypeScript 6+ then loads no @types by default, and the package's
# declarations are checked too.
echo '{"compilerOptions": {"strict": true, "module": "nodenext", "target": "es2022", "noEmit": true}, "files": ["driver.ts"]}' > tsconfig.json
for v in "${TS_VERSIONS[@]}"; do
  node "node_modules/ts$v/bin/tsc" -p . || fail "TypeScript $v"
  echo "TypeScript $(node "node_modules/ts$v/bin/tsc" -v | sed 's/Version //'): strict compile ok"
done

log "3d. npx $NAME --help / --version"
npx --no-install "$NAME" --help | head -3
[ "$(npx --no-install "$NAME" --version)" = "$NAME $VERSION" ] || fail "--version"
echo "$NAME --version: $NAME $VERSION"
[ ! -e "$norust/called" ] || { cat "$norust/called"; fail "cargo or rustc was called"; }
echo "cargo/rustc: never called"
cd "$ROOT"

log "4. arm64: the same tarballs under qemu"
ARM64_TARBALLS="$tarballs" bash scripts/test-arm64.sh
log "pack:check passed"
