"""Mistakes mypy --strict must catch with pycurl-rs's stubs (tests/test_stubs.py lists the
expected errors by line; the program is never executed)."""

import pycurl

c = pycurl.Curl()
c.setopt(c.URLL, "http://127.0.0.1/")  # misspelled instance constant
c.setopt(pycurl.WRITEDAT, print)  # misspelled module constant
c.perfrom()  # misspelled method
n: int = c.perform_rs()  # str is not int
c.setopt("URL", "http://127.0.0.1/")  # the option is an int constant
m = pycurl.CurlMulti()
m.add_handle("not a handle")  # only Curl objects
