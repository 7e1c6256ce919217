#!/usr/bin/env bash
# Cross-target builds and checks of the crate from this Linux (Debian 12, x86_64) machine.
#
# rustup's stable toolchain here has only the host's std, and no other target can be downloaded,
# so the foreign targets use Debian's rustc-web / cargo-web with rust-web-src (std's source for
# that same compiler) and RUSTC_BOOTSTRAP=1 ... -Z build-std, which compiles std for the target.
#
#   musl        the engine (--no-default-features) built for x86_64-unknown-linux-musl
#   musltest    the engine's Rust tests built for musl (linked by musl-gcc against LLVM's
#               libunwind.a) and run on this machine
#   muslwheel   the musllinux_1_2 abi3 wheel (stripped, dist profile), into $WHEEL_DIR
#   win         cargo check for x86_64-pc-windows-gnu: engine alone, then the whole crate
#   wincrate    only the whole crate's check (CI: wintest compiles the engine for Windows anyway)
#   wintest     the engine's Rust tests built for windows-gnu and run under wine64
#   mac         cargo check of the whole crate for x86_64-apple-darwin (zig cc for ring's C)
#
# Usage: scripts/cross-check.sh [STEP...]     (default: musl musltest win mac)
# Prints one summary line per step and, for win/mac, the number of errors per source file.
# Exit status: the number of steps that failed (0: all passed). Logs: target/cross/*.log.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
STEPS=${*:-musl musltest win mac}
OUT=$ROOT/target/cross
WHEEL_DIR=${WHEEL_DIR:-$ROOT/target/wheels}
mkdir -p "$OUT" "$WHEEL_DIR"

# Debian packages per step; only what the requested steps use is installed.
pkgs="rustc-web cargo-web rust-web-src"
case " $STEPS " in *" musl"*) pkgs="$pkgs musl-tools libunwind-14-dev";; esac
case " $STEPS " in *" win"*) pkgs="$pkgs gcc-mingw-w64-x86-64";; esac
case " $STEPS " in *" wintest "*) pkgs="$pkgs wine64";; esac
missing=$(for p in $pkgs; do dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "ok installed" || echo "$p"; done)
# The dependencies need a newer rustc than an old package list offers (time 0.3.4x: 1.88).
rustc_minor=$(/usr/bin/rustc --version 2>/dev/null | sed -n 's/^rustc 1\.\([0-9]*\).*/\1/p')
if [ "${rustc_minor:-0}" -lt 88 ]; then
  missing="$missing rustc-web cargo-web rust-web-src"
  apt-get update -q >"$OUT/apt.log" 2>&1
fi
if [ -n "$missing" ]; then
  echo "== apt-get install $(echo $missing)"
  # shellcheck disable=SC2086
  apt-get install -y -q $missing >"$OUT/apt.log" 2>&1 ||
    { apt-get update -q >>"$OUT/apt.log" 2>&1 && apt-get install -y -q $missing >>"$OUT/apt.log" 2>&1; } ||
    { echo "apt-get install failed (see $OUT/apt.log)"; exit 1; }
fi

# Debian's compiler, not rustup's: build-std needs the std source of the very same rustc.
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never
CARGO=/usr/bin/cargo
# Full-crate checks need pyo3's view of a target Python: abi3 from 3.9 needs no interpreter.
export PYO3_CROSS_PYTHON_VERSION=3.9
BS="-Z build-std=std,panic_abort"

