"""Module-level API: version strings, version_info, constants, strerror,
the error class and global init/cleanup."""

import io
import re
import socket
import threading

import pytest

import pycurl

from helpers import recv_head


# Values are libcurl's (curl/curl.h) and pycurl's public constant table.
EXPECTED_CONSTANTS = {
    "URL": 10002,
    "WRITEFUNCTION": 20011,
    "WRITEDATA": 10001,
    "HEADERFUNCTION": 20079,
    "READFUNCTION": 20012,
    "READDATA": 10009,
    "HTTPHEADER": 10023,
    "FOLLOWLOCATION": 52,
    "MAXREDIRS": 68,
    "POSTREDIR": 161,
    "AUTOREFERER": 58,
    "CUSTOMREQUEST": 10036,
    "NOBODY": 44,
    "HTTPGET": 80,
    "USERAGENT": 10018,
    "REFERER": 10016,
    "COOKIE": 10022,
    "RANGE": 10007,
    "RESUME_FROM": 30116,
    "ACCEPT_ENCODING": 10102,
    "ENCODING": 10102,
    "HTTP_CONTENT_DECODING": 158,
    "USERPWD": 10005,
    "USERNAME": 10173,
    "PASSWORD": 10174,
    "HTTPAUTH": 107,
    "TIMEOUT": 13,
    "TIMEOUT_MS": 155,
    "CONNECTTIMEOUT": 78,
    "CONNECTTIMEOUT_MS": 156,
    "LOW_SPEED_LIMIT": 19,
    "LOW_SPEED_TIME": 20,
    "FAILONERROR": 45,
    "UPLOAD": 46,
    "INFILESIZE": 30115,
    "INFILESIZE_LARGE": 30115,
    "PUT": 54,
    "POST": 47,
    "POSTFIELDS": 10015,
    "COPYPOSTFIELDS": 10165,
    "POSTFIELDSIZE": 30120,
    "POSTFIELDSIZE_LARGE": 30120,
    "SEEKFUNCTION": 20167,
    "XFERINFOFUNCTION": 20219,
    "PROGRESSFUNCTION": 20056,
    "NOPROGRESS": 43,
    "RESOLVE": 10203,
    "CONNECT_TO": 10243,
    "CAINFO": 10065,
    "CAPATH": 10097,
    "SSL_VERIFYPEER": 64,
    "SSL_VERIFYHOST": 81,
    "SSLCERT": 10025,
    "SSLKEY": 10087,
    "PINNEDPUBLICKEY": 10230,
    "SSLVERSION": 32,
    "OPT_CERTINFO": 172,
    "OPENSOCKETFUNCTION": 20163,
    "SOCKOPTFUNCTION": 20148,
    "CLOSESOCKETFUNCTION": 20208,
    "PREREQFUNCTION": 20312,
    "PROXY": 10004,
    "VERBOSE": 41,
    "DEBUGFUNCTION": 20094,
    "HEADER": 42,
    "NOSIGNAL": 99,
    "SHARE": 10100,
    "HTTP_VERSION": 84,
    "FRESH_CONNECT": 74,
    "FORBID_REUSE": 75,
    "COOKIEFILE": 10031,
    "COOKIEJAR": 10082,
    "COOKIELIST": 10135,
    "MAXFILESIZE": 30117,
    "BUFFERSIZE": 98,
    "TCP_NODELAY": 121,
    "IPRESOLVE": 113,
    "INTERFACE": 10062,
    "LOCALPORT": 139,
    "UNRESTRICTED_AUTH": 105,
    "PROTOCOLS": 181,
    "REDIR_PROTOCOLS": 182,
    "DEFAULT_PROTOCOL": 10238,
    "PATH_AS_IS": 234,
    "EXPECT_100_TIMEOUT_MS": 227,
    "HTTP200ALIASES": 10104,
    "TRANSFER_ENCODING": 207,
    "IGNORE_CONTENT_LENGTH": 136,
    "NOPROXY": 10177,
    "MAX_RECV_SPEED_LARGE": 30146,
    "MAX_SEND_SPEED_LARGE": 30145,
    "UPLOAD_BUFFERSIZE": 280,
    "XOAUTH2_BEARER": 10220,
    "KEYPASSWD": 10026,
    "SSLCERTTYPE": 10086,
    "SSLKEYTYPE": 10088,
    "SSL_CIPHER_LIST": 10083,
    "TLS13_CIPHERS": 10276,
    "CAINFO_BLOB": 40309,
    "SSLCERT_BLOB": 40291,
    "SSLKEY_BLOB": 40292,
    "ISSUERCERT": 10170,
    "SSL_OPTIONS": 216,
    "MAIL_FROM": 10186,
    "WRITEFUNC_PAUSE": 268435457,
    "READFUNC_ABORT": 268435456,
    "READFUNC_PAUSE": 268435457,
    "SEEKFUNC_OK": 0,
    "SEEKFUNC_FAIL": 1,
    "SEEKFUNC_CANTSEEK": 2,
    "PAUSE_ALL": 5,
    "PAUSE_CONT": 0,
    "PAUSE_RECV": 1,
    "PAUSE_SEND": 4,
    "SOCKTYPE_IPCXN": 0,
    "SOCKTYPE_ACCEPT": 1,
    "SOCKOPT_OK": 0,
    "SOCKOPT_ERROR": 1,
    "SOCKOPT_ALREADY_CONNECTED": 2,
    "PREREQFUNC_OK": 0,
    "PREREQFUNC_ABORT": 1,
    "GLOBAL_ALL": 3,
    "GLOBAL_SSL": 1,
    "GLOBAL_WIN32": 2,
    "GLOBAL_NOTHING": 0,
    "GLOBAL_DEFAULT": 3,
    "GLOBAL_ACK_EINTR": 4,
    "HTTPAUTH_BASIC": 1,
    "HTTPAUTH_DIGEST": 2,
    "HTTPAUTH_ANY": 4294967023,
    "HTTPAUTH_ANYSAFE": 4294967022,
    "HTTPAUTH_NONE": 0,
    "HTTPAUTH_ONLY": 2147483648,
    "CURL_HTTP_VERSION_1_0": 1,
    "CURL_HTTP_VERSION_1_1": 2,
    "CURL_HTTP_VERSION_2_0": 3,
    "CURL_HTTP_VERSION_2": 3,
    "CURL_HTTP_VERSION_NONE": 0,
    "CURL_HTTP_VERSION_2TLS": 4,
    "CURL_HTTP_VERSION_3": 30,
    "SSLVERSION_DEFAULT": 0,
    "SSLVERSION_TLSv1": 1,
    "SSLVERSION_TLSv1_2": 6,
    "SSLVERSION_TLSv1_3": 7,
    "SSLVERSION_MAX_TLSv1_2": 393216,
    "SSLVERSION_MAX_DEFAULT": 65536,
    "REDIR_POST_301": 1,
    "REDIR_POST_302": 2,
    "REDIR_POST_303": 4,
    "REDIR_POST_ALL": 7,
    "IPRESOLVE_V4": 1,
    "IPRESOLVE_V6": 2,
    "IPRESOLVE_WHATEVER": 0,
    "PROTO_HTTP": 1,
    "PROTO_HTTPS": 2,
    "PROTO_FILE": 1024,
    "PROTO_ALL": 4294967295,
    "VERSION_SSL": 4,
    "VERSION_LIBZ": 8,
    "VERSION_IPV6": 1,
    "VERSION_HTTP2": 65536,
    "VERSION_BROTLI": 8388608,
    "VERSION_ZSTD": 67108864,
    "VERSION_ASYNCHDNS": 128,
    "VERSION_LARGEFILE": 512,
    "INFOTYPE_TEXT": 0,
    "INFOTYPE_HEADER_IN": 1,
    "INFOTYPE_HEADER_OUT": 2,
    "INFOTYPE_DATA_IN": 3,
    "INFOTYPE_DATA_OUT": 4,
    "INFOTYPE_SSL_DATA_IN": 5,
    "INFOTYPE_SSL_DATA_OUT": 6,
    "POLL_IN": 1,
    "POLL_OUT": 2,
    "POLL_NONE": 0,
    "POLL_REMOVE": 4,
    "POLL_INOUT": 3,
    "CSELECT_IN": 1,
    "SSLOPT_NO_REVOKE": 2,
    "SSLOPT_ALLOW_BEAST": 1,
    "E_OK": 0,
    "E_FTP_WEIRD_SERVER_REPLY": 8,
    "E_COULDNT_RESOLVE_PROXY": 5,
    "E_FILESIZE_EXCEEDED": 63,
    "E_HTTP2": 16,
    "E_AGAIN": 81,
    "E_SSL_ENGINE_NOTFOUND": 53,
    "E_CALL_MULTI_PERFORM": -1,
    "E_MULTI_OK": 0,
    "E_MULTI_BAD_EASY_HANDLE": 2,
    "ACCEPTTIMEOUT_MS": 212,
    "M_MAXCONNECTS": 6,
}

