#!/usr/bin/env bash
# Runs every test: the engine's Rust tests, the pytest suite against real loopback servers, and the
# compatibility suite (our pycurl vs real pycurl from PyPI, when compat/ has scenarios).
# Creates .venv (with maturin, pytest and the test dependencies) and builds the extension into it.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check maturin pytest mypy -r tests/requirements.txt
bash scripts/test-servers.sh
echo "== rustfmt and clippy"
cargo fmt --check
cargo clippy -q --all-targets -- -D warnings
cargo clippy -q --all-targets --no-default-features -- -D warnings
echo "== cargo test (engine, no Python)"
cargo test -q --no-default-features 2>&1 | tail -n 30
echo "== maturin develop"
.venv/bin/maturin develop -q 2>&1 | tail -n 3
echo "== pytest"
.venv/bin/python -m pytest tests -q -p no:cacheprovider "$@"
echo "== apps (tornado's curl client tests and pycurl-requests' tests against us; scripts/apps.sh --full for more)"
bash scripts/apps.sh
echo "== fuzz smoke (every cargo-fuzz target for a few seconds; longer runs: bash scripts/fuzz.sh SECONDS)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-5}"
echo "== stubtest (the .pyi stubs against the built module)"
.venv/bin/python -m mypy.stubtest pycurl --allowlist tests/stubtest-allowlist.txt
if [ -x compat/run ]; then
  echo "== compat"
  compat/run
fi
