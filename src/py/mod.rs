use pyo3::prelude::*;
#[pymodule]
fn _pycurl(_m: &Bound<'_, PyModule>) -> PyResult<()> { Ok(()) }
