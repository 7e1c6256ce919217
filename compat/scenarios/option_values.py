"""Option values libcurl refuses (negative sizes, speeds and times, HTTP_VERSION -1, USE_SSL out of
range, PROXYAUTH masks) and the ones it accepts without effect on an HTTP transfer."""
from _common import Obs, call, perform, pycurl, server, url

o = Obs()
srv = server()
P = pycurl


def s(name, opt, value):
    c = pycurl.Curl()
    o.raw(f"setopt.{name}", call(c.setopt, opt, value))
    c.close()


for name in ("BUFFERSIZE", "LOW_SPEED_LIMIT", "LOW_SPEED_TIME", "MAXFILESIZE", "MAXFILESIZE_LARGE",
             "MAX_RECV_SPEED_LARGE", "MAX_SEND_SPEED_LARGE"):
    s(f"{name}.neg", getattr(P, name), -1)
    s(f"{name}.zero", getattr(P, name), 0)
for name in ("POSTFIELDSIZE", "POSTFIELDSIZE_LARGE"):
    s(f"{name}.minus1", getattr(P, name), -1)
    s(f"{name}.minus2", getattr(P, name), -2)
s("BUFFERSIZE.small", P.BUFFERSIZE, 10)
s("BUFFERSIZE.huge", P.BUFFERSIZE, 100 * 1024 * 1024)
s("HTTP_VERSION.neg", P.HTTP_VERSION, -1)
s("HTTP_VERSION.99", P.HTTP_VERSION, 99)
for v in (-1, 0, 1, 2, 3, 4, 7):
    s(f"USE_SSL.{v}", P.USE_SSL, v)
for k, v in (("none", 0), ("basic", P.HTTPAUTH_BASIC), ("digest", P.HTTPAUTH_DIGEST),
             ("digest_ie", P.HTTPAUTH_DIGEST_IE), ("any", P.HTTPAUTH_ANY), ("anysafe", P.HTTPAUTH_ANYSAFE),
             ("all_bits", -1), ("high_bit_only", 1 << 40), ("ntlm", P.HTTPAUTH_NTLM)):
    s(f"PROXYAUTH.{k}", P.PROXYAUTH, v)

# A second bad value on the same handle keeps the first message (libcurl's error buffer).
c = pycurl.Curl()
o.raw("sticky.first", call(c.setopt, P.BUFFERSIZE, -5))
o.raw("sticky.second", call(c.setopt, P.LOW_SPEED_LIMIT, -5))
c.close()

# Accepted values on a real HTTP transfer: no effect on what is fetched.
for k, opt, v in (("use_ssl_all", P.USE_SSL, P.USESSL_ALL), ("use_ssl_try", P.USE_SSL, P.USESSL_TRY),
                  ("proxyauth_basic", P.PROXYAUTH, P.HTTPAUTH_BASIC), ("buffersize_0", P.BUFFERSIZE, 0),
                  ("buffersize_10", P.BUFFERSIZE, 10), ("postfieldsize_minus1", P.POSTFIELDSIZE, -1)):
    c = pycurl.Curl()
    chunks = []
    c.setopt(P.URL, url("/bytes?n=50000"))
    c.setopt(P.WRITEFUNCTION, chunks.append)
    c.setopt(opt, v)
    perform(c, o, f"transfer.{k}")
    o[f"transfer.{k}.code"] = c.getinfo(P.RESPONSE_CODE)
    o[f"transfer.{k}.size"] = sum(map(len, chunks))
    o[f"transfer.{k}.max_chunk"] = max(map(len, chunks))
    c.close()
o.emit()
