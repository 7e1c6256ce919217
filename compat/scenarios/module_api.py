"""Module surface: version strings, version_info, constants (names and values), methods of Curl /
CurlMulti / CurlShare, pycurl.error, *_strerror functions."""
from _common import Obs, call, pycurl

o = Obs()
P = pycurl
o.raw("version", P.version)  # raw: the normaliser would mask it
o["version_prefix"] = P.version.split(" ")[0:2]
vi = P.version_info()
o["version_info.len"] = len(vi)
o["version_info.types"] = [type(x).__name__ for x in vi]
for i, name in enumerate(["age", "version", "version_num", "host", "features", "ssl_version",
                          "ssl_version_num", "libz_version", "protocols", "ares", "ares_num",
                          "libidn"]):
    if i < len(vi):
        o[f"version_info.{name}"] = vi[i]
for feat in ("IPV6", "SSL", "LIBZ", "BROTLI", "ASYNCHDNS", "LARGEFILE", "HTTP2", "UNIX_SOCKETS",
             "HSTS", "ALTSVC", "PSL", "HTTPS_PROXY", "ZSTD", "THREADSAFE"):
    n = "VERSION_" + feat
    if hasattr(P, n):
        o[f"version_info.feature.{feat}"] = bool(vi[4] & getattr(P, n))
o["compile_ssl_lib"] = getattr(P, "COMPILE_SSL_LIB", None)
o["compile_libcurl_version_num"] = getattr(P, "COMPILE_LIBCURL_VERSION_NUM", None)

consts = {n: getattr(P, n) for n in dir(P)
          if n.isupper() or (n[:1].isupper() and "_" in n and isinstance(getattr(P, n), int))}
consts = {n: v for n, v in consts.items() if isinstance(v, (int, str)) and n != "version"}
o["constants.count"] = len(consts)
o["constants.sample"] = {n: consts.get(n) for n in (
    "URL", "WRITEFUNCTION", "E_OK", "E_COULDNT_CONNECT", "POLL_REMOVE", "CSELECT_IN",
    "SOCKET_TIMEOUT", "INFOTYPE_HEADER_OUT", "HTTP_VERSION_2_0", "SSLVERSION_TLSv1_2",
    "READFUNC_PAUSE", "WRITEFUNC_PAUSE", "M_TIMERFUNCTION", "E_CALL_MULTI_PERFORM")}
o["constants.values"] = dict(sorted(consts.items()))
o["module_names"] = sorted(n for n in dir(P) if not n.startswith("_") and n not in consts)

for cls in ("Curl", "CurlMulti", "CurlShare", "CurlUrl"):
    t = getattr(P, cls, None)
    o[f"class.{cls}"] = None if t is None else sorted(n for n in dir(t) if not n.startswith("__"))
o["error.mro"] = [c.__name__ for c in P.error.__mro__]
o["error.module"] = P.error.__module__
o["error.repr"] = [repr(P.error(7, "msg")), str(P.error(7, "msg")), repr(P.error())]
for fn in ("easy_strerror", "multi_strerror", "share_strerror", "url_strerror"):
    f = getattr(P, fn, None)
    if f is None:
        o[f"strerror.{fn}"] = "missing"
        continue
    o[f"strerror.{fn}"] = {repr(x): call(f, x) for x in (0, 1, 7, 28, 999, -1, 2 ** 31, "x", True)}
o["global_init"] = [call(getattr(P, "global_init", lambda *a: "missing"), P.GLOBAL_DEFAULT),
                    call(getattr(P, "global_init", lambda *a: "missing"), 12345)]
o["global_cleanup"] = call(getattr(P, "global_cleanup", lambda: "missing"))
o.emit()
