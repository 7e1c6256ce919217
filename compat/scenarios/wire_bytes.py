"""Bytes given to options that end up in the request (HTTPHEADER, USERAGENT, REFERER, COOKIE, URL)
are sent exactly as given, UTF-8 or not; getinfo of a non-UTF-8 URL fails to decode."""
from _common import Obs, call, perform, pycurl, request_head, server, url

o = Obs()
srv = server()
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/hello"))
c.setopt(pycurl.HTTPHEADER, [b"Foo: b\xe4r", b"Utf: b\xc3\xa4r", b"Pua: \xef\x9e\x80", "Ascii: plain",
                             b"X-Empty;", b"Bin: \x80\x81\xfe\xff"])
c.setopt(pycurl.USERAGENT, b"agent-\xe9")
c.setopt(pycurl.REFERER, b"http://r/\xff")
c.setopt(pycurl.COOKIE, b"k=\xe4; j=\xc3\xa9")
c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
perform(c, o, "headers")
o["headers.sent"] = srv.requests[-1].head
o["headers.request_size"] = c.getinfo(pycurl.REQUEST_SIZE) - len(request_head(srv.requests[-1]))
c.close()

c = pycurl.Curl()
c.setopt(pycurl.URL, url("/hello?q=\xe4").encode("latin-1"))
c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
perform(c, o, "url_latin1")
o["url_latin1.request_line"] = srv.requests[-1].head.split(b"\r\n")[0]
o.raw("url_latin1.effective_url", call(c.getinfo, pycurl.EFFECTIVE_URL))
c.close()
o.emit()
