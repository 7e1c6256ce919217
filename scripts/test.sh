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
echo "== pytest"
.venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
phase pytest
echo "== apps (tornado's curl client tests and pycurl-requests' tests against us; scripts/apps.sh --full for more)"
bash scripts/apps.sh
phase apps
echo "== fuzz smoke (every cargo-fuzz target for a few seconds; longer runs: bash scripts/fuzz.sh SECONDS)"
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
