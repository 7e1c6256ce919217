#!/usr/bin/env bash
# Runs every test: the engine's Rust tests, the pytest suite against real loopback servers, and the
# compatibility suite (our pycurl vs real pycurl from PyPI, when compat/ has scenarios).
# Creates .venv (with maturin, pytest and the test dependencies) and builds the extension into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
# Seconds per phase, printed at the end (CI's times come from here).
times=""
mark=$(date +%s)
phase() { # NAME: the time since the previous mark goes to NAME
  local now
  now=$(date +%s)
  times="$times $1 $((now - mark))s,"
  mark=$now
}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check maturin pytest mypy -r tests/requirements.txt
bash scripts/test-servers.sh
phase setup
echo "== rustfmt and clippy"
cargo fmt --check
cargo clippy -q --all-targets -- -D warnings
cargo clippy -q --all-targets --no-default-features -- -D warnings
phase fmt+clippy
echo "== cargo test (engine, no Python)"
cargo test -q --no-default-features 2>&1 | tail -n 30
phase cargo-test
echo "== maturin develop"
.venv/bin/maturin develop -q 2>&1 | tail -n 3
phase maturin
# tests/test_embed.py links the extension built as a static library (minutes of compiling): the
# build runs niced in the background from here, with the same command and pyo3 variables as the
# test's, which conftest.py puts last and whose own cargo call then finds it done.
embed_pid=""
fuzz_pid=""
# The fuzz targets' instrumented build, likewise (the fuzz smoke below finds it done).
setsid nice -n 10 bash scripts/fuzz.sh build >target/fuzz-build.log 2>&1 &
fuzz_pid=$!
setsid bash -c '. .venv/bin/activate && PYO3_PYTHON=$(python -c "import sys; print(sys.executable)") \
  PYO3_ENVIRONMENT_SIGNATURE=$(python -c "import sys; print(f\"cpython-{sys.version_info[0]}.{sys.version_info[1]}-64bit\")") \
  exec nice -n 10 cargo rustc -q --lib --features python --crate-type staticlib' >target/embed-build.log 2>&1 &
embed_pid=$!
# Each has its own process group (setsid), so that a failed run stops its compilers too.
trap 'for p in $embed_pid $fuzz_pid; do kill -- -"$p" 2>/dev/null || true; done' EXIT
echo "== pytest"
.venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
# test_embed waited for it (cargo's lock) and reports a failed build itself.
wait "$embed_pid" || true
embed_pid=""
phase pytest
echo "== apps (tornado's curl client tests and pycurl-requests' tests against us; scripts/apps.sh --full for more)"
bash scripts/apps.sh
phase apps
echo "== fuzz smoke (every cargo-fuzz target for a few seconds; longer runs: bash scripts/fuzz.sh SECONDS)"
# Its build's failure shows here, where fuzz.sh builds again.
wait "$fuzz_pid" || true
fuzz_pid=""
bash scripts/fuzz.sh "${FUZZ_SECONDS:-5}"
phase fuzz
echo "== stubtest (the .pyi stubs against the built module)"
.venv/bin/python -m mypy.stubtest pycurl --allowlist tests/stubtest-allowlist.txt
phase stubtest
if [ -x compat/run ]; then
  echo "== compat"
  compat/run
fi
phase compat
echo "== test.sh times:${times%,}"
