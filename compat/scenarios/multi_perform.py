"""CurlMulti with the perform/select loop: add_handle, perform() return values, select(),
timeout(), fdset(), info_read() results (successes and failures), remove_handle, final state."""
import io
import time

from _common import Obs, call, pycurl, refused_url, url

o = Obs()
m = pycurl.CurlMulti()
handles = {}
specs = [("hello", url("/hello"), {}),
         ("bytes", url("/bytes?n=70000"), {}),
         ("notfound", url("/status/404"), {pycurl.FAILONERROR: 1}),
         ("refused", refused_url("/"), {}),
         ("nothing", url("/nothing"), {})]
for name, u, opts in specs:
    c = pycurl.Curl()
    c.buf = io.BytesIO()
    c.setopt(pycurl.URL, u)
    c.setopt(pycurl.WRITEDATA, c.buf)
    for k, v in opts.items():
        c.setopt(k, v)
    c.label = name
    handles[name] = c
    o[f"add.{name}"] = call(m.add_handle, c)

o["timeout_before_perform"] = call(m.timeout)
first = m.perform()
o["perform_first_types"] = [type(x).__name__ for x in first]
o["perform_first_num"] = first[1]
fds = m.fdset()
o["fdset_shape"] = [type(fds).__name__, len(fds)] + [type(x).__name__ for x in fds]
oks, errs = [], []
queued_seen = []
select_types = set()
deadline = time.monotonic() + 5
num = first[1]
while time.monotonic() < deadline:
    while True:
        ret, num = m.perform()
        if ret != pycurl.E_CALL_MULTI_PERFORM:
            break
    while True:
        q, ok, err = m.info_read()
        queued_seen.append(q)
        oks.extend(ok)
        errs.extend(err)
        if q == 0:
            break
    if num == 0:
        break
    select_types.add(type(m.select(0.5)).__name__)
o["final_perform"] = [ret, num]
o["select_ret_types"] = sorted(select_types)
o["ok"] = sorted(c.label for c in oks)
o["ok_is_curl"] = all(isinstance(c, pycurl.Curl) for c in oks)
o["err"] = sorted([e[0].label, e[1], e[2], type(e[2]).__name__] for e in errs)
o["err_tuple_len"] = sorted({len(e) for e in errs})
o["queued_values_nonneg"] = all(q >= 0 for q in queued_seen)
o["info_read_empty"] = call(m.info_read)
o["info_read_max1"] = call(m.info_read, 1)
o["info_read_bad"] = call(m.info_read, 0)
o["info_read_str"] = call(m.info_read, "x")
o["bodies"] = {n: len(c.buf.getvalue()) for n, c in handles.items()}
o["codes"] = {n: c.getinfo(pycurl.RESPONSE_CODE) for n, c in handles.items()}
o["errstr"] = {n: c.errstr() for n, c in handles.items()}
o["timeout_idle"] = call(m.timeout)
o["select_idle"] = call(m.select, 0.05)
for name, c in handles.items():
    o[f"remove.{name}"] = call(m.remove_handle, c)
o["perform_empty"] = call(m.perform)
o["close"] = call(m.close)
o["closed"] = m.closed
o["curl_closed_after_multi_close"] = {n: c.closed for n, c in handles.items()}

# a handle can be reused with perform() after being in a multi
c = handles["hello"]
c.buf = io.BytesIO()
c.setopt(pycurl.WRITEDATA, c.buf)
o["reuse_easy"] = call(c.perform)
o["reuse_easy_body"] = c.buf.getvalue()

# multi with handles still attached is closed: the handles become usable on their own
m2 = pycurl.CurlMulti()
c2 = pycurl.Curl()
c2.setopt(pycurl.URL, url("/hello"))
c2.setopt(pycurl.WRITEFUNCTION, lambda d: None)
m2.add_handle(c2)
m2.perform()
o["close_with_attached"] = call(m2.close)
o["attached_closed_state"] = c2.closed
o["attached_perform_after_multi_close"] = call(c2.perform)
o["attached_code"] = c2.getinfo(pycurl.RESPONSE_CODE)
m3 = pycurl.CurlMulti()
o["attached_add_to_new_multi"] = call(m3.add_handle, c2)
o["attached_remove_from_new_multi"] = call(m3.remove_handle, c2)
# closing an easy handle that is still in a multi
m4 = pycurl.CurlMulti()
c4 = pycurl.Curl()
c4.setopt(pycurl.URL, url("/hello"))
m4.add_handle(c4)
o["easy_close_while_added"] = call(c4.close)
o["multi_perform_after_easy_close"] = call(m4.perform)
o["remove_closed_easy"] = call(m4.remove_handle, c4)
o["m4_close"] = call(m4.close)
o.emit()