# libcurl error codes with their names as pycurl exposes them
ERROR_CODES = {
    "E_UNSUPPORTED_PROTOCOL": 1,
    "E_URL_MALFORMAT": 3,
    "E_NOT_BUILT_IN": 4,
    "E_COULDNT_RESOLVE_HOST": 6,
    "E_COULDNT_CONNECT": 7,
    "E_PARTIAL_FILE": 18,
    "E_HTTP_RETURNED_ERROR": 22,
    "E_WRITE_ERROR": 23,
    "E_READ_ERROR": 26,
    "E_OPERATION_TIMEDOUT": 28,
    "E_RANGE_ERROR": 33,
    "E_SSL_CONNECT_ERROR": 35,
    "E_FILE_COULDNT_READ_FILE": 37,
    "E_ABORTED_BY_CALLBACK": 42,
    "E_BAD_FUNCTION_ARGUMENT": 43,
    "E_TOO_MANY_REDIRECTS": 47,
    "E_UNKNOWN_OPTION": 48,
    "E_GOT_NOTHING": 52,
    "E_SEND_ERROR": 55,
    "E_RECV_ERROR": 56,
    "E_SSL_CERTPROBLEM": 58,
    "E_SSL_CACERT": 60,
    "E_PEER_FAILED_VERIFICATION": 60,
    "E_BAD_CONTENT_ENCODING": 61,
    "E_SEND_FAIL_REWIND": 65,
    "E_LOGIN_DENIED": 67,
    "E_SSL_PINNEDPUBKEYNOTMATCH": 90,
}

