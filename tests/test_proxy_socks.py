"""SOCKS proxies (issue 10): SOCKS4, 4a, 5 and 5h through a real dante-server, SOCKS5 with
username/password through a real microsocks; PROXY_ERROR carries libcurl's CURLPX code and a
failed handshake is error 97. Each test checks the proxy's own log as well."""

import pytest

import pycurl

import proxies
from proxies import dante_proxy, msocks, no_env_proxy  # noqa: F401 (fixtures)
from helpers import perform

E_PROXY = 97


def fetch(url, proxy, **opts):
    c = pycurl.Curl()
    try:
        body, _ = perform(c, url, PROXY=proxy, **opts)
        return body, c.getinfo(pycurl.PROXY_ERROR), c.getinfo(pycurl.PRIMARY_PORT), None
    except pycurl.error as e:
        return None, c.getinfo(pycurl.PROXY_ERROR), c.getinfo(pycurl.PRIMARY_PORT), e.args
    finally:
        c.close()


@pytest.mark.parametrize("scheme", ["socks4", "socks5", "socks5h"])
def test_dante_carries_the_transfer(dante, server, scheme):
    body, pxerr, port, err = fetch(server.url(f"/hello?socks={scheme}"), f"{scheme}://127.0.0.1:{dante.port}")
    assert (body, pxerr, port, err) == (b"hello world", 0, dante.port, None)
    assert [r for r in server.requests if r.target == f"/hello?socks={scheme}"], "the origin got it"
    log = dante.wait_log(f"127.0.0.1.{server.port}")
    assert f"-> 127.0.0.1.{server.port}" in log or f"127.0.0.1.{server.port}" in log


def test_proxytype_without_scheme(dante, server):
    body, _, port, err = fetch(server.url("/hello"), f"127.0.0.1:{dante.port}",
                               PROXYTYPE=pycurl.PROXYTYPE_SOCKS5_HOSTNAME)
    assert (body, port, err) == (b"hello world", dante.port, None)
    body, _, _, err = fetch(server.url("/hello"), "127.0.0.1", PROXYPORT=dante.port,
                            PROXYTYPE=pycurl.PROXYTYPE_SOCKS4)
    assert body == b"hello world"


def test_socks5h_resolves_at_the_proxy(dante, server):
    body, _, _, err = fetch(server.url("/hello?socks=5h-name", host="localhost"), f"socks5h://127.0.0.1:{dante.port}")
    assert body == b"hello world" and err is None


def test_socks4a_sends_the_name_which_dante_refuses(dante, server):
    # dante does not take SOCKS4a names; libcurl sends a name even for an address.
    body, pxerr, port, err = fetch(server.url("/hello"), f"socks4a://127.0.0.1:{dante.port}")
    assert err[0] == E_PROXY and pxerr == 26 and port == dante.port
    assert err[1].startswith("[SOCKS] cannot complete SOCKS4 connection to ")
    assert err[1].endswith(". (91), request rejected or failed.")


@pytest.mark.parametrize("scheme,target,pxerr,message", [
    ("socks4", "http://127.0.0.2:1/", 26,
     "[SOCKS] cannot complete SOCKS4 connection to 127.0.0.2:1. (91), request rejected or failed."),
    ("socks5", "http://127.0.0.2:1/", 23, "cannot complete SOCKS5 connection to 127.0.0.2. (2)"),
    ("socks5h", "http://127.0.0.2:1/", 23, "cannot complete SOCKS5 connection to 127.0.0.2. (2)"),
    ("socks5h", "http://127.0.0.1:1/", 19, "cannot complete SOCKS5 connection to 127.0.0.1. (5)"),
    ("socks5h", "http://" + "a" * 300 + "/", 9,
     "SOCKS5: the destination hostname is too long to be resolved remotely by the proxy."),
    ("socks4a", "http://" + "a" * 300 + "/", 9, "SOCKS4: too long hostname"),
])
def test_dante_refusals(dante, scheme, target, pxerr, message):
    _, got_px, port, err = fetch(target, f"{scheme}://127.0.0.1:{dante.port}")
    assert err == (E_PROXY, message)
    assert got_px == pxerr
    assert port == dante.port


