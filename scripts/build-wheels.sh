#!/usr/bin/env bash
# Builds the release artifacts into target/wheels/ (or $WHEEL_DIR) and smoke-tests them.
#
#   manylinux   abi3 wheel for glibc 2.17 (manylinux2014), linked by zig (ziglang from PyPI),
#               dist profile: no debug info, stripped (about 1.7 MB)
#   musllinux   abi3 musllinux_1_2 wheel (scripts/cross-check.sh muslwheel: Debian's rustc with
#               build-std, musl-gcc)
#   sdist       the source distribution (needs cargo and a C compiler for ring to build)
#   smoke       installs the manylinux wheel into a fresh venv of every CPython 3.9-3.13 found
#               (pyenv's, else python3.X on PATH) and runs scripts/smoke_wheel.py in each
#
# Usage: scripts/build-wheels.sh [STEP...]      (default: manylinux musllinux sdist smoke)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STEPS=${*:-manylinux musllinux sdist smoke}
export WHEEL_DIR=${WHEEL_DIR:-$ROOT/target/wheels}
mkdir -p "$WHEEL_DIR"

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check maturin ziglang

manylinux_wheel() { ls -t "$WHEEL_DIR"/pycurl_rs-*-abi3-manylinux2014_x86_64*.whl 2>/dev/null | head -1; }

# Interpreters for the smoke test: one per minor version 3.9 ... 3.13.
pythons() {
  local root minor found
  root=$( (pyenv root 2>/dev/null) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for minor in 9 10 11 12 13; do
    found=$(ls -d "$root"/versions/3."$minor".*/bin/python3."$minor" 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$found" ] || found=$(command -v python3."$minor" || true)
    if [ -n "$found" ]; then echo "$found"; else echo "no CPython 3.$minor found" >&2; fi
  done
}

for step in $STEPS; do
  start=$(date +%s)
  case $step in
  manylinux)
    echo "== manylinux2014 wheel (zig)"
    # maturin finds zig through the active venv's python (python -m ziglang).
    (. .venv/bin/activate && maturin build --profile dist --zig --compatibility manylinux2014 \
      -o "$WHEEL_DIR" 2>&1 | grep -vE '^ *(Compiling|Downloaded|Downloading)' | tail -n 5)
    whl=$(manylinux_wheel)
    so=$(mktemp -d) && (cd "$so" && unzip -q "$whl")
    glibc=$(objdump -T "$so"/pycurl/_pycurl*.so | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)
    debug=$(readelf -S "$so"/pycurl/_pycurl*.so | grep -c '\.debug_' || true)
    echo "  $(basename "$whl"): $(du -k "$whl" | cut -f1) KiB, newest symbol $glibc, $debug debug sections"
    rm -rf "$so"
    [ "$debug" = 0 ] || { echo "the wheel carries debug info"; exit 1; }
    case $glibc in GLIBC_2.1[0-7]|GLIBC_2.[0-9]) ;; *) echo "needs $glibc > 2.17"; exit 1;; esac;;
  musllinux)
    echo "== musllinux_1_2 wheel"
    bash scripts/cross-check.sh muslwheel;;
  sdist)
    echo "== sdist"
    .venv/bin/maturin sdist -o "$WHEEL_DIR" 2>&1 | tail -n 1;;
  smoke)
    whl=$(manylinux_wheel)
    [ -n "$whl" ] || { echo "no manylinux wheel in $WHEEL_DIR: run the manylinux step first"; exit 1; }
    n=0
    for py in $(pythons); do
      v=$(mktemp -d)
      # No pip in each venv (ensurepip takes seconds): the project's pip installs into it, running
      # under the target interpreter, so the wheel's tags are checked against that interpreter.
      "$py" -m venv --without-pip "$v/venv"
      .venv/bin/python -m pip --python "$v/venv/bin/python" install -q --disable-pip-version-check \
        --no-index --no-deps "$whl"
      echo "== smoke: $("$py" --version) with $(basename "$whl")"
      # From the venv's own folder, so that the source tree's python/pycurl cannot be imported.
      (cd "$v" && "$v/venv/bin/python" "$ROOT/scripts/smoke_wheel.py" | sed 's/^/  /')
      rm -rf "$v"
      n=$((n + 1))
    done
    [ "$n" = 5 ] || { echo "smoke-tested $n of the 5 CPythons 3.9-3.13"; exit 1; };;
  *)
    echo "unknown step: $step"; exit 1;;
  esac
  echo "  ($step: $(($(date +%s) - start)) s)"
done