INFO_CONSTANTS = {
    "EFFECTIVE_URL": 0x100001,
    "RESPONSE_CODE": 0x200002,
    "HTTP_CODE": 0x200002,
    "TOTAL_TIME": 0x300003,
    "NAMELOOKUP_TIME": 0x300004,
    "CONNECT_TIME": 0x300005,
    "PRETRANSFER_TIME": 0x300006,
    "SIZE_UPLOAD_T": 0x600007,
    "SIZE_DOWNLOAD_T": 0x600008,
    "SPEED_DOWNLOAD_T": 0x600009,
    "SPEED_UPLOAD_T": 0x60000A,
    "HEADER_SIZE": 0x20000B,
    "REQUEST_SIZE": 0x20000C,
    "SSL_VERIFYRESULT": 0x20000D,
    "CONTENT_LENGTH_DOWNLOAD_T": 0x60000F,
    "CONTENT_LENGTH_UPLOAD_T": 0x600010,
    "STARTTRANSFER_TIME": 0x300011,
    "CONTENT_TYPE": 0x100012,
    "REDIRECT_TIME": 0x300013,
    "REDIRECT_COUNT": 0x200014,
    "HTTP_CONNECTCODE": 0x200016,
    "HTTPAUTH_AVAIL": 0x200017,
    "OS_ERRNO": 0x200019,
    "NUM_CONNECTS": 0x20001A,
    "REDIRECT_URL": 0x10001F,
    "PRIMARY_IP": 0x100020,
    "INFO_CERTINFO": 0x400022,
    "LOCAL_IP": 0x100029,
    "PRIMARY_PORT": 0x200028,
    "LOCAL_PORT": 0x20002A,
    "INFO_HTTP_VERSION": 0x20002E,
    "SCHEME": 0x100031,
    "TOTAL_TIME_T": 0x600032,
    "NAMELOOKUP_TIME_T": 0x600033,
    "CONNECT_TIME_T": 0x600034,
    "PRETRANSFER_TIME_T": 0x600035,
    "STARTTRANSFER_TIME_T": 0x600036,
    "REDIRECT_TIME_T": 0x600037,
    "APPCONNECT_TIME_T": 0x600038,
    "EFFECTIVE_METHOD": 0x10003A,
}