def test_dante_logged_the_blocked_destination(dante):
    fetch("http://127.0.0.2:1/", f"socks5h://127.0.0.1:{dante.port}")
    assert "127.0.0.2.1" in dante.wait_log("block(1)")


def test_microsocks_username_password(msocks, server):
    url = server.url("/hello?socks=auth")
    _, pxerr, _, err = fetch(url, f"socks5://127.0.0.1:{msocks.port}")
    assert (err, pxerr) == ((E_PROXY, "No authentication method was acceptable."), 12)
    _, pxerr, _, err = fetch(url, f"socks5h://bob:bad@127.0.0.1:{msocks.port}")
    assert (err, pxerr) == ((E_PROXY, "User was rejected by the SOCKS5 server (1 2)."), 33)
    body, pxerr, port, err = fetch(url, f"socks5://bob:pw@127.0.0.1:{msocks.port}")
    assert (body, pxerr, port, err) == (b"hello world", 0, msocks.port, None)
    body, _, _, err = fetch(url, f"127.0.0.1:{msocks.port}", PROXYTYPE=pycurl.PROXYTYPE_SOCKS5,
                            PROXYUSERPWD="bob:pw")
    assert body == b"hello world"
    assert msocks.wait_log(f"connected to 127.0.0.1:{server.port}").count(f"connected to 127.0.0.1:{server.port}") == 2


def test_not_a_socks_server(server):
    _, pxerr, _, err = fetch(server.url("/hello"), f"socks5h://127.0.0.1:{server.port}")
    assert (err, pxerr) == ((E_PROXY, "Received invalid version in initial SOCKS5 response."), 2)
    _, pxerr, _, err = fetch(server.url("/hello"), f"socks4://127.0.0.1:{server.port}")
    assert (err, pxerr) == ((E_PROXY, "SOCKS4 reply has wrong version, version should be 0."), 2)


def test_socks4_to_a_socks5_only_proxy(msocks, server):
    _, pxerr, _, err = fetch(server.url("/hello"), f"socks4://127.0.0.1:{msocks.port}")
    assert (err, pxerr) == ((E_PROXY, "Failed to receive SOCKS response, proxy closed connection"), 15)


def test_local_resolution_failure_is_a_host_error(dante):
    for scheme in ("socks4", "socks5"):
        _, pxerr, _, err = fetch("http://nonexistent.invalid/", f"{scheme}://127.0.0.1:{dante.port}")
        assert (err, pxerr) == ((pycurl.E_COULDNT_RESOLVE_HOST, "Could not resolve host: nonexistent.invalid"), 0)


def test_https_through_socks(dante, tls_server, certs):
    body, _, port, err = fetch(tls_server.url("/hello"), f"socks5h://127.0.0.1:{dante.port}", CAINFO=certs.ca_pem)
    assert (body, port, err) == (b"hello world", dante.port, None)


def test_pool_key_separates_socks_users(msocks, server):
    c = pycurl.Curl()
    perform(c, server.url("/hello"), PROXY=f"socks5://bob:pw@127.0.0.1:{msocks.port}")
    perform(c, server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0, "same proxy and user: reused"
    c.setopt(pycurl.PROXY, f"socks5://127.0.0.1:{msocks.port}")
    with pytest.raises(pycurl.error) as e:
        perform(c, server.url("/hello"))
    assert e.value.args == (E_PROXY, "No authentication method was acceptable.")
    c.close()


def test_gssapi_options_not_built():
    c = pycurl.Curl()
    c.setopt(pycurl.SOCKS5_GSSAPI_NEC, 0)
    try:
        c.setopt(pycurl.SOCKS5_GSSAPI_NEC, 1)
        built = True
    except pycurl.error as e:
        assert e.args[0] == pycurl.E_NOT_BUILT_IN
        built = False
    assert built == ("pycurl-rs" not in pycurl.version)
    c.close()


def test_socks5_gssapi_service_warns_deprecated_first():
    # pycurl warns before libcurl sees the value; this option is not built here, so the warning
    # comes before E_NOT_BUILT_IN, and with warnings as errors the warning is what is raised.
    import warnings

    c = pycurl.Curl()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        with pytest.raises(DeprecationWarning, match="setopt option is deprecated"):
            c.setopt(pycurl.SOCKS5_GSSAPI_SERVICE, "rcmd/host")
    c.close()
