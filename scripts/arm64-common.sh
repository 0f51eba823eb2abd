# Shared by build-arm64.sh and test-arm64.sh (sourced). Debian bookworm x86_64 only.

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
# Raspberry Pi OS bookworm's glibc; the npm cross toolchain's sysroot gives 2.17.
GLIBC_LIMIT=2.36
