//! Curl.send / recv / recv_into (CONNECT_ONLY=1) and the WebSocket calls ws_send / ws_recv /
//! ws_recv_into / ws_meta / ws_close with their WsFrame namedtuple, over the engine's `Held`
//! connection. CURLE_AGAIN becomes BlockingIOError(EAGAIN), as pycurl raises it.

use pyo3::exceptions::{PyBlockingIOError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyBytes, PyString};

use std::rc::Rc;

use crate::engine::easy::EasyShared;
use crate::engine::error::{code, Error};
use crate::engine::ws::{frame, Meta};

use super::convert;
use super::curl::PyCurl;
use super::errors::curl_err;

static WS_FRAME: GILOnceCell<PyObject> = GILOnceCell::new();

/// Adds the WsFrame namedtuple to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let nt = py.import("collections")?.getattr("namedtuple")?;
    let t = nt.call1(("WsFrame", ("age", "flags", "offset", "bytesleft", "len")))?;
    t.setattr("__module__", "pycurl")?;
    m.add("WsFrame", &t)?;
    let _ = WS_FRAME.set(py, t.unbind());
    Ok(())
}

fn ws_frame(py: Python<'_>, m: &Meta) -> PyResult<PyObject> {
    let t = WS_FRAME.get(py).ok_or_else(|| PyTypeError::new_err("WsFrame is not initialised"))?;
    Ok(t.bind(py).call1((m.age, m.flags, m.offset, m.bytesleft, m.len))?.unbind())
}

/// The exception for an engine error: BlockingIOError for CURLE_AGAIN; else pycurl.error with the
/// handle's error buffer, which keeps the first message since the last perform (as libcurl's does).
fn err(cu: &PyCurl, e: Error) -> PyErr {
    if e.code == code::AGAIN {
        return PyBlockingIOError::new_err((crate::engine::sys::EAGAIN, "Resource temporarily unavailable"));
    }
    let mut st = cu.st.borrow_mut();
    if st.errbuf_detached {
        return curl_err(&Error::new(e.code, crate::engine::strerror::easy_strerror(e.code as i64)));
    }
    if st.errbuf.is_empty() {
        st.errbuf = e.msg.clone();
    }
    curl_err(&Error::new(e.code, st.errbuf.clone()))
}

fn not_connect_only(cu: &PyCurl, c: i32, ws: bool) -> PyErr {
    err(cu, Error::new(c, if ws { "[WS] CONNECT_ONLY is required" } else { "CONNECT_ONLY is required" }))
}

/// The bytes of a bytes-like object (str refused, as socket.send does).
fn bytes_like(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    let refuse = || PyTypeError::new_err(format!("a bytes-like object is required, not '{}'", convert::type_name(v)));
    if v.is_instance_of::<PyString>() {
        return Err(refuse());
    }
    let py = v.py();
    let mv = py.import("builtins")?.getattr("memoryview")?.call1((v,)).map_err(|_| refuse())?;
    let b = py.import("builtins")?.getattr("bytes")?.call1((mv,))?;
    Ok(b.downcast::<PyBytes>()?.as_bytes().to_vec())
}

/// A writable buffer's flat byte view and its size.
fn writable<'py>(what: &str, v: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let py = v.py();
    let refuse = || {
        PyTypeError::new_err(format!(
            "{what}() argument 1 must be read-write bytes-like object, not {}",
            convert::type_name(v)
        ))
    };
    let mv = py.import("builtins")?.getattr("memoryview")?.call1((v,)).map_err(|_| refuse())?;
    if mv.getattr("readonly")?.is_truthy()? {
        return Err(refuse());
    }
    let mv = mv.call_method1("cast", ("B",))?;
    let n: usize = mv.getattr("nbytes")?.extract()?;
    Ok((mv, n))
}

fn requested(what: &str, size: usize, nbytes: i64) -> PyResult<usize> {
    if nbytes < 0 {
        return Err(PyValueError::new_err(format!("negative buffersize in {what}")));
    }
    if nbytes as u64 > size as u64 {
        return Err(PyValueError::new_err("buffer too small for requested bytes"));
    }
    Ok(if nbytes == 0 { size } else { nbytes as usize })
}

pub fn send(cu: &PyCurl, easy: &Rc<EasyShared>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
    let data = bytes_like(data)?;
    let mut held = easy.held.borrow_mut();
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::UNSUPPORTED_PROTOCOL, false))?;
    h.send(&data).map_err(|e| err(cu, e))
}

