#!/usr/bin/env bash
# prepublishOnly of `npm publish`: refuses missing binaries or binaries above the glibc floor,
# then `napi prepublish` publishes npm/* and pins them in optionalDependencies to this version.
# Under `npm publish --dry-run` napi only validates (it would otherwise really publish npm/*).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/arm64-common.sh
check_node_file "npm/linux-x64-gnu/$X64_NODE_FILE" x86-64
check_node_file "npm/linux-arm64-gnu/$ARM64_NODE_FILE" "ARM aarch64"
if [ "${npm_config_dry_run:-}" = true ]; then
  exec napi prepublish -t npm --no-gh-release --dry-run
fi
exec napi prepublish -t npm --no-gh-release
