"""Each transfer error path: pycurl.error args (code + message), errstr / errstr_raw, a few
getinfo values afterwards, and that the handle works again after the error."""
import io
import re

from _common import Obs, getinfos, perform, pycurl, refused_url, url, exc_info

o = Obs()
INFOS = ["RESPONSE_CODE", "EFFECTIVE_URL", "OS_ERRNO", "SIZE_DOWNLOAD_T", "NUM_CONNECTS",
         "PRIMARY_IP", "HTTP_CONNECTCODE"]


def run(name, target, setup=None, timing_dependent=False, library_message=False):
    c = pycurl.Curl()
    body = io.BytesIO()
    if target is not None:
        c.setopt(pycurl.URL, target)
    c.setopt(pycurl.WRITEDATA, body)
    if setup:
        setup(c)
    e_msg = []
    try:
        c.perform()
        o[f"{name}.result"] = "no error"
    except pycurl.error as e:
        e_msg.append(e.args[1] if len(e.args) > 1 else None)
        if library_message and len(e.args) > 1:
            # the text after the prefix is the decompression library's own message
            prefix, sep, lib = e.args[1].partition(": ")
            o[f"{name}.library_message"] = lib
            e.args = (e.args[0], prefix + sep + "<library message>")
        if timing_dependent:
            # how many bytes arrived before the clock ran out is up to the scheduler
            e.args = (e.args[0], re.sub(r"with \d+ (out of|bytes)", r"with X \1", e.args[1]))
        r = exc_info(e)
        r["arg_types"] = [type(a).__name__ for a in e.args]
        r["str_is_str_of_args"] = str(e) == str(e.args)
        r["chained"] = [e.__cause__ is not None, e.__context__ is not None]
        o.raw(f"{name}.result", r)
    except Exception as e:  # noqa: BLE001
        o[f"{name}.result"] = exc_info(e)
    o[f"{name}.errstr_raw_matches"] = c.errstr_raw() == c.errstr().encode()
    if timing_dependent or library_message:
        o[f"{name}.errstr_equals_message"] = c.errstr() == (e_msg[0] if e_msg else "")
        o[f"{name}.info"] = getinfos(c, [n for n in INFOS if n != "SIZE_DOWNLOAD_T"
                                         or not timing_dependent])
    else:
        o[f"{name}.errstr"] = c.errstr()
        o[f"{name}.body"] = body.getvalue()
        o[f"{name}.info"] = getinfos(c, INFOS)
    c.close()


run("no_url", None)
run("refused", refused_url("/x"))
run("dns_invalid", "http://no-such-host.invalid/")
run("dns_invalid_port", "http://no-such-host.invalid:8080/path")
run("got_nothing", url("/nothing"))
run("partial", url("/partial"))
run("weird_reply", url("/weird"))
run("weird_reply_http09_allowed", url("/weird"),
    lambda c: c.setopt(pycurl.HTTP09_ALLOWED, 1))
run("bad_status", url("/bad-status"))
run("bad_header", url("/bad-header"))
run("bad_length", url("/bad-length"))
run("bad_chunk", url("/bad-chunk"))
run("timeout", url("/slow?delay=2"), lambda c: c.setopt(pycurl.TIMEOUT_MS, 300))
run("timeout_body", url("/slowbody?chunks=5&delay=0.2"),
    lambda c: c.setopt(pycurl.TIMEOUT_MS, 500), timing_dependent=True)
run("too_many_redirects", url("/redirect/4"),
    lambda c: (c.setopt(pycurl.FOLLOWLOCATION, 1), c.setopt(pycurl.MAXREDIRS, 1)))
run("unsupported_protocol", "nosuchproto://host/")
run("unsupported_protocol_upper", "GOPHERX://host/")
run("malformed_bracket", "http://[::1/")
run("malformed_space_host", "http://bad host/")
run("malformed_empty", "")
run("malformed_port", "http://127.0.0.1:99999/")
run("malformed_no_scheme_garbage", "://nothing")
run("bad_content_encoding", url("/badgzip"), lambda c: c.setopt(pycurl.ACCEPT_ENCODING, ""),
    library_message=True)
run("bad_content_encoding_off", url("/badgzip"))
run("low_speed", url("/slowbody?chunks=6&delay=0.5"),
    lambda c: (c.setopt(pycurl.LOW_SPEED_LIMIT, 1000), c.setopt(pycurl.LOW_SPEED_TIME, 1)),
    timing_dependent=True)
run("maxfilesize", url("/bytes?n=500"), lambda c: c.setopt(pycurl.MAXFILESIZE, 100))
run("range_not_satisfiable", url("/range?n=10"),
    lambda c: (c.setopt(pycurl.RANGE, "50-60"), c.setopt(pycurl.FAILONERROR, 1)))

# the handle works again after an error, and errstr is cleared by a successful perform
c = pycurl.Curl()
c.setopt(pycurl.URL, url("/nothing"))
perform(c, o, "recover.fail")
c.setopt(pycurl.URL, url("/hello"))
c.setopt(pycurl.WRITEFUNCTION, lambda b: None)
perform(c, o, "recover.ok")
o["recover.errstr_after"] = c.errstr()
o.emit()