# musl: Debian's LLVM libunwind.a calls glibc's __fprintf_chk; give musl a plain one. The
# cdylib links libgcc_s dynamically (-crt-static), as Alpine's gcc runtime provides it.
musl_setup() {
  local d=$OUT/musl-shim
  [ -x "$d/bin/musl-gcc" ] && return
  mkdir -p "$d/bin" "$d/lib"
  cat >"$d/fchk.c" <<'C'
#include <stdarg.h>
#include <stdio.h>
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...) {
    (void)flag;
    va_list ap;
    va_start(ap, fmt);
    int r = vfprintf(f, fmt, ap);
    va_end(ap);
    return r;
}
C
  musl-gcc -O2 -fPIC -c "$d/fchk.c" -o "$d/fchk.o" && ar rcs "$d/lib/libfchk.a" "$d/fchk.o"
  ln -sf /lib/x86_64-linux-gnu/libgcc_s.so.1 "$d/lib/libgcc_s.so"
  printf '#!/bin/sh\nexec /usr/bin/musl-gcc -L%s "$@" %s\n' "$d/lib" "$d/lib/libfchk.a" >"$d/bin/musl-gcc"
  chmod +x "$d/bin/musl-gcc"
}

# macOS: ring's C goes through zig cc (ziglang from PyPI, in the project's .venv).
mac_setup() {
  local d=$OUT/zig
  mkdir -p "$d/sdk"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/python -c "import ziglang" 2>/dev/null || .venv/bin/pip install -q --disable-pip-version-check ziglang
  cat >"$d/cc-macos" <<W
#!/usr/bin/env bash
# zig picks the target from -target; drop the flags of clang's that it does not take.
args=()
for a in "\$@"; do case "\$a" in --target=*|-mmacosx-version-min=*) ;; *) args+=("\$a");; esac; done
exec $ROOT/.venv/bin/python -m ziglang cc -target x86_64-macos "\${args[@]}"
W
  printf '#!/bin/sh\nexec %s -m ziglang ar "$@"\n' "$ROOT/.venv/bin/python" >"$d/ar"
  chmod +x "$d/cc-macos" "$d/ar"
}

failed=0
summary() {  # STEP RC LOG
  printf '%-10s %s  %s\n' "$1" "$([ "$2" = 0 ] && echo ok || echo "FAILED rc=$2")" \
    "$(grep -E '^error: could not compile|Finished|test result' "$3" | tail -2 | tr '\n' ' ')"
  [ "$2" = 0 ] || failed=$((failed + 1))
}
errors_per_file() {  # LOG: "COUNT FILE" for each file with compile errors
  grep -E '^src/[^:]+:[0-9]+:[0-9]+: error' "$1" | cut -d: -f1 | sort | uniq -c | sort -rn
  printf '%7s total\n' "$(grep -cE '^src/[^:]+:[0-9]+:[0-9]+: error' "$1")"
}

