#!/usr/bin/env python3
"""Run tests/chaos/driver.py on the same seeds under two interpreters and show where they differ.

    .venv/bin/python tests/chaos/compare.py --seeds 1-50 --steps 300
        [--ref /tmp/ref/bin/python] [--ours .venv/bin/python] [--timeout 120]

Each seed runs in its own child per interpreter under a watchdog (--timeout seconds). A child that
dies by a signal, exits non-zero or hits the watchdog is reported as CRASH/HANG; otherwise the first
step whose line differs is printed with both lines (later steps can diverge as a consequence).
Exit status 0 only if every seed matched and neither side crashed.
"""
import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def run(py: str, seed: int, steps: int, timeout: float):
    with tempfile.NamedTemporaryFile("r") as rec:
        cmd = [py, os.path.join(HERE, "driver.py"), "--seed", str(seed), "--steps", str(steps), "--out", rec.name]
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=timeout, cwd=ROOT)
        except subprocess.TimeoutExpired:
            return "HANG", rec.read().splitlines()
        status = "ok" if p.returncode == 0 else f"CRASH rc={p.returncode} {p.stderr[-400:]!r}"
        return status, rec.read().splitlines()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--ref", default="/tmp/ref/bin/python")
    ap.add_argument("--ours", default=os.path.join(ROOT, ".venv/bin/python"))
    ap.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    lo, _, hi = a.seeds.partition("-")
    bad = 0
    for seed in range(int(lo), int(hi or lo) + 1):
        rs, rl = run(a.ref, seed, a.steps, a.timeout)
        os_, ol = run(a.ours, seed, a.steps, a.timeout)
        if os_ != "ok":
            bad += 1
            print(f"seed {seed}: OURS {os_} after {len(ol)} lines; last: {ol[-1:] }")
        if rs != "ok":
            print(f"seed {seed}: REF {rs} after {len(rl)} lines; last: {rl[-1:]}")
        for x, y in zip(rl, ol):
            if x != y:
                bad += 1
                print(f"seed {seed}: first difference\n  ref:  {x}\n  ours: {y}")
                break
        else:
            if os_ == rs == "ok":
                print(f"seed {seed}: same ({len(ol)} lines)")
        sys.stdout.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
