"""getinfo / getinfo_raw / errstr on a fresh, never performed handle (and after reset())."""
from _common import Obs, call, getinfos, pycurl

o = Obs()
NAMES = ["RESPONSE_CODE", "HTTP_CODE", "EFFECTIVE_URL", "CONTENT_TYPE", "TOTAL_TIME",
         "TOTAL_TIME_T", "NAMELOOKUP_TIME", "CONNECT_TIME", "PRETRANSFER_TIME",
         "STARTTRANSFER_TIME", "REDIRECT_TIME", "INFO_CERTINFO", "PRIMARY_IP", "PRIMARY_PORT",
         "LOCAL_IP", "LOCAL_PORT", "SIZE_DOWNLOAD", "SIZE_DOWNLOAD_T", "SIZE_UPLOAD_T",
         "SPEED_DOWNLOAD_T", "REDIRECT_URL", "REDIRECT_COUNT", "INFO_COOKIELIST",
         "EFFECTIVE_METHOD", "SCHEME", "INFO_HTTP_VERSION", "NUM_CONNECTS", "LASTSOCKET",
         "ACTIVESOCKET", "INFO_FILETIME", "INFO_FILETIME_T", "OS_ERRNO",
         "CONTENT_LENGTH_DOWNLOAD", "CONTENT_LENGTH_DOWNLOAD_T", "CONTENT_LENGTH_UPLOAD_T",
         "SSL_VERIFYRESULT", "PROXY_SSL_VERIFYRESULT", "HEADER_SIZE", "REQUEST_SIZE",
         "HTTP_CONNECTCODE", "HTTPAUTH_AVAIL", "CONDITION_UNMET", "RETRY_AFTER", "REFERER",
         "CONN_ID", "XFER_ID", "PROXY_ERROR", "CAINFO", "CAPATH", "QUEUE_TIME_T",
         "POSTTRANSFER_TIME_T", "EARLYDATA_SENT_T", "HTTPAUTH_USED", "USED_PROXY"]
present = [n for n in NAMES if hasattr(pycurl, n)]
o["missing_constants"] = [n for n in NAMES if not hasattr(pycurl, n)]
c = pycurl.Curl()
o["fresh"] = getinfos(c, [n for n in present if n not in ("CAINFO", "CAPATH")])
# CAINFO/CAPATH infos name a TLS-backend-specific file: only the type
for n in ("CAINFO", "CAPATH"):
    if hasattr(pycurl, n):
        r = call(c.getinfo, getattr(pycurl, n))
        o[f"fresh_{n}_type"] = type(r.get("ret")).__name__ if "ret" in r else r
r = call(c.getinfo, pycurl.SSL_ENGINES)
o["ssl_engines_type"] = type(r["ret"]).__name__ if "ret" in r else r
o["raw"] = {n: call(c.getinfo_raw, getattr(pycurl, n))
            for n in ("EFFECTIVE_URL", "CONTENT_TYPE", "RESPONSE_CODE", "PRIMARY_IP",
                      "INFO_COOKIELIST", "TOTAL_TIME", "REDIRECT_URL", "EFFECTIVE_METHOD")}
o["errstr"] = c.errstr()
o["errstr_raw"] = c.errstr_raw()
c.setopt(pycurl.URL, "http://127.0.0.1:1/")
o["after_setopt_url"] = getinfos(c, ["EFFECTIVE_URL", "RESPONSE_CODE"])
c.reset()
o["after_reset"] = getinfos(c, ["EFFECTIVE_URL", "RESPONSE_CODE", "EFFECTIVE_METHOD"])
o.emit()
