//! Python values → option values, with pycurl's TypeError texts.
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyList, PyString, PyTuple};

pub fn invalid_setopt() -> PyErr {
    PyTypeError::new_err("invalid arguments to setopt")
}

pub fn kind_err(v: &Bound<'_, PyAny>) -> PyErr {
    if v.is_instance_of::<PyString>() || v.is_instance_of::<PyBytes>() {
        PyTypeError::new_err("strings are not supported for this option")
    } else if v.is_instance_of::<PyInt>() {
        PyTypeError::new_err("integers are not supported for this option")
    } else if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        PyTypeError::new_err("lists are not supported for this option")
    } else if v.is_callable() {
        PyTypeError::new_err("functions are not supported for this option")
    } else {
        invalid_setopt()
    }
}

/// The bound `method` of a WRITEDATA / WRITEHEADER / READDATA object. pycurl sorts a value by its
/// type first, so an int, string, list or callable gets that type's message, not the method's.
pub fn file_method<'py>(v: &Bound<'py, PyAny>, method: &str) -> PyResult<Bound<'py, PyAny>> {
    if v.is_instance_of::<PyString>()
        || v.is_instance_of::<PyBytes>()
        || v.is_instance_of::<PyInt>()
        || v.is_instance_of::<PyList>()
        || v.is_instance_of::<PyTuple>()
        || v.is_callable()
    {
        return Err(kind_err(v));
    }
    v.getattr(method).map_err(|_| PyTypeError::new_err(format!("object given without a {method} method")))
}

pub fn long(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyBool>() {
        return v.extract::<i64>();
    }
    if v.is_instance_of::<PyFloat>() {
        return Err(invalid_setopt());
    }
    Err(kind_err(v))
}

/// A string option: str with ASCII code points only, or bytes.
pub fn bytes(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.downcast::<PyBytes>() {
        return Ok(b.as_bytes().to_vec());
    }
    if let Ok(s) = v.downcast::<PyString>() {
        let enc = s.call_method1("encode", ("ascii",))?;
        return Ok(enc.downcast::<PyBytes>()?.as_bytes().to_vec());
    }
    Err(kind_err(v))
}

pub fn string(v: &Bound<'_, PyAny>) -> PyResult<String> {
    let b = bytes(v)?;
    if b.contains(&0) {
        return Err(pyo3::exceptions::PyValueError::new_err("embedded null byte"));
    }
    // Non-UTF-8 bytes are kept escaped, so that they reach the wire unchanged.
    Ok(crate::engine::easy::text_from_bytes(b))
}

/// Blob options also take any buffer (bytearray, memoryview, array, …), C-contiguous only.
pub fn blob(v: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(b) = v.downcast::<PyByteArray>() {
        return Ok(b.to_vec());
    }
    if v.is_instance_of::<PyBytes>() || v.is_instance_of::<PyString>() {
        return bytes(v);
    }
    // memoryview() accepts exactly the objects with the buffer protocol (not ints or lists).
    let builtins = v.py().import("builtins")?;
    let Ok(view) = builtins.getattr("memoryview")?.call1((v,)) else {
        return Err(PyTypeError::new_err(
            "blob option value must be a byte string, ASCII-only Unicode string, or a buffer object",
        ));
    };
    if !view.getattr("c_contiguous")?.extract::<bool>()? {
        return Err(pyo3::exceptions::PyBufferError::new_err("memoryview: underlying buffer is not C-contiguous"));
    }
    let data = view.call_method0("tobytes")?;
    Ok(data.downcast::<PyBytes>()?.as_bytes().to_vec())
}

pub fn string_list(v: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let items: Vec<Bound<'_, PyAny>> = if let Ok(l) = v.downcast::<PyList>() {
        l.iter().collect()
    } else if let Ok(t) = v.downcast::<PyTuple>() {
        t.iter().collect()
    } else {
        return Err(kind_err(v));
    };
    items
        .iter()
        .map(|i| {
            if i.is_instance_of::<PyString>() || i.is_instance_of::<PyBytes>() {
                string(i)
            } else {
                Err(PyTypeError::new_err(
                    "list items must be byte strings or Unicode strings with ASCII code points only",
                ))
            }
        })
        .collect()
}

pub fn callable(v: &Bound<'_, PyAny>) -> PyResult<PyObject> {
    if v.is_callable() {
        return Ok(v.clone().unbind());
    }
    Err(kind_err(v))
}

/// An int argument the way pycurl's C code reads one (PyArg "i"/"l" formats): the error for a
/// non-integer is Python's own index() message.
pub fn index(v: &Bound<'_, PyAny>) -> PyResult<i64> {
    if let Ok(n) = v.downcast::<PyInt>() {
        return n.extract::<i64>();
    }
    let n = v.py().import("operator")?.getattr("index")?.call1((v,))?;
    n.extract::<i64>()
}

/// A C int argument: OverflowError texts as CPython's "i" format gives them.
pub fn c_int(v: &Bound<'_, PyAny>) -> PyResult<i32> {
    let n = index(v).map_err(|e| {
        if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(v.py()) {
            pyo3::exceptions::PyOverflowError::new_err("signed integer is greater than maximum")
        } else {
            e
        }
    })?;
    if n > i32::MAX as i64 {
        return Err(pyo3::exceptions::PyOverflowError::new_err("signed integer is greater than maximum"));
    }
    if n < i32::MIN as i64 {
        return Err(pyo3::exceptions::PyOverflowError::new_err("signed integer is less than minimum"));
    }
    Ok(n as i32)
}

/// Positional arity check with CPython's PyArg_ParseTuple wording.
pub fn arity(name: &str, args: &Bound<'_, PyTuple>, n: usize) -> PyResult<()> {
    if args.len() != n {
        let noun = if n == 1 { "argument" } else { "arguments" };
        return Err(PyTypeError::new_err(format!("{name}() takes exactly {n} {noun} ({} given)", args.len())));
    }
    Ok(())
}

/// "name() argument 1 must be pycurl.Curl, not X"
pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    if v.is_none() {
        return "None".into();
    }
    v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}
