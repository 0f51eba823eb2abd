#!/usr/bin/env bash
# libindi 1.9.9's own server conformance suite (integs/: TestIndiserverSingleDriver, TestClientQueries,
# TestIndiSetProp), in its TCP and shared-memory builds, run against Debian's indiserver (the baseline,
# which must pass) and then against `indi-node serve`. The harness comes from Debian's source package
# (no copy in this repository), with the three adaptations of scripts/integs-adapt.py and nothing else.
# Usage: scripts/integs.sh [rounds]   (rounds of the indi-node run, default 1; INTEGS_ONLY=regex picks tests)
# Writes target/integs/results.txt; exits non-zero if a test passing on indiserver fails on indi-node.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=$ROOT/target/integs
ROUNDS=${1:-1}
TIMEOUT=${INTEGS_TIMEOUT:-10}
mkdir -p "$OUT"

fetch_source() {
  ls "$OUT"/indi_1.9.9*.orig.tar.* >/dev/null 2>&1 && return
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  if ! apt-cache showsrc indi 2>/dev/null | grep -q '^Version: 1.9.9'; then
    # bookworm's deb-src entry (deb822), the suite Debian and Raspberry Pi OS ship 1.9.9 in
    $sudo_cmd tee /etc/apt/sources.list.d/indi-node-bookworm-src.sources >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $sudo_cmd apt-get update -qq
  fi
  # Only the upstream tarball is needed (the Debian patch tarball failing to download is not
  # fatal); bookworm's is 1.9.9, which the check below insists on.
  (cd "$OUT" && apt-get source --download-only -qq indi >/dev/null 2>&1) || true
  ls "$OUT"/indi_1.9.9*.orig.tar.* >/dev/null 2>&1 || { echo "integs: could not download indi 1.9.9's source" >&2; exit 1; }
}

extract() {
  rm -rf "$OUT/src" && mkdir -p "$OUT/src"
  tar -xf "$OUT"/indi_1.9.9*.orig.tar.* -C "$OUT/src" --strip-components=1 indi-1.9.9/integs indi-1.9.9/libs/indicore
  python3 scripts/integs-adapt.py "$OUT/src/integs"
}

build() { # build dir, extra flags
  local dir=$OUT/$1 flags=$2 src=$OUT/src/integs
  mkdir -p "$dir"
  local common="$src/DriverMock.cpp $src/ConnectionMock.cpp $src/ProcessController.cpp $src/IndiClientMock.cpp
    $src/IndiServerController.cpp $src/utils.cpp $src/XmlAwaiter.cpp $src/SharedBuffer.cpp $src/ServerMock.cpp"
  g++ -std=c++17 -O1 -w $flags -I/usr/include/libindi -o "$dir/fakedriver" "$src/fakedriver.cpp" "$src/utils.cpp" &
  for t in TestIndiserverSingleDriver TestClientQueries TestIndiSetProp; do
    # shellcheck disable=SC2086
    g++ -std=c++17 -O1 -w $flags -I/usr/include/libindi -o "$dir/$t" "$src/$t.cpp" $common -lgtest_main -lgtest -pthread &
  done
  wait
}

# The harness uses fixed names (TCP port 17624, abstract sockets /tmp/indiserver, /tmp/fakedriver-test):
# each test runs in a network namespace of its own where the system allows one, so nothing else on the
# machine can hold them, and in its own process group, so a server it leaves behind is stopped with it.
NETNS=()
if unshare -n true 2>/dev/null; then NETNS=(unshare -n); elif unshare -rn true 2>/dev/null; then NETNS=(unshare -rn); fi
run_one() { # build dir, program, test, log name; the server binary in $INDISERVER_BIN
  setsid "${NETNS[@]}" sh -c '[ -z "$1" ] || ip link set lo up; cd "$2" && exec timeout -k 3 "$3" "./$4" --gtest_filter="$5"' \
    sh "${NETNS[*]}" "$1" "$TIMEOUT" "$2" "$3" >"$OUT/log/$4.log" 2>&1 &
  local pid=$!
  local rc=0
  wait $pid || rc=$?
  kill -KILL -- "-$pid" 2>/dev/null || true
  return $rc
}