pub fn recv(cu: &PyCurl, py: Python<'_>, easy: &Rc<EasyShared>, size: i64) -> PyResult<PyObject> {
    if size < 0 {
        return Err(PyValueError::new_err("negative buffersize in recv"));
    }
    // pycurl answers a zero-byte read itself, connected or not.
    if size == 0 {
        return Ok(PyBytes::new(py, b"").into_any().unbind());
    }
    let mut held = easy.held.borrow_mut();
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::UNSUPPORTED_PROTOCOL, false))?;
    let mut buf = vec![0u8; (size as usize).min(1 << 24)];
    let n = h.recv(&mut buf).map_err(|e| err(cu, e))?;
    Ok(PyBytes::new(py, &buf[..n]).into_any().unbind())
}

pub fn recv_into(cu: &PyCurl, easy: &Rc<EasyShared>, buffer: &Bound<'_, PyAny>, nbytes: i64) -> PyResult<usize> {
    let (mv, size) = writable("recv_into", buffer)?;
    let want = requested("recv_into", size, nbytes)?;
    if want == 0 {
        return Ok(0);
    }
    let mut held = easy.held.borrow_mut();
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::UNSUPPORTED_PROTOCOL, false))?;
    let mut buf = vec![0u8; want];
    let n = h.recv(&mut buf).map_err(|e| err(cu, e))?;
    drop(held);
    put(&mv, &buf[..n])?;
    Ok(n)
}

fn put(mv: &Bound<'_, PyAny>, data: &[u8]) -> PyResult<()> {
    if data.is_empty() {
        return Ok(());
    }
    let py = mv.py();
    let sl = pyo3::types::PySlice::new(py, 0, data.len() as isize, 1);
    mv.set_item(sl, PyBytes::new(py, data))
}

pub fn ws_send(
    cu: &PyCurl,
    easy: &Rc<EasyShared>,
    data: &Bound<'_, PyAny>,
    flags: Option<&Bound<'_, PyAny>>,
    fragsize: i64,
    encoding: &str,
) -> PyResult<usize> {
    if fragsize < 0 {
        return Err(PyValueError::new_err("negative fragsize in ws_send"));
    }
    let flags = match flags {
        Some(f) if !f.is_none() => Some(send_flags(f)?),
        _ => None,
    };
    let is_str = data.is_instance_of::<PyString>();
    let payload = if data.is_none() {
        return Err(PyTypeError::new_err(
            "ws_send: data must be str or bytes-like, not NoneType (use b\"\" for an empty payload)",
        ));
    } else if is_str {
        if flags.is_some_and(|f| f & frame::BINARY != 0) {
            return Err(PyTypeError::new_err(
                "ws_send: str data is incompatible with WS_BINARY; pass bytes-like data for binary frames",
            ));
        }
        if flags.is_some_and(|f| f & frame::CLOSE != 0) {
            return Err(PyTypeError::new_err(
                "ws_send: str data is incompatible with WS_CLOSE; use ws_close() or pass bytes-like data",
            ));
        }
        let b = data.call_method1("encode", (encoding,))?;
        b.downcast::<PyBytes>()?.as_bytes().to_vec()
    } else {
        bytes_like(data).map_err(|_| {
            PyTypeError::new_err(format!("ws_send: data must be str or bytes-like, not {}", convert::type_name(data)))
        })?
    };
    let flags = flags.unwrap_or(if is_str { frame::TEXT } else { frame::BINARY });
    send_frame(cu, easy, &payload, fragsize as u64, flags)
}

/// ws_send's flags, checked as pycurl does before it looks at the data or the connection.
fn send_flags(f: &Bound<'_, PyAny>) -> PyResult<u32> {
    let n = f.py().import("operator")?.getattr("index")?.call1((f,))?;
    if n.lt(0)? {
        return Err(PyValueError::new_err("flags must be non-negative"));
    }
    let flags: u32 =
        n.extract().map_err(|_| pyo3::exceptions::PyOverflowError::new_err("flags out of range for curl_ws_send"))?;
    if flags & frame::TEXT != 0 && flags & frame::BINARY != 0 {
        return Err(PyValueError::new_err("ws_send: cannot set both WS_TEXT and WS_BINARY"));
    }
    let control = flags & (frame::PING | frame::PONG | frame::CLOSE);
    if control != 0 && flags & frame::CONT != 0 {
        return Err(PyValueError::new_err(
            "ws_send: control frames cannot be fragmented (WS_CONT forbidden with WS_PING/WS_PONG/WS_CLOSE)",
        ));
    }
    if control.count_ones() > 1 {
        return Err(PyValueError::new_err("ws_send: only one of WS_PING / WS_PONG / WS_CLOSE may be set"));
    }
    Ok(flags)
}

