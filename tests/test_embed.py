"""Static embedding: pycurl-rs linked into an application together with a static libpython.

The extension is built as a static library (`cargo rustc --crate-type staticlib`, only here, so
that ordinary builds do not pay for a third crate type), tests/embed/embed.c registers
PyInit__pycurl with PyImport_AppendInittab and runs the interpreter, linked against the
libpython3.X.a of the Python running the tests (pyenv ships one). The program then fetches from a
loopback server and drives a CurlMulti loop with no extension module file on disk.
"""

import os
import subprocess
import sys
import sysconfig

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMBED_C = os.path.join(ROOT, "tests", "embed", "embed.c")
# What Rust's std needs from the C side on Linux (rustc --print native-static-libs).
RUST_NATIVE_LIBS = ["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl", "-lc"]


def _static_libpython():
    path = os.path.join(sysconfig.get_config_var("LIBPL"), sysconfig.get_config_var("LIBRARY"))
    assert path.endswith(".a") and os.path.exists(path), f"no static libpython at {path}"
    return path


@pytest.fixture(scope="module")
def embed_exe(tmp_path_factory):
    env = dict(os.environ)
    # The same pyo3 configuration as `maturin develop`, so that neither build invalidates the other.
    env["PYO3_PYTHON"] = sys.executable
    env["PYO3_ENVIRONMENT_SIGNATURE"] = f"cpython-{sys.version_info[0]}.{sys.version_info[1]}-64bit"
    build = subprocess.run(
        ["cargo", "rustc", "-q", "--lib", "--features", "python", "--crate-type", "staticlib"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
    )
    assert build.returncode == 0, build.stderr
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    staticlib = os.path.join(target, "debug", "lib_pycurl.a")
    assert os.path.exists(staticlib)

    exe = str(tmp_path_factory.mktemp("embed") / "embed")
    cc = (sysconfig.get_config_var("CC") or "cc").split()
    link = cc + [
        "-o", exe, EMBED_C, "-I", sysconfig.get_config_var("INCLUDEPY"),
        staticlib, _static_libpython(),
        *sysconfig.get_config_var("LINKFORSHARED").split(),  # lib-dynload modules use its symbols
        *RUST_NATIVE_LIBS,
    ]
    out = subprocess.run(link, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return exe


def _run(exe, code, *args):
    env = dict(os.environ, PYTHONHOME=sys.base_prefix, PYTHONPATH=os.path.join(ROOT, "python"))
    env.pop("PYTHONSTARTUP", None)
    out = subprocess.run([exe, "-c", code, *args], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_executable_has_no_libpython_or_extension_dependency(embed_exe):
    out = subprocess.run(["ldd", embed_exe], capture_output=True, text=True, check=True).stdout
    assert "libpython" not in out
    assert "_pycurl" not in out


def test_module_is_builtin(embed_exe):
    lines = _run(embed_exe, """
import sys, pycurl
print("pycurl._pycurl" in sys.builtin_module_names)
print(pycurl._pycurl.__spec__.origin)
print(getattr(pycurl._pycurl, "__file__", None))
print(pycurl.version.split()[0])
""")
    assert lines == ["True", "built-in", "None", "PycURL/7.49.0"]


def test_loopback_fetch(embed_exe, server):
    lines = _run(embed_exe, """
import io, sys, pycurl
buf = io.BytesIO()
c = pycurl.Curl()
c.setopt(pycurl.URL, sys.argv[1])
c.setopt(pycurl.WRITEDATA, buf)
c.perform()
print(c.getinfo(pycurl.RESPONSE_CODE), buf.getvalue().decode())
c.close()
""", server.url("/hello"))
    assert lines == ["200 hello world"]


def test_curl_multi_loop(embed_exe, server):
    lines = _run(embed_exe, """
import sys, pycurl
m = pycurl.CurlMulti()
bodies = {}
for n in (10, 2000, 70000):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, sys.argv[1] + "/bytes?n=%d" % n)
    chunks = bodies[c] = []
    c.setopt(pycurl.WRITEFUNCTION, chunks.append)
    m.add_handle(c)
running = 3
while running:
    _, running = m.perform()
    if running:
        m.select(1.0)
queued, ok, failed = m.info_read()
print(queued, len(ok), failed)
print(sorted(sum(map(len, bodies[c])) for c in ok))
print(sorted(c.getinfo(pycurl.RESPONSE_CODE) for c in ok))
""", server.base)
    assert lines == ["0 3 []", "[10, 2000, 70000]", "[200, 200, 200]"]