run_all() { # label, server binary
  local label=$1 bin=$2
  for b in tcp shm; do
    for t in TestIndiserverSingleDriver TestClientQueries TestIndiSetProp; do
      for name in $(cd "$OUT/$b" && "./$t" --gtest_list_tests | awk '/^[^ ]/ {s=$1} /^  / {print s $1}' | grep -E "${INTEGS_ONLY:-.}"); do
        local verdict=pass
        INDISERVER_BIN=$bin run_one "$OUT/$b" "$t" "$name" "$label-$b-$name" || verdict=FAIL
        echo "$label $b $name $verdict" | tee -a "$OUT/results.txt"
      done
    done
  done
}

for tool in g++ indiserver indi_setprop node; do
  command -v $tool >/dev/null || { echo "integs: $tool is missing" >&2; exit 1; }
done
[ -f /usr/include/gtest/gtest.h ] || { echo "integs: libgtest-dev is missing" >&2; exit 1; }
[ -f /usr/include/libindi/indiapi.h ] || { echo "integs: libindi-dev is missing" >&2; exit 1; }
[ -f dist/cli.js ] || { echo "integs: dist/cli.js is missing (npm run build)" >&2; exit 1; }

# Rebuilt when the harness scripts change (the build takes a few seconds of two cores).
if [ ! "$OUT/shm/TestIndiSetProp" -nt scripts/integs-adapt.py ] || [ ! "$OUT/shm/TestIndiSetProp" -nt scripts/integs.sh ]; then
  fetch_source
  extract
  build tcp ""
  build shm "-DENABLE_INDI_SHARED_MEMORY"
fi
mkdir -p "$OUT/tools" "$OUT/log"
ln -sf "$(command -v indi_setprop)" "$OUT/tools/indi_setprop"
printf '#!/bin/sh\nexec node %s/dist/cli.js serve "$@"\n' "$ROOT" >"$OUT/indi-node-serve"
chmod +x "$OUT/indi-node-serve"
: >"$OUT/results.txt"

run_all indiserver "$(command -v indiserver)"
for round in $(seq 1 "$ROUNDS"); do
  run_all "indi-node#$round" "$OUT/indi-node-serve"
done

# Every test that passes on indiserver must pass on indi-node, in every round.
status=0
base=$(awk '$1 == "indiserver" && $4 == "pass" {print $2, $3}' "$OUT/results.txt")
[ -n "$base" ] || { echo "integs: nothing passed on indiserver (baseline broken)" >&2; exit 1; }
while read -r b name; do
  bad=$(awk -v b="$b" -v n="$name" '$1 ~ /^indi-node/ && $2 == b && $3 == n && $4 != "pass"' "$OUT/results.txt" | wc -l)
  [ "$bad" -eq 0 ] && continue
  # INTEGS_RETRIES (for hunting races, not used in CI): a test that failed is run that many times
  # more; it is reported as FLAKY, not failed, only if every retry passes.
  retried=0
  for retry in $(seq 1 "${INTEGS_RETRIES:-0}"); do
    t=$(cd "$OUT/$b" && for p in TestIndiserverSingleDriver TestClientQueries TestIndiSetProp; do ./$p --gtest_list_tests | awk -v p="$p" '/^[^ ]/ {s=$1} /^  / {print p, s $1}'; done | awk -v n="$name" '$2 == n {print $1}')
    if INDISERVER_BIN="$OUT/indi-node-serve" run_one "$OUT/$b" "$t" "$name" "retry$retry-$b-$name"; then
      echo "indi-node-retry$retry $b $name pass" >>"$OUT/results.txt"
      retried=$((retried + 1))
    else
      echo "indi-node-retry$retry $b $name FAIL" >>"$OUT/results.txt"
      break
    fi
  done
  if [ "$retried" -ge 1 ] && [ "$retried" -eq "${INTEGS_RETRIES:-0}" ]; then
    echo "integs: FLAKY $b $name failed $bad of $ROUNDS round(s) on indi-node, then passed $retried retries" >&2
  else
    echo "integs: $b $name passes on indiserver, failed $bad of $ROUNDS round(s) on indi-node" >&2
    status=1
  fi
done <<<"$base"
echo "integs: $(wc -l <<<"$base") tests pass on indiserver; indi-node: $(awk '$1 ~ /^indi-node/ && $4 == "pass"' "$OUT/results.txt" | wc -l) passes in $ROUNDS round(s)"
exit $status
