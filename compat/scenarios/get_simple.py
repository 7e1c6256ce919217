"""Simple GET: body, HEADERFUNCTION lines, request head as sent, getinfo values, timing order."""
import io

from _common import Obs, getinfos, perform, pycurl, request_head, server, timing_class, ordered, url

o = Obs()
srv = server()
c = pycurl.Curl()
body = io.BytesIO()
lines = []
c.setopt(pycurl.URL, url("/hello"))
c.setopt(pycurl.WRITEDATA, body)
c.setopt(pycurl.HEADERFUNCTION, lambda b: lines.append(b))
perform(c, o, "perform")
o["body"] = body.getvalue()
o["header_lines"] = lines
o["header_arg_types"] = sorted({type(x).__name__ for x in lines})
o["request_head"] = request_head(srv.last_request())
o["info"] = getinfos(c, [
    "RESPONSE_CODE", "HTTP_CODE", "EFFECTIVE_URL", "CONTENT_TYPE", "HEADER_SIZE",
    "SIZE_DOWNLOAD_T", "SIZE_UPLOAD_T", "CONTENT_LENGTH_DOWNLOAD_T", "CONTENT_LENGTH_UPLOAD_T",
    "NUM_CONNECTS", "REDIRECT_COUNT", "REDIRECT_URL", "PRIMARY_IP", "PRIMARY_PORT", "LOCAL_IP",
    "SCHEME", "EFFECTIVE_METHOD", "INFO_HTTP_VERSION", "INFO_FILETIME", "INFO_COOKIELIST",
    "OS_ERRNO", "SSL_VERIFYRESULT", "CONDITION_UNMET", "HTTP_CONNECTCODE", "RETRY_AFTER",
    "PROXY_ERROR", "SIZE_DOWNLOAD", "CONTENT_LENGTH_DOWNLOAD",
    "INFO_CERTINFO", "HTTPAUTH_AVAIL", "PROXYAUTH_AVAIL", "REFERER",
])
# the request carries User-Agent: pycurl.version, whose length differs by design
o["request_size_minus_version"] = c.getinfo(pycurl.REQUEST_SIZE) - len(pycurl.version)
o["speed_download_t_class"] = timing_class(c.getinfo(pycurl.SPEED_DOWNLOAD_T))
lp = c.getinfo(pycurl.LOCAL_PORT)
o["local_port_type"] = type(lp).__name__
o["local_port_positive"] = lp > 0
o["getinfo_raw"] = {
    "EFFECTIVE_URL": c.getinfo_raw(pycurl.EFFECTIVE_URL),
    "CONTENT_TYPE": c.getinfo_raw(pycurl.CONTENT_TYPE),
    "RESPONSE_CODE": c.getinfo_raw(pycurl.RESPONSE_CODE),
}
names = ["NAMELOOKUP_TIME", "CONNECT_TIME", "PRETRANSFER_TIME", "STARTTRANSFER_TIME", "TOTAL_TIME"]
vals = [c.getinfo(getattr(pycurl, n)) for n in names]
o["timing_types"] = [timing_class(v) if n == "TOTAL_TIME" else type(v).__name__
                     for n, v in zip(names, vals)]
o["timing_order"] = ordered(vals)
names_t = [n + "_T" for n in names]
vals_t = [c.getinfo(getattr(pycurl, n)) for n in names_t]
o["timing_t_types"] = [type(v).__name__ for v in vals_t]
o["timing_t_order"] = ordered(vals_t)
o["redirect_time_class"] = timing_class(c.getinfo(pycurl.REDIRECT_TIME))
o["appconnect_time_class"] = timing_class(c.getinfo(pycurl.APPCONNECT_TIME))

# a second perform on the same handle reuses the connection
body2 = io.BytesIO()
lines.clear()
c.setopt(pycurl.WRITEDATA, body2)
c.setopt(pycurl.URL, url("/bytes?n=5"))
perform(c, o, "perform2")
o["body2"] = body2.getvalue()
o["header_lines2"] = lines
o["num_connects2"] = c.getinfo(pycurl.NUM_CONNECTS)
o["server_connections"] = srv.connections
o["close"] = c.close()
o["closed"] = c.closed
o.emit()