@pytest.mark.parametrize("name,value", sorted(EXPECTED_CONSTANTS.items()))
def test_constant_values(name, value):
    assert getattr(pycurl, name) == value
    assert type(getattr(pycurl, name)) is int


@pytest.mark.parametrize("name,value", sorted(ERROR_CODES.items()))
def test_error_code_constants(name, value):
    assert getattr(pycurl, name) == value


@pytest.mark.parametrize("name,value", sorted(INFO_CONSTANTS.items()))
def test_info_constants(name, value):
    assert getattr(pycurl, name) == value


def test_option_aliases():
    # pycurl maps the 32-bit variants onto the _LARGE options
    assert pycurl.INFILESIZE == pycurl.INFILESIZE_LARGE
    assert pycurl.RESUME_FROM == pycurl.RESUME_FROM_LARGE == 30116
    assert pycurl.POSTFIELDSIZE == pycurl.POSTFIELDSIZE_LARGE
    assert pycurl.ENCODING == pycurl.ACCEPT_ENCODING
    assert pycurl.HTTP_CODE == pycurl.RESPONSE_CODE
    assert pycurl.WRITEHEADER == 10029
    assert pycurl.WRITEDATA == pycurl.FILE == 10001
    assert pycurl.READDATA == pycurl.INFILE == 10009


def test_version_string():
    v = pycurl.version
    assert isinstance(v, str)
    assert v.startswith("PycURL/")
    assert re.search(r"libcurl/\d+\.\d+\.\d+", v)


def test_version_info_shape():
    vi = pycurl.version_info()
    assert isinstance(vi, tuple)
    assert len(vi) == 12
    age, ver, num, host, features, ssl_ver, ssl_num, libz, protocols = vi[:9]
    assert isinstance(age, int) and age >= 0
    m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)(?:-\w+)?", ver)
    assert m, ver
    major, minor, patch = (int(x) for x in m.groups())
    assert num == (major << 16) | (minor << 8) | patch
    assert isinstance(host, str) and host
    assert isinstance(features, int)
    assert features & pycurl.VERSION_SSL
    assert features & pycurl.VERSION_LIBZ
    assert isinstance(ssl_ver, str) and ssl_ver
    assert isinstance(ssl_num, int)
    assert libz is None or isinstance(libz, str)
    assert isinstance(protocols, tuple)
    assert all(isinstance(p, str) for p in protocols)
    for p in ("http", "https", "file"):
        assert p in protocols
    assert list(protocols) == sorted(protocols)
    # the version in version_info matches the libcurl/... part of pycurl.version
    assert f"libcurl/{ver}" in pycurl.version


def test_version_info_accepts_ignored_argument():
    assert pycurl.version_info(1) == pycurl.version_info()


def test_version_info_brotli_matches_features():
    vi = pycurl.version_info()
    # both real pycurl (built with brotli) and ours decode br
    assert vi[4] & pycurl.VERSION_BROTLI


