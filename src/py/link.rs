//! What a Curl handle asks of the CurlMulti it is attached to, as a trait: curl.rs calls it and
//! multi.rs implements it, so the two modules do not import each other.
use pyo3::prelude::*;

pub trait MultiLink: Sync {
    /// The multi is inside perform/socket_action (running callbacks, or on another thread).
    fn running_callbacks(&self, multi: &Bound<'_, PyAny>) -> bool;
    /// perform/socket_action is running on a thread other than the caller's.
    fn driven_elsewhere(&self, multi: &Bound<'_, PyAny>) -> bool;
    /// A transfer changed from outside the multi's callbacks (pause, close): report the sockets
    /// and timer that changed.
    fn report_changes(&self, multi: &Bound<'_, PyAny>) -> PyResult<()>;
    /// The handle is closing: the multi forgets the transfer with this key.
    fn detach_key(&self, multi: &Bound<'_, PyAny>, key: u64);
}

/// A Curl handle's attachment to a multi: a weak reference (a handle does not keep its multi
/// alive, as with pycurl), the transfer's key there, and how to reach the multi.
pub struct MultiRef {
    pub weak: PyObject,
    pub key: u64,
    pub link: &'static dyn MultiLink,
}
