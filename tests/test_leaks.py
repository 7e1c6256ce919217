"""Nothing grows: RSS and open fds stay flat over many transfers on a reused handle.

Runs scripts/soak.py (its server lives in a child process, so the RSS is the client's) for each
mode and compares the readings after a warm-up with the last ones. A leak of one 8-byte entry per
transfer (as the private multi's done list once had) shows as 320 KB here.
"""
import os
import subprocess
import sys

import pytest

SOAK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "soak.py")


@pytest.mark.parametrize("mode", ["easy", "multi", "socket_action", "refused"])
def test_rss_and_fds_flat(mode):
    p = subprocess.run(
        [sys.executable, SOAK, mode, "-n", "50000", "--every", "10000", "--seconds", "60"],
        capture_output=True, timeout=120, text=True,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    rows = [line.split() for line in p.stdout.splitlines() if line.startswith(mode)]
    readings = {int(r[1]): (int(r[2]), int(r[3])) for r in rows}
    assert sorted(readings) == [0, 10000, 20000, 30000, 40000, 50000]
    (rss_warm, fds_warm), (rss_end, fds_end) = readings[10000], readings[50000]
    assert rss_end - rss_warm < 160, (readings, "KB grown")
    assert fds_end == fds_warm