def test_version_info_reports_unix_sockets_it_can_use(tmp_path):
    assert pycurl.version_info()[4] & pycurl.VERSION_UNIX_SOCKETS
    path = str(tmp_path / "http.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)

    def answer():
        conn, _ = listener.accept()
        with conn:
            if b"\r\n\r\n" not in recv_head(conn):
                return
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nunix")

    t = threading.Thread(target=answer)
    t.start()
    c = pycurl.Curl()
    body = io.BytesIO()
    c.setopt(pycurl.URL, "http://localhost/over-unix")
    c.setopt(pycurl.UNIX_SOCKET_PATH, path)
    c.setopt(pycurl.WRITEDATA, body)
    try:
        c.perform()
    finally:
        t.join(10)
        listener.close()
        c.close()
    assert body.getvalue() == b"unix"


def test_version_info_reports_thread_safe_global_init():
    # CURL_VERSION_THREADSAFE (1 << 30; pycurl has no constant for it): global_init may run on any thread
    assert pycurl.version_info()[4] & (1 << 30)
    errors = []

    def init():
        try:
            pycurl.global_init(pycurl.GLOBAL_DEFAULT)
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=init) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("code,text", [
    (0, "No error"),
    (1, "Unsupported protocol"),
    (3, "URL using bad/illegal format or missing URL"),
    (6, "Could not resolve hostname"),
    (7, "Could not connect to server"),
    (18, "Transferred a partial file"),
    (22, "HTTP response code said error"),
    (23, "Failed writing received data to disk/application"),
    (28, "Timeout was reached"),
    (42, "Operation was aborted by an application callback"),
    (47, "Number of redirects hit maximum amount"),
    (52, "Server returned nothing (no headers, no data)"),
    (60, "SSL peer certificate or SSH remote key was not OK"),
    (61, "Unrecognized or bad HTTP Content or Transfer-Encoding"),
    (90, "SSL public key does not match pinned public key"),
    (9999, "Unknown error"),
    (-1, "Unknown error"),
])
def test_easy_strerror(code, text):
    assert pycurl.easy_strerror(code) == text


def test_easy_strerror_bad_args():
    with pytest.raises(TypeError):
        pycurl.easy_strerror("x")
    with pytest.raises(TypeError):
        pycurl.easy_strerror()


def test_error_class():
    assert issubclass(pycurl.error, Exception)
    assert pycurl.error.__module__ == "pycurl"
    e = pycurl.error(7, "msg")
    assert e.args == (7, "msg")
    assert repr(e) == "error(7, 'msg')"
    with pytest.raises(pycurl.error) as ei:
        raise e
    assert ei.value.args[0] == 7


def test_curl_class_identity():
    assert pycurl.Curl.__name__ == "Curl"
    assert pycurl.Curl.__module__ == "pycurl"
    c = pycurl.Curl()
    assert type(c) is pycurl.Curl
    c.close()


def test_global_init_cleanup():
    assert pycurl.global_init(pycurl.GLOBAL_ALL) is None
    assert pycurl.global_init(pycurl.GLOBAL_DEFAULT) is None
    assert pycurl.global_cleanup() is None
    # the library still works afterwards
    pycurl.global_init(pycurl.GLOBAL_ALL)
    c = pycurl.Curl()
    c.close()


def test_global_init_bad_args():
    with pytest.raises(ValueError, match="invalid option to global_init"):
        pycurl.global_init(12345)
    with pytest.raises(TypeError):
        pycurl.global_init("x")
    with pytest.raises(TypeError):
        pycurl.global_init()


def test_all_lists_public_names():
    assert "Curl" in pycurl.__all__
    assert "error" in pycurl.__all__
    assert "URL" in pycurl.__all__
    assert "E_COULDNT_CONNECT" in pycurl.__all__


# Every scheme libcurl 8 knows; version_info lists exactly the ones this build runs.
_LIBCURL_SCHEMES = (
    "dict file ftp ftps gopher gophers http https imap imaps mqtt mqtts pop3 pop3s rtsp scp sftp "
    "smtp smtps telnet tftp ws wss"
).split()


@pytest.mark.parametrize("scheme", _LIBCURL_SCHEMES)
def test_version_info_protocols_are_the_ones_that_run(scheme):
    listed = scheme in pycurl.version_info()[8]
    c = pycurl.Curl()
    # Port 1 on loopback refuses at once; a scheme that is built fails later than "not supported".
    c.setopt(pycurl.URL, f"{scheme}://127.0.0.1:1/x" if scheme != "file" else "file:///nonexistent/x")
    c.setopt(pycurl.CONNECTTIMEOUT, 2)
    with pytest.raises(pycurl.error) as e:
        c.perform()
    c.close()
    assert (e.value.args[0] != pycurl.E_UNSUPPORTED_PROTOCOL) == listed, e.value.args
