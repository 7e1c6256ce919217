#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets) for N seconds each (default 5; CI's smoke run),
# or only the targets named after N:
#     bash scripts/fuzz.sh            # 5 s each
#     bash scripts/fuzz.sh 600 url    # ten minutes of the URL parser
#     bash scripts/fuzz.sh build      # only build every target (test.sh does it beside pytest)
# Seeds come from fuzz/corpus/<target> (read-only here); what libFuzzer finds goes to a scratch
# corpus, crashes to fuzz/artifacts/<target>/. Installs cargo-fuzz from crates.io if it is missing.
# cargo-fuzz needs nightly flags: RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-5}
shift || true
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install -q --locked cargo-fuzz
fi
if [ "$secs" = build ]; then
  exec cargo fuzz build -O
fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo fuzz list)
fi
cargo fuzz build -O
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "corpus/$t"
  echo "== fuzz $t (${secs}s)"
  # -rss_limit_mb: a bomb the target does not bound is a finding, not a swap storm.
  rc=0
  cargo fuzz run -O "$t" "$scratch/$t" "corpus/$t" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 >"$scratch/$t.log" 2>&1 || rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb)" "$scratch/$t.log" || true
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$scratch/$t.log"
    echo "fuzz $t: FAILED (the input is in fuzz/artifacts/$t)"
    exit 1
  fi
done