fn send_frame(cu: &PyCurl, easy: &Rc<EasyShared>, payload: &[u8], fragsize: u64, flags: u32) -> PyResult<usize> {
    let mut held = easy.held.borrow_mut();
    if held.is_none() && easy.ws_meta.get().is_some() {
        // Inside WRITEFUNCTION of a callback-mode transfer: a reply sent when the callback returns.
        let r = crate::engine::ws::encode_reply(&mut easy.ws_reply.borrow_mut(), payload, flags);
        return r.map_err(|e| err(cu, e));
    }
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::SEND_ERROR, true))?;
    h.ws_send(payload, fragsize, flags).map_err(|e| err(cu, e))
}

pub fn ws_close(
    cu: &PyCurl,
    easy: &Rc<EasyShared>,
    status: Option<i64>,
    reason: Option<&Bound<'_, PyAny>>,
    encoding: &str,
) -> PyResult<usize> {
    let reason = match reason {
        Some(r) if !r.is_none() => {
            let b = if r.is_instance_of::<PyString>() {
                r.call_method1("encode", (encoding,))?.downcast::<PyBytes>()?.as_bytes().to_vec()
            } else {
                bytes_like(r)?
            };
            // The reason must be UTF-8 on the wire: decoding raises UnicodeDecodeError as pycurl does.
            PyBytes::new(r.py(), &b).call_method1("decode", ("utf-8",))?;
            Some(b)
        }
        _ => None,
    };
    let mut payload = Vec::new();
    match status {
        None if reason.is_some() => {
            return Err(PyValueError::new_err("ws_close: reason requires code (RFC 6455 §5.5.1)"));
        }
        None => {}
        Some(c) => {
            let ok = matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !ok {
                return Err(PyValueError::new_err("ws_close: code must be a valid wire close status code"));
            }
            payload.extend_from_slice(&(c as u16).to_be_bytes());
        }
    }
    if let Some(r) = reason {
        payload.extend_from_slice(&r);
    }
    if payload.len() > 125 {
        return Err(PyValueError::new_err(format!(
            "ws_close: payload too large ({} bytes, max 125 including 2-byte status code)",
            payload.len()
        )));
    }
    send_frame(cu, easy, &payload, 0, frame::CLOSE)
}

pub fn ws_recv(cu: &PyCurl, py: Python<'_>, easy: &Rc<EasyShared>, size: i64) -> PyResult<(PyObject, PyObject)> {
    if size < 0 {
        return Err(PyValueError::new_err("negative buffersize in ws_recv"));
    }
    let mut held = easy.held.borrow_mut();
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::UNSUPPORTED_PROTOCOL, true))?;
    let mut buf = vec![0u8; (size as usize).min(1 << 24)];
    let (n, meta) = h.ws_recv(&mut buf).map_err(|e| err(cu, e))?;
    drop(held);
    Ok((PyBytes::new(py, &buf[..n]).into_any().unbind(), ws_frame(py, &meta)?))
}

pub fn ws_recv_into(
    cu: &PyCurl,
    easy: &Rc<EasyShared>,
    buffer: &Bound<'_, PyAny>,
    nbytes: i64,
) -> PyResult<(usize, PyObject)> {
    let (mv, size) = writable("ws_recv_into", buffer)?;
    let want = requested("ws_recv_into", size, nbytes)?;
    let mut held = easy.held.borrow_mut();
    let h = held.as_mut().ok_or_else(|| not_connect_only(cu, code::UNSUPPORTED_PROTOCOL, true))?;
    let mut buf = vec![0u8; want];
    let (n, meta) = h.ws_recv(&mut buf).map_err(|e| err(cu, e))?;
    drop(held);
    put(&mv, &buf[..n])?;
    Ok((n, ws_frame(buffer.py(), &meta)?))
}

pub fn ws_meta(_cu: &PyCurl, py: Python<'_>, easy: &Rc<EasyShared>) -> PyResult<PyObject> {
    match easy.ws_meta.get() {
        Some(m) => ws_frame(py, &m),
        None => Ok(py.None()),
    }
}
