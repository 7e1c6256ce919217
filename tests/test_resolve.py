"""RESOLVE and CONNECT_TO: name/port overrides without any DNS traffic
(the names used end in the reserved .invalid TLD)."""

import pycurl

from helpers import perform, perform_error

NAME = "nonexistent.invalid"


def test_resolve(server, curl):
    p = server.port
    body, _ = perform(curl, f"http://{NAME}:{p}/hello", RESOLVE=[f"{NAME}:{p}:127.0.0.1"])
    assert body == b"hello world"
    assert server.last_request().header("Host") == f"{NAME}:{p}"
    assert curl.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"
    assert curl.getinfo(pycurl.PRIMARY_PORT) == p
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == f"http://{NAME}:{p}/hello"


def test_resolve_plus_prefix(server, curl):
    p = server.port
    body, _ = perform(curl, f"http://{NAME}:{p}/hello", RESOLVE=[f"+{NAME}:{p}:127.0.0.1"])
    assert body == b"hello world"


def test_resolve_several_addresses_falls_back(server, curl):
    p = server.port
    # nothing listens on 127.0.0.2:p, so the second address is used
    body, _ = perform(curl, f"http://{NAME}:{p}/hello",
                      RESOLVE=[f"{NAME}:{p}:127.0.0.2,127.0.0.1"])
    assert body == b"hello world"
    assert curl.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"


def test_resolve_only_for_matching_port(server, curl):
    p = server.port
    code, msg = perform_error(curl, f"http://{NAME}:{p}/hello",
                              RESOLVE=[f"{NAME}:{p + 1}:127.0.0.1"])
    assert (code, msg) == (6, f"Could not resolve host: {NAME}")


def test_resolve_removal(server, curl):
    p = server.port
    perform(curl, f"http://{NAME}:{p}/hello", RESOLVE=[f"{NAME}:{p}:127.0.0.1"])
    code, msg = perform_error(curl, f"http://{NAME}:{p}/hello", RESOLVE=[f"-{NAME}:{p}"],
                              FRESH_CONNECT=1)
    assert (code, msg) == (6, f"Could not resolve host: {NAME}")


def test_resolve_entry_stays_cached_after_unset(server, curl):
    """Entries go into the handle's DNS cache: dropping the option list does
    not remove them (only a '-' entry does)."""
    p = server.port
    perform(curl, f"http://{NAME}:{p}/hello", RESOLVE=[f"{NAME}:{p}:127.0.0.1"])
    curl.setopt(pycurl.RESOLVE, None)
    body, _ = perform(curl, f"http://{NAME}:{p}/hello", FRESH_CONNECT=1)
    assert body == b"hello world"


def test_resolve_bad_entries(curl, server):
    p = server.port
    for entry in ["garbage", f"{NAME}:{p}:notanip"]:
        code, msg = perform_error(curl, f"http://{NAME}:{p}/hello", RESOLVE=[entry])
        assert (code, msg) == (pycurl.E_TELNET_OPTION_SYNTAX,
                               f"Could not parse CURLOPT_RESOLVE entry '{entry}'")


def test_resolve_type_errors(curl):
    import pytest
    with pytest.raises(TypeError):
        curl.setopt(pycurl.RESOLVE, "a:1:127.0.0.1")


def test_resolve_localhost(server, curl):
    p = server.port
    perform(curl, f"http://localhost:{p}/hello", RESOLVE=[f"localhost:{p}:127.0.0.1"])
    assert curl.getinfo(pycurl.PRIMARY_IP) == "127.0.0.1"


def test_connect_to_host_and_port(server, curl):
    body, _ = perform(curl, f"http://{NAME}/hello",
                      CONNECT_TO=[f"{NAME}:80:127.0.0.1:{server.port}"])
    assert body == b"hello world"
    assert server.last_request().header("Host") == NAME
    assert curl.getinfo(pycurl.PRIMARY_PORT) == server.port
    assert curl.getinfo(pycurl.EFFECTIVE_URL) == f"http://{NAME}/hello"


def test_connect_to_wildcards(server, curl):
    body, _ = perform(curl, f"http://{NAME}/hello", CONNECT_TO=[f"::127.0.0.1:{server.port}"])
    assert body == b"hello world"
    body, _ = perform(curl, f"http://{NAME}:1234/hello",
                      CONNECT_TO=[f":1234:127.0.0.1:{server.port}"])
    assert server.last_request().header("Host") == f"{NAME}:1234"


def test_connect_to_non_matching_entry_ignored(server, curl):
    code, msg = perform_error(curl, f"http://{NAME}:1234/hello",
                              CONNECT_TO=[f"other.invalid::127.0.0.1:{server.port}"])
    assert (code, msg) == (6, f"Could not resolve host: {NAME}")


def test_connect_to_first_match_wins(server, curl, refused_port):
    body, _ = perform(curl, f"http://{NAME}/hello",
                      CONNECT_TO=[f"{NAME}:80:127.0.0.1:{server.port}",
                                  f"{NAME}:80:127.0.0.1:{refused_port}"])
    assert body == b"hello world"
