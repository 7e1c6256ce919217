"""CurlMulti misuse: add twice, handle in another multi, closed multi, closed curl, remove of a
handle never added; Curl.perform() while in a multi; M_* setopt bad inputs; CurlMulti attribute
constants; closed-multi method errors."""
from _common import Obs, call, pycurl, record_warnings

o = Obs()
P = pycurl

m = P.CurlMulti()
c = P.Curl()
o["add.first"] = call(m.add_handle, c)
o["add.twice"] = call(m.add_handle, c)
m_other = P.CurlMulti()
o["add.other_multi"] = call(m_other.add_handle, c)
o["remove.from_other_multi"] = call(m_other.remove_handle, c)
o["easy.perform_while_in_multi"] = call(c.perform)
o["easy.multi_attr"] = call(lambda: c.multi is m) if hasattr(c, "multi") else "no attr"
o["remove.ok"] = call(m.remove_handle, c)
o["remove.twice"] = call(m.remove_handle, c)
c_never = P.Curl()
o["remove.never_added"] = call(m.remove_handle, c_never)
o["add.not_curl"] = call(m.add_handle, object())
o["add.none"] = call(m.add_handle, None)
o["remove.not_curl"] = call(m.remove_handle, "x")
c_closed = P.Curl()
c_closed.close()
o["add.closed_curl"] = call(m.add_handle, c_closed)
o["remove.closed_curl"] = call(m.remove_handle, c_closed)
o["add.after_remove"] = call(m.add_handle, c)
o["remove.after_readd"] = call(m.remove_handle, c)

# closed multi
mc = P.CurlMulti()
o["closed.close"] = call(mc.close)
o["closed.close_again"] = call(mc.close)
o["closed.closed"] = mc.closed
for name, fn in (
    ("add_handle", lambda: mc.add_handle(P.Curl())),
    ("remove_handle", lambda: mc.remove_handle(P.Curl())),
    ("perform", lambda: mc.perform()),
    ("setopt", lambda: mc.setopt(P.M_MAXCONNECTS, 1)),
    ("info_read", lambda: mc.info_read()),
    ("select", lambda: mc.select(0.01)),
    ("fdset", lambda: mc.fdset()),
    ("timeout", lambda: mc.timeout()),
    ("unassign", lambda: mc.unassign(3)),
    ("attr", lambda: mc.M_MAXCONNECTS),
):
    o[f"closed.{name}"] = call(fn)

# M_* setopt inputs
def ms(name, *args):
    mm = P.CurlMulti()
    with record_warnings() as w:
        r = call(mm.setopt, *args)
    if w:
        r["warnings"] = w
    o.raw(f"msetopt.{name}", r)
    mm.close()


ms("maxconnects_ok", P.M_MAXCONNECTS, 5)
ms("maxconnects_neg", P.M_MAXCONNECTS, -1)
ms("maxconnects_str", P.M_MAXCONNECTS, "x")
ms("maxconnects_float", P.M_MAXCONNECTS, 1.5)
ms("maxconnects_none", P.M_MAXCONNECTS, None)
ms("maxconnects_huge", P.M_MAXCONNECTS, 2 ** 40)
ms("maxconnects_too_huge", P.M_MAXCONNECTS, 2 ** 70)
ms("pipelining_ok", P.M_PIPELINING, 0)
ms("pipelining_multiplex", P.M_PIPELINING, P.PIPE_MULTIPLEX)
ms("pipelining_bad", P.M_PIPELINING, 99)
ms("max_host_connections", P.M_MAX_HOST_CONNECTIONS, 2)
ms("max_total_connections", P.M_MAX_TOTAL_CONNECTIONS, 2)
ms("max_concurrent_streams", P.M_MAX_CONCURRENT_STREAMS, 10)
ms("socketfunction_ok", P.M_SOCKETFUNCTION, lambda *a: None)
ms("socketfunction_none", P.M_SOCKETFUNCTION, None)
ms("socketfunction_int", P.M_SOCKETFUNCTION, 5)
ms("socketfunction_str", P.M_SOCKETFUNCTION, "x")
ms("timerfunction_ok", P.M_TIMERFUNCTION, lambda ms: None)
ms("timerfunction_none", P.M_TIMERFUNCTION, None)
ms("timerfunction_int", P.M_TIMERFUNCTION, 1)
ms("unknown_int", 99999, 1)
ms("unknown_str", 99999, "x")
ms("easy_option_on_multi", P.URL, "http://x/")
ms("opt_as_str", "M_MAXCONNECTS", 1)
ms("missing_value", P.M_MAXCONNECTS)
ms("pipelining_site_bl", P.M_PIPELINING_SITE_BL, ["a"]) if hasattr(P, "M_PIPELINING_SITE_BL") \
    else None
ms("pipelining_server_bl_str", P.M_PIPELINING_SERVER_BL, "x") \
    if hasattr(P, "M_PIPELINING_SERVER_BL") else None

# attribute constants on instances
m = P.CurlMulti()
names = ["M_MAXCONNECTS", "M_PIPELINING", "M_SOCKETFUNCTION", "M_TIMERFUNCTION",
         "M_MAX_HOST_CONNECTIONS", "M_MAX_TOTAL_CONNECTIONS", "M_MAX_CONCURRENT_STREAMS",
         "E_CALL_MULTI_PERFORM", "E_MULTI_OK", "E_MULTI_BAD_HANDLE", "E_MULTI_BAD_EASY_HANDLE",
         "E_MULTI_OUT_OF_MEMORY", "E_MULTI_INTERNAL_ERROR", "E_MULTI_BAD_SOCKET",
         "E_MULTI_UNKNOWN_OPTION", "E_MULTI_ADDED_ALREADY", "PIPE_NOTHING", "PIPE_HTTP1",
         "PIPE_MULTIPLEX", "POLL_IN", "URL", "CSELECT_IN", "SOCKET_TIMEOUT", "NOSUCH", "url"]
o["attrs"] = {n: call(getattr, m, n) for n in names}
o["attrs_module_equal"] = {n: getattr(m, n) == getattr(P, n) for n in names
                           if hasattr(P, n) and hasattr(m, n)}
o["attr_in_dir"] = "M_MAXCONNECTS" in dir(m)
o["attr_set"] = [call(setattr, m, "foo", 1), call(getattr, m, "foo")]
o["attr_shadow"] = [call(setattr, m, "M_MAXCONNECTS", 7), call(getattr, m, "M_MAXCONNECTS"),
                    call(delattr, m, "M_MAXCONNECTS"), call(getattr, m, "M_MAXCONNECTS")]
o["attr_del_never_set"] = call(delattr, m, "M_PIPELINING")
o["repr"] = repr(m)
o["class_attr"] = call(getattr, P.CurlMulti, "M_MAXCONNECTS")

# timeout/select argument errors
o["select_str"] = call(m.select, "x")
o["select_neg"] = call(m.select, -1)
o["select_noarg"] = call(m.select)
o["socket_action_bad"] = call(m.socket_action, "x", 0)
o["socket_action_one_arg"] = call(m.socket_action, 3)
# context manager
if hasattr(m, "__enter__"):
    with P.CurlMulti() as mm:
        pass
    o["ctx_closed"] = mm.closed
else:
    o["ctx_closed"] = "no context manager"
o.emit()
