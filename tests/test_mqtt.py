"""mqtt:// and mqtts:// against Debian's mosquitto on loopback: CONNECT (client id, user and
password), SUBSCRIBE and the PUBLISH messages handed to WRITEFUNCTION as libcurl hands them
(topic length, topic, payload), PUBLISH of POSTFIELDS, libcurl's errors and trace, TLS first for
mqtts://, and the same under CurlMulti's perform/select and socket API. Every expectation was
taken from real pycurl (libcurl 8) against the same server."""

import io
import re

import pytest

import pycurl
from helpers import SocketActionDriver, perform_all
from mqttservers import Mosquitto, RawClient
from servers import make_certs


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("mqtt-certs"))


@pytest.fixture(scope="module")
def broker(certs):
    srv = Mosquitto(certs)
    yield srv
    srv.stop()


def handle(url, **opts):
    c = pycurl.Curl()
    c.setopt(pycurl.URL, url)
    body = io.BytesIO()
    c.setopt(pycurl.WRITEDATA, body)
    trace = []
    c.setopt(pycurl.VERBOSE, 1)
    c.setopt(pycurl.DEBUGFUNCTION, lambda kind, msg: trace.append((kind, msg)))
    c.setopt(pycurl.TIMEOUT, 5)
    for k, v in opts.items():
        c.setopt(getattr(pycurl, k), v)
    return c, body, trace


def run(url, **opts):
    c, body, trace = handle(url, **opts)
    err = None
    try:
        c.perform()
    except pycurl.error as e:
        err = e.args
    return c, err, body.getvalue(), trace


def kind(trace, k):
    return [m for t, m in trace if t == k]


def test_publish_reaches_a_subscriber(broker):
    sub = RawClient(broker.port, b"sub1")
    sub.subscribe(b"news/today")
    c, err, body, trace = run(broker.url("news%2Ftoday"), POSTFIELDS="hello")
    assert err is None and body == b""
    assert c.getinfo(pycurl.RESPONSE_CODE) == 0
    assert sub.read_packet() == (0x30, b"\x00\x0anews/todayhello")
    sub.close()
    out = kind(trace, pycurl.INFOTYPE_HEADER_OUT)
    assert re.fullmatch(rb"\x10\x18\x00\x04MQTT\x04\x02\x00<\x00\x0ccurl[A-Za-z0-9]{8}", out[0])
    assert out[1:] == [b"0\x11\x00\x0anews/todayhello", b"\xe0\x00"]
    assert kind(trace, pycurl.INFOTYPE_HEADER_IN) == [b" ", b"\x02", b"\x00\x00"]
    texts = [m.decode() for m in kind(trace, pycurl.INFOTYPE_TEXT)]
    assert re.fullmatch(r"Using client id 'curl[A-Za-z0-9]{8}'\n", texts[2])
    assert texts[-1] == "shutting down connection #0\n"
    # libcurl does not count a publish as uploaded bytes.
    assert c.getinfo(pycurl.SIZE_UPLOAD_T) == 0


def test_subscribe_delivers_topic_and_payload_until_timeout(broker):
    pub = RawClient(broker.port, b"pub1")
    pub.publish(b"a/b", b"retained!", retain=True)
    pub.close()
    c, err, body, trace = run(broker.url("a/b"), TIMEOUT_MS=700)
    assert err[0] == pycurl.E_OPERATION_TIMEDOUT
    assert re.fullmatch(r"Operation timed out after \d+ milliseconds with 14 out of 14 bytes received", err[1])
    assert body == b"\x00\x03a/bretained!"
    out = kind(trace, pycurl.INFOTYPE_HEADER_OUT)
    assert out[1] == b"\x82\x08\x00\x01\x00\x03a/b\x00"
    assert kind(trace, pycurl.INFOTYPE_HEADER_IN)[3:7] == [b"\x90", b"\x03", b"\x00\x01\x00", b"1"]
    texts = [m.decode() for m in kind(trace, pycurl.INFOTYPE_TEXT)]
    assert "Remaining length: 14 bytes\n" in texts
    assert kind(trace, pycurl.INFOTYPE_DATA_IN) == [b"\x00\x03a/bretained!"]


def test_user_and_password_go_in_connect(broker):
    c, err, _, trace = run(broker.url("t").replace("//", "//u%20x:p@"), POSTFIELDS="x")
    assert err is None
    assert kind(trace, pycurl.INFOTYPE_HEADER_OUT)[0][8:10] == b"\x04\xc2"
    assert kind(trace, pycurl.INFOTYPE_HEADER_OUT)[0].endswith(b"\x00\x03u x\x00\x01p")
    c, err, _, trace = run(broker.url("t"), USERNAME="bob", POSTFIELDS="x" * 200)
    assert err is None
    out = kind(trace, pycurl.INFOTYPE_HEADER_OUT)
    assert out[0][:10] == b"\x10\x1d\x00\x04MQTT\x04\x82" and out[0].endswith(b"\x00\x03bob")
    assert out[1][:5] == b"0\xcb\x01\x00\x01"


def test_errors_as_libcurl(broker):
    # A broker that refuses anonymous clients answers CONNACK 5.
    _, err, _, _ = run(broker.url("t", port=broker.closed_port), POSTFIELDS="x")
    assert err == (8, "Expected 0000 but got 0005")
    _, err, _, trace = run(broker.url(""), POSTFIELDS="x")
    assert err == (3, "No MQTT topic found. Forgot to URL encode it?")
    _, err, _, _ = run(broker.url("t"), POST=1)
    assert err == (43, "A libcurl function was given a bad argument")
    _, err, _, _ = run("mqtt://127.0.0.1:1/t")
    assert err[0] == pycurl.E_COULDNT_CONNECT


def test_mqtts_publishes_and_subscribes_over_tls(broker, certs):
    sub = RawClient(broker.port, b"sub2")
    sub.subscribe(b"secure")
    _, err, _, _ = run(broker.url("secure", broker.tls_port, "mqtts"), POSTFIELDS="s3cret", CAINFO=certs.ca_pem)
    assert err is None
    assert sub.read_packet() == (0x30, b"\x00\x06secures3cret")
    sub.close()
    _, err, _, _ = run(broker.url("secure", broker.tls_port, "mqtts"), POSTFIELDS="x")
    assert err[0] == pycurl.E_PEER_FAILED_VERIFICATION
    assert {"mqtt", "mqtts"} <= set(pycurl.version_info()[8])


def test_multi_perform_select_and_socket_api(broker):
    sub = RawClient(broker.port, b"sub3")
    sub.subscribe(b"multi/#")
    for driver in ("select", "socket"):
        m = pycurl.CurlMulti()
        handles = [handle(broker.url(f"multi/{driver}{i}"), POSTFIELDS=f"m{i}") for i in range(2)]
        for c, _, _ in handles:
            m.add_handle(c)
        if driver == "select":
            perform_all(m, 2)
        else:
            assert SocketActionDriver(m).run() == 0
        got = sorted(sub.read_packet()[1] for _ in handles)
        topics = [f"multi/{driver}{i}".encode() for i in range(2)]
        assert got == [bytes([0, len(t)]) + t + b"m%d" % i for i, t in enumerate(topics)]
        for c, _, _ in handles:
            m.remove_handle(c)
    sub.close()
