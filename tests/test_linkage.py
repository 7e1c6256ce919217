"""The extension needs nothing at run time beyond the C runtime: no libcurl, no OpenSSL, no zlib."""
import shutil
import subprocess

import pytest

import pycurl
import pycurl._pycurl as native

from helpers import IS_RS

# glibc and the compiler's unwinder, present on every system Python itself runs on.
C_RUNTIME = {"libc.so.6", "libm.so.6", "libgcc_s.so.1", "libpthread.so.0", "libdl.so.2", "librt.so.1"}


def needed_libraries(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    libs = set()
    for line in out.splitlines():
        if "(NEEDED)" in line:
            libs.add(line.split("[", 1)[1].rstrip("]"))
    return libs


@pytest.mark.skipif(not IS_RS, reason="checks pycurl-rs's own extension module")
def test_extension_links_only_the_c_runtime():
    assert shutil.which("readelf"), "binutils' readelf is needed for this check"
    libs = needed_libraries(native.__file__)
    assert "libc.so.6" in libs
    extra = {lib for lib in libs if lib not in C_RUNTIME and not lib.startswith("ld-linux")}
    assert extra == set(), f"unexpected shared libraries: {sorted(extra)}"
    assert not any("ssl" in lib or "curl" in lib or "crypto" in lib or "libz" in lib for lib in libs)


def test_version_names_the_real_stack():
    if IS_RS:
        assert pycurl.version.startswith("PycURL/7.49.0 libcurl/")
        assert "pycurl-rs/" in pycurl.version and "rustls/" in pycurl.version
        assert "OpenSSL" not in pycurl.version
