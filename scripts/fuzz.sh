#!/usr/bin/env bash
# Fuzzes the decoder and the hub's routing with libFuzzer (cargo fuzz), both targets at once,
# each for SECONDS (default 60). CI runs the default; for a longer search:
#   bash scripts/fuzz.sh 3600            (an hour per target; corpus kept in fuzz/corpus/)
# Seeds (committed) are in fuzz/seeds/; inputs that crash land in fuzz/artifacts/<target>/ and
# replay with `cargo fuzz run -O <target> <file>`. A crash, a panic, a single allocation over
# 64 MB or an RSS over 2 GB fails the run.
# Needs cargo-fuzz (`cargo install cargo-fuzz`). cargo fuzz needs a nightly compiler for its
# sanitizer flags: nightly when rustup has one, else the stable one with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${1:-60}

toolchain=()
if rustup toolchain list 2>/dev/null | grep '^nightly' >/dev/null; then
  toolchain=(+nightly)
else
  export RUSTC_BOOTSTRAP=1
fi
cargo "${toolchain[@]}" fuzz build -O

pids=()
for target in decode route; do
  mkdir -p "corpus/$target"
  cargo "${toolchain[@]}" fuzz run -O "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=16384 -malloc_limit_mb=64 -rss_limit_mb=2048 \
    -print_final_stats=1 >"corpus/$target.log" 2>&1 &
  pids+=($!)
done
status=0
for i in 0 1; do
  target=$([ $i -eq 0 ] && echo decode || echo route)
  if wait "${pids[$i]}"; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "corpus/$target.log" | grep -o '[0-9]*$')
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "corpus/$target.log" | grep -o '[0-9]*$')
    echo "fuzz $target: ${runs:-?} runs in ${seconds} s (${rate:-?}/s), no finding"
  else
    echo "fuzz $target: FAILED (see fuzz/corpus/$target.log and fuzz/artifacts/$target/)"
    grep -E -A5 'panicked|ERROR: libFuzzer|out-of-memory' "corpus/$target.log" | head -40 || true
    status=1
  fi
done
exit $status
