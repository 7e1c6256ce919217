"""examples/socket_action_loop.py, run as a subprocess with the interpreter
running the tests (so with whichever pycurl is under test)."""

import os
import re
import subprocess
import sys

EXAMPLE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       "examples", "socket_action_loop.py")


def run_example(*urls, timeout=60):
    proc = subprocess.run([sys.executable, EXAMPLE, *urls], capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout.splitlines()


def test_example_fetches_urls_from_the_command_line(server, refused_port):
    urls = [server.url("/hello"), server.url("/bytes?n=50000"), server.url("/status/404"),
            server.url("/status/503"), server.url("/redirect/3"),
            server.url("/slowbody?chunks=3&delay=0.05"), server.url("/chunked?n=999&chunks=4")]
    refused = f"http://127.0.0.1:{refused_port}/"
    lines = run_example(*urls, refused)
    assert lines[-1] == "done: %d transfers" % (len(urls) + 1)
    results = lines[:-1]
    expected = {"200 " + urls[0], "200 " + urls[1], "404 " + urls[2], "503 " + urls[3],
                "200 " + urls[4], "200 " + urls[5], "200 " + urls[6]}
    errors = [ln for ln in results if ln.startswith("error ")]
    assert set(results) - set(errors) == expected
    assert len(results) == len(urls) + 1
    assert len(errors) == 1
    assert re.fullmatch(r"error 7 Failed to connect to 127\.0\.0\.1:%d after \d+ ms: "
                        r"Could not connect to server %s" % (refused_port, re.escape(refused)),
                        errors[0]), errors[0]


def test_example_many_urls_concurrently(server):
    urls = [server.url("/slow?delay=0.5&i=%d" % i) for i in range(20)]
    import time

    t0 = time.monotonic()
    lines = run_example(*urls)
    elapsed = time.monotonic() - t0
    assert lines[-1] == "done: 20 transfers"
    assert sorted(lines[:-1]) == sorted("200 " + u for u in urls)
    assert elapsed < 5  # concurrent, not 20 x 0.5 s one after another


def test_example_without_arguments_uses_its_own_server():
    lines = run_example()
    assert lines[-1] == "done: 4 transfers"
    got = sorted(ln.split(" ", 1)[0] + " " + ln.rsplit("/", 1)[1] for ln in lines[:-1])
    assert got == ["200 one", "200 three", "200 two", "404 missing"]
    assert all(re.fullmatch(r"\d{3} http://127\.0\.0\.1:\d+/\w+", ln) for ln in lines[:-1])