run_step() {
  case $1 in
  musl)
    musl_setup
    PATH=$OUT/musl-shim/bin:$PATH CARGO_TARGET_DIR=$OUT/musl \
      RUSTFLAGS="-C target-feature=-crt-static -C linker=musl-gcc -C link-self-contained=no" \
      $CARGO build --release $BS --target x86_64-unknown-linux-musl --no-default-features --lib \
      >"$OUT/musl.log" 2>&1
    summary musl $? "$OUT/musl.log";;
  musltest)
    musl_setup
    PATH=$OUT/musl-shim/bin:$PATH CARGO_TARGET_DIR=$OUT/musl-test \
      RUSTFLAGS="-C linker=musl-gcc -C link-self-contained=no -L native=/usr/lib/llvm-14/lib" \
      $CARGO test -Z build-std=std,panic_abort,test --target x86_64-unknown-linux-musl \
      --no-default-features --lib --tests >"$OUT/musl-test.log" 2>&1
    summary musltest $? "$OUT/musl-test.log";;
  muslwheel)
    musl_setup
    [ -x .venv/bin/maturin ] || { python3 -m venv .venv && .venv/bin/pip install -q maturin; }
    # maturin runs cargo from PATH: Debian's, for build-std.
    mkdir -p "$OUT/bin" && ln -sf /usr/bin/cargo "$OUT/bin/cargo" && ln -sf /usr/bin/rustc "$OUT/bin/rustc"
    PATH=$OUT/bin:$OUT/musl-shim/bin:$PATH CARGO_TARGET_DIR=$OUT/musl-py \
      RUSTFLAGS="-C target-feature=-crt-static -C linker=musl-gcc -C link-self-contained=no" \
      .venv/bin/maturin build --profile dist --target x86_64-unknown-linux-musl --compatibility musllinux_1_2 \
      -Z build-std=std,panic_abort --auditwheel skip -o "$WHEEL_DIR" >"$OUT/musl-wheel.log" 2>&1
    rc=$?
    summary muslwheel $rc "$OUT/musl-wheel.log"
    if [ $rc = 0 ]; then
      whl=$(ls -t "$WHEEL_DIR"/*musllinux_1_2*.whl | head -1)
      rm -rf "$OUT/musl-wheel" && mkdir -p "$OUT/musl-wheel" && (cd "$OUT/musl-wheel" && unzip -q "$whl")
      # auditwheel cannot inspect a musl wheel on a glibc host: list what the module needs.
      echo "  $(basename "$whl"): $(du -k "$whl" | cut -f1) KiB, needs:" \
        "$(readelf -d "$OUT"/musl-wheel/pycurl/*.so | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
    fi;;
  win|wincrate)
    if [ "$1" = win ]; then
      CARGO_TARGET_DIR=$OUT/win $CARGO check --release $BS --target x86_64-pc-windows-gnu \
        --no-default-features --lib --message-format short >"$OUT/win-engine.log" 2>&1
      summary win-engine $? "$OUT/win-engine.log"
    fi
    CARGO_TARGET_DIR=$OUT/win $CARGO check --release $BS --target x86_64-pc-windows-gnu \
      --lib --message-format short >"$OUT/win.log" 2>&1
    summary win $? "$OUT/win.log"
    echo "  windows errors per file (whole crate):"; errors_per_file "$OUT/win.log";;
  wintest)
    CARGO_TARGET_DIR=$OUT/win-test $CARGO test -Z build-std=std,panic_abort,test --target x86_64-pc-windows-gnu \
      --no-default-features --lib --tests --no-run --message-format short >"$OUT/win-test.log" 2>&1
    rc=$?
    deps=$OUT/win-test/x86_64-pc-windows-gnu/debug/deps
    if [ $rc = 0 ]; then
      # Debian's wine 8 has no bcryptprimitives.dll, whose ProcessPrng Rust's std imports:
      # a stand-in over advapi32's RtlGenRandom (SystemFunction036) beside the test programs.
      printf '#include <windows.h>\nBOOLEAN WINAPI SystemFunction036(PVOID b, ULONG n);\n__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE d, SIZE_T n) { return SystemFunction036(d, (ULONG)n); }\n' \
        >"$OUT/prng.c"
      x86_64-w64-mingw32-gcc -shared -O2 -o "$deps/bcryptprimitives.dll" "$OUT/prng.c" -ladvapi32 || rc=1
      for t in "$deps"/*.exe; do
        WINEDEBUG=-all timeout 600 /usr/lib/wine/wine64 "$t" >>"$OUT/win-test.log" 2>&1 || rc=1
      done
    fi
    summary wintest $rc "$OUT/win-test.log";;
  mac)
    mac_setup
    CARGO_TARGET_DIR=$OUT/mac CC_x86_64_apple_darwin=$OUT/zig/cc-macos AR_x86_64_apple_darwin=$OUT/zig/ar \
      SDKROOT=$OUT/zig/sdk $CARGO check --release $BS --target x86_64-apple-darwin --lib \
      --message-format short >"$OUT/mac.log" 2>&1
    summary mac $? "$OUT/mac.log"
    echo "  macOS errors per file (whole crate):"; errors_per_file "$OUT/mac.log";;
  *)
    echo "unknown step: $1"; failed=$((failed + 1));;
  esac
}

for step in $STEPS; do
  TIMEFORMAT="  ($step: %0R s, cpu %0U+%0S s)"
  time run_step "$step"
done
exit $failed
