# Shared by the build-*.sh, test-arm64.sh and pack-check.sh scripts (sourced). Debian bookworm x86_64 only.

log() { printf '== %s (%ss)\n' "$*" "$SECONDS"; }

# Installs the given apt packages (names may carry :arm64) unless already installed. Adds the
# arm64 architecture first when an :arm64 package is asked for, and only that one: each foreign
# architecture is one more index that can fail to download mid mirror sync.
ensure_apt() {
  local missing=() pkg sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if printf '%s\n' "${missing[@]}" | grep -q ':arm64$' && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo_cmd dpkg --add-architecture arm64
  fi
  log "apt-get install ${missing[*]}"
  local attempt
  for attempt in 1 2 3 4; do
    $sudo_cmd apt-get update -qq && break
    [ "$attempt" -eq 4 ] && { echo "apt-get update failed 4 times" >&2; return 1; }
    sleep $((attempt * 5))
  done
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Highest GLIBC_x.y symbol version a shared object needs.
glibc_max() {
  objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sort -Vu | tail -1
}

BINARY_NAME=$(node -p "require('./package.json').napi.binaryName")
ARM64_NODE_FILE="$BINARY_NAME.linux-arm64-gnu.node"
X64_NODE_FILE="$BINARY_NAME.linux-x64-gnu.node"
# The glibc floor the README states for both published binaries: napi-rs's npm cross toolchains
# link against a glibc 2.17 sysroot (Raspberry Pi OS bookworm has 2.36, Debian bookworm 2.36).
GLIBC_FLOOR=2.17

# Fails unless $1 is an ELF object for machine $2 (as `file` names it) needing no glibc symbol
# version newer than GLIBC_FLOOR.
check_node_file() {
  local node_file=$1 machine=$2 max
  file -L "$node_file"
  file -L "$node_file" | grep -q "$machine" || { echo "$node_file is not a $machine object" >&2; return 1; }
  max=$(glibc_max "$node_file")
  echo "$node_file: highest glibc symbol version $max (floor GLIBC_$GLIBC_FLOOR)"
  if [ "$(printf '%s\n%s\n' "${max#GLIBC_}" "$GLIBC_FLOOR" | sort -V | tail -1)" != "$GLIBC_FLOOR" ]; then
    echo "$node_file needs $max, newer than the stated floor GLIBC_$GLIBC_FLOOR" >&2
    return 1
  fi
}
