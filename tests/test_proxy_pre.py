"""PRE_PROXY (issue 10): a SOCKS hop in front of an HTTP proxy, TCP → SOCKS → HTTP proxy →
(CONNECT) → TLS, with real dante and microsocks in front of a real tinyproxy. Both proxies' logs
are asserted: the SOCKS proxy connected to tinyproxy, and tinyproxy saw the request."""

import pytest

import pycurl

import proxies
from proxies import dante_proxy, msocks, no_env_proxy, tiny  # noqa: F401 (fixtures)
from helpers import perform


def dante_reached(d, port):
    """dante logged a connection on to 127.0.0.1:`port` (its log writes "127.0.0.1.PORT")."""
    needle = f"127.0.0.1.{port}"
    return needle in d.wait_log(needle)


# socks4a is left out: dante refuses SOCKS4a names (tests/test_proxy_socks.py).
@pytest.mark.parametrize("scheme", ["socks4", "socks5", "socks5h", ""])
def test_http_through_socks_then_http_proxy(tiny, dante, server, scheme):
    c = pycurl.Curl()
    url = server.url(f"/hello?pre={scheme or 'default'}")
    pre = f"{scheme}://127.0.0.1:{dante.port}" if scheme else f"127.0.0.1:{dante.port}"
    body, _ = perform(c, url, PROXY=tiny.url, PRE_PROXY=pre)
    assert body == b"hello world"
    assert c.getinfo(pycurl.PRIMARY_PORT) == dante.port, "the socket goes to the first hop"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 0
    assert dante_reached(dante, tiny.port)
    assert f"GET {url} HTTP/1.1" in tiny.wait_log(url), "absolute form, as to any HTTP proxy"
    c.close()


def test_https_tunnel_through_socks5_with_auth_then_http_proxy(tiny, msocks, tls_server, certs):
    c = pycurl.Curl()
    body, _ = perform(c, tls_server.url("/hello"), PROXY=tiny.url,
                      PRE_PROXY=f"socks5h://bob:pw@127.0.0.1:{msocks.port}", CAINFO=certs.ca_pem)
    assert body == b"hello world"
    assert c.getinfo(pycurl.HTTP_CONNECTCODE) == 200
    assert c.getinfo(pycurl.PRIMARY_PORT) == msocks.port
    assert f"CONNECT 127.0.0.1:{tls_server.port}" in tiny.wait_log(f"CONNECT 127.0.0.1:{tls_server.port}")
    assert f"connected to 127.0.0.1:{tiny.port}" in msocks.wait_log(f"connected to 127.0.0.1:{tiny.port}")
    # The same chain is reused; another pre-proxy (or none) is another connection.
    perform(c, tls_server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 0
    c.setopt(pycurl.PRE_PROXY, "")
    perform(c, tls_server.url("/hello"))
    assert c.getinfo(pycurl.NUM_CONNECTS) == 1
    assert c.getinfo(pycurl.PRIMARY_PORT) == tiny.port
    c.close()


def test_pre_proxy_credentials_come_from_its_url_only(tiny, msocks, server):
    # PROXYUSERPWD belongs to the HTTP proxy: microsocks refuses the hop without its own user.
    c = pycurl.Curl()
    with pytest.raises(pycurl.error) as e:
        perform(c, server.url("/hello?pre=nocreds"), PROXY=tiny.url, PRE_PROXY=f"socks5://127.0.0.1:{msocks.port}",
                PROXYUSERPWD="bob:pw")
    assert e.value.args[0] == 97
    assert c.getinfo(pycurl.PROXY_ERROR) != 0
    assert "pre=nocreds" not in tiny.wait_log("pre=nocreds", timeout=0.3)
    c.close()


def test_pre_proxy_alone_is_the_socks_proxy(dante, server):
    c = pycurl.Curl()
    body, _ = perform(c, server.url("/hello?pre=alone"), PRE_PROXY=f"socks5h://127.0.0.1:{dante.port}")
    assert body == b"hello world"
    assert c.getinfo(pycurl.PRIMARY_PORT) == dante.port
    assert dante_reached(dante, server.port)
    c.close()


def test_pre_proxy_errors(tiny, dante, server):
    def err(**opts):
        c = pycurl.Curl()
        try:
            with pytest.raises(pycurl.error) as e:
                perform(c, server.url("/hello"), **opts)
            return e.value.args
        finally:
            c.close()

    pre = f"http://127.0.0.1:{dante.port}"
    assert err(PROXY=tiny.url, PRE_PROXY=pre) == (5, f"Unsupported pre-proxy type for '{pre}'")
    socks = f"socks5://127.0.0.1:{dante.port}"
    assert err(PROXY=socks, PRE_PROXY=socks) == (
        5, f"Having a SOCKS pre-proxy and proxy is not supported with '{socks}'")
    dead = proxies.free_port()
    code, msg = err(PROXY=tiny.url, PRE_PROXY=f"socks5://127.0.0.1:{dead}")
    assert code == pycurl.E_COULDNT_CONNECT
    assert msg.startswith(f"Failed to connect to 127.0.0.1:{tiny.port} over proxy 127.0.0.1 after ")
    # NOPROXY turns both hops off.
    c = pycurl.Curl()
    body, _ = perform(c, server.url("/hello?pre=noproxy"), PROXY=tiny.url, PRE_PROXY=f"socks5://127.0.0.1:{dead}",
                      NOPROXY="127.0.0.1")
    assert body == b"hello world" and c.getinfo(pycurl.PRIMARY_PORT) == server.port
    c.close()
