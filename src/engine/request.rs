//! What a request is, whatever the protocol carrying it: a method and a body source.
//!
//! A body is a source (its size if known, read, rewind, its content type): POSTFIELDS,
//! READFUNCTION and forms (MIMEPOST / HTTPPOST) are its implementations here. The protocol layer
//! asks the source for bytes; it never knows where they come from.

use std::rc::Rc;

use super::mime::{Mime, MimeBody};

use super::easy::{Callbacks, ReadOutcome, SeekOutcome};
use super::error::{code, Error, Result};

/// An HTTP request method. CUSTOMREQUEST strings other than these four are sent as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Other(String),
}

impl Method {
    /// CUSTOMREQUEST: the exact (case-sensitive) names of the four methods libcurl treats specially.
    pub fn from_custom(s: &str) -> Method {
        match s {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            _ => Method::Other(s.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Other(s) => s,
        }
    }

    /// GET or HEAD: methods that send no body by default.
    pub fn is_get_or_head(&self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// The form content type libcurl sends with POSTFIELDS (and POST with READFUNCTION).
pub const FORM_URLENCODED: &str = "application/x-www-form-urlencoded";

/// A request body.
pub trait BodySource {
    /// Bytes it will give, when known (Content-Length); None sends it chunked.
    fn size(&self) -> Option<u64>;
    /// Fills `buf`; Data(0) at the end.
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome;
    /// Back to the start, to send it again (redirect, auth retry).
    fn rewind(&mut self) -> Result<()>;
    /// The Content-Type header libcurl adds for it, if any.
    fn content_type(&self) -> Option<&str>;
    /// All of it, when it is in memory (small ones go out with the request head).
    fn in_memory(&self) -> Option<Rc<[u8]>> {
        None
    }
    /// Can it be sent again without asking the application (a request retried on a fresh
    /// connection after a reused one turned out dead)?
    fn replayable(&self) -> bool;
    /// Who fell short when the body ended before its size ("client ... EOF fail").
    fn reader_name(&self) -> &'static str {
        "read function"
    }
    /// The size the application gave, which decides Expect: 100-continue even when the bytes
    /// sent differ from it (CRLF).
    fn declared_size(&self) -> Option<u64> {
        self.size()
    }
}

/// CRLF: every LF not preceded by CR goes out as CRLF. The length is then unknown, so libcurl
/// sends such a body chunked; what the application declared still decides Expect.
pub struct LfToCrlf {
    inner: Box<dyn BodySource>,
    /// Converted bytes not yet handed out.
    staged: Vec<u8>,
    at: usize,
    prev_cr: bool,
}

impl LfToCrlf {
    pub fn new(inner: Box<dyn BodySource>) -> LfToCrlf {
        LfToCrlf { inner, staged: Vec::new(), at: 0, prev_cr: false }
    }
}

impl BodySource for LfToCrlf {
    fn size(&self) -> Option<u64> {
        None
    }
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        if self.at == self.staged.len() {
            let mut raw = vec![0; buf.len()];
            let n = match self.inner.read(&mut raw) {
                ReadOutcome::Data(n) => n.min(raw.len()),
                other => return other,
            };
            self.staged.clear();
            self.at = 0;
            for &b in &raw[..n] {
                if b == b'\n' && !self.prev_cr {
                    self.staged.push(b'\r');
                }
                self.prev_cr = b == b'\r';
                self.staged.push(b);
            }
        }
        let n = buf.len().min(self.staged.len() - self.at);
        buf[..n].copy_from_slice(&self.staged[self.at..self.at + n]);
        self.at += n;
        ReadOutcome::Data(n)
    }
    fn rewind(&mut self) -> Result<()> {
        self.staged.clear();
        self.at = 0;
        self.prev_cr = false;
        self.inner.rewind()
    }
    fn content_type(&self) -> Option<&str> {
        self.inner.content_type()
    }
    fn replayable(&self) -> bool {
        self.inner.replayable()
    }
    fn reader_name(&self) -> &'static str {
        self.inner.reader_name()
    }
    fn declared_size(&self) -> Option<u64> {
        self.inner.size()
    }
}

/// POSTFIELDS (COPYPOSTFIELDS), cut to POSTFIELDSIZE when that is smaller.
pub struct Fields {
    data: Rc<[u8]>,
    pos: usize,
}

impl Fields {
    pub fn new(data: Rc<[u8]>, post_size: i64) -> Fields {
        let data = match usize::try_from(post_size) {
            Ok(n) if n < data.len() => Rc::from(&data[..n]),
            _ => data,
        };
        Fields { data, pos: 0 }
    }
}

impl BodySource for Fields {
    fn size(&self) -> Option<u64> {
        Some(self.data.len() as u64)
    }
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        ReadOutcome::Data(n)
    }
    fn rewind(&mut self) -> Result<()> {
        self.pos = 0;
        Ok(())
    }
    fn content_type(&self) -> Option<&str> {
        Some(FORM_URLENCODED)
    }
    fn in_memory(&self) -> Option<Rc<[u8]>> {
        Some(self.data.clone())
    }
    fn replayable(&self) -> bool {
        true
    }
}

/// READFUNCTION (UPLOAD, or POST without POSTFIELDS); rewinding asks SEEKFUNCTION.
pub struct ReadFunction {
    cb: Rc<dyn Callbacks>,
    size: Option<u64>,
    form: bool,
}

impl ReadFunction {
    /// `size`: INFILESIZE or POSTFIELDSIZE (negative: unknown); `form`: a POST (not an UPLOAD),
    /// which libcurl labels as a form.
    pub fn new(cb: Rc<dyn Callbacks>, size: i64, form: bool) -> ReadFunction {
        ReadFunction { cb, size: u64::try_from(size).ok(), form }
    }
}

impl BodySource for ReadFunction {
    fn size(&self) -> Option<u64> {
        self.size
    }
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        self.cb.read(buf)
    }
    fn rewind(&mut self) -> Result<()> {
        if !self.cb.has_seek() {
            if self.cb.has_ioctl() {
                return match self.cb.ioctl_restart_read() {
                    0 => Ok(()),
                    n => Err(Error::new(code::SEND_FAIL_REWIND, format!("ioctl callback returned error {n}"))),
                };
            }
            return Err(Error::new(code::SEND_FAIL_REWIND, "necessary data rewind was not possible"));
        }
        match self.cb.seek(0, 0) {
            SeekOutcome::Ok => Ok(()),
            SeekOutcome::Fail => Err(Error::new(code::SEND_FAIL_REWIND, "seek callback returned error 1")),
            SeekOutcome::CantSeek => Err(Error::new(code::SEND_FAIL_REWIND, "seek callback returned error 2")),
        }
    }
    fn content_type(&self) -> Option<&str> {
        self.form.then_some(FORM_URLENCODED)
    }
    fn replayable(&self) -> bool {
        false
    }
}

/// MIMEPOST / HTTPPOST as an option: the form tree to send, or none (an unset or closed mime,
/// which libcurl still sends as an empty POST).
#[derive(Clone, Default)]
pub struct FormPost(pub Option<Rc<Mime>>);

impl std::fmt::Debug for FormPost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FormPost({} parts)", self.0.as_ref().map_or(0, |m| m.parts.len()))
    }
}

impl PartialEq for FormPost {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Rc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for FormPost {}

/// A form's multipart body (libcurl's mime reader): errors become libcurl's codes.
pub struct Form {
    body: Option<MimeBody>,
    content_type: Option<String>,
}

impl Form {
    pub fn new(post: &FormPost) -> Form {
        let body = post.0.as_ref().map(|m| m.form_body());
        let content_type = body.as_ref().map(|b| b.content_type());
        Form { body, content_type }
    }

    /// MIMEPOST on an smtp:// or imap:// URL: the tree as a mail message, HTTPHEADER's lines
    /// its headers.
    pub fn mail(post: &FormPost, headers: &[String]) -> Form {
        Form { body: post.0.as_ref().map(|m| m.mail_body(headers)), content_type: None }
    }
}

/// libcurl's code for a failed read of mime data: a callback that aborted (or misbehaved) is 42, a
/// pause is a pause, anything else (a file, an encoder refusing its data) is a read error.
fn mime_read_error(e: std::io::Error) -> ReadOutcome {
    match e.kind() {
        std::io::ErrorKind::WouldBlock => ReadOutcome::Pause,
        std::io::ErrorKind::Other if e.raw_os_error().is_none() => {
            ReadOutcome::Abort(Error::new(code::ABORTED_BY_CALLBACK, "operation aborted by callback"))
        }
        _ if e.raw_os_error().is_some() => ReadOutcome::Abort(Error::new(
            code::READ_ERROR,
            super::strerror::easy_strerror(i64::from(code::READ_ERROR)),
        )),
        _ => ReadOutcome::Abort(Error::new(code::READ_ERROR, "read error getting mime data")),
    }
}

impl BodySource for Form {
    fn size(&self) -> Option<u64> {
        match &self.body {
            Some(b) => b.size(),
            None => Some(0),
        }
    }
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        match self.body.as_mut().map(|b| b.read(buf)) {
            None => ReadOutcome::Data(0),
            Some(Ok(n)) => ReadOutcome::Data(n),
            Some(Err(e)) => mime_read_error(e),
        }
    }
    fn rewind(&mut self) -> Result<()> {
        match self.body.as_mut().map(|b| b.rewind()) {
            Some(Err(_)) => Err(Error::new(code::SEND_FAIL_REWIND, "Cannot rewind mime/post data")),
            _ => Ok(()),
        }
    }
    fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
    fn replayable(&self) -> bool {
        true
    }
    fn reader_name(&self) -> &'static str {
        "mime read"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::easy::Flow;
    use std::cell::Cell;

    #[test]
    fn methods_from_custom_request() {
        assert_eq!(Method::from_custom("POST"), Method::Post);
        assert_eq!(Method::from_custom("post"), Method::Other("post".into()));
        assert_eq!(Method::from_custom("PATCH").as_str(), "PATCH");
        assert!(Method::Head.is_get_or_head() && !Method::Put.is_get_or_head());
    }

    #[test]
    fn crlf_converts_bare_lfs_across_reads_of_any_size() {
        let data: &[u8] = b"a\nb\r\nc\n\n\r";
        for size in [1, 2, 3, 64] {
            let mut c = LfToCrlf::new(Box::new(Fields::new(Rc::from(data), -1)));
            assert_eq!((c.size(), c.declared_size()), (None, Some(data.len() as u64)));
            for _ in 0..2 {
                let (mut out, mut buf) = (Vec::new(), vec![0u8; size]);
                while let ReadOutcome::Data(n @ 1..) = c.read(&mut buf) {
                    out.extend_from_slice(&buf[..n]);
                }
                assert_eq!(out, b"a\r\nb\r\nc\r\n\r\n\r", "reads of {size}");
                c.rewind().unwrap();
            }
        }
    }

    #[test]
    fn fields_read_rewind_and_size() {
        let mut f = Fields::new(Rc::from(&b"a=1&b=2"[..]), 3);
        assert_eq!(f.size(), Some(3));
        let mut buf = [0u8; 2];
        assert!(matches!(f.read(&mut buf), ReadOutcome::Data(2)));
        assert!(matches!(f.read(&mut buf), ReadOutcome::Data(1)));
        assert!(matches!(f.read(&mut buf), ReadOutcome::Data(0)));
        f.rewind().unwrap();
        assert!(matches!(f.read(&mut buf), ReadOutcome::Data(2)));
        assert_eq!(&*f.in_memory().unwrap(), b"a=1");
        assert_eq!(f.content_type(), Some(FORM_URLENCODED));
        assert_eq!(Fields::new(Rc::from(&b"xy"[..]), -1).size(), Some(2));
    }

    struct Reader {
        left: Cell<usize>,
        seekable: bool,
    }
    impl Callbacks for Reader {
        fn write(&self, _: &[u8]) -> Flow {
            Flow::Continue
        }
        fn read(&self, buf: &mut [u8]) -> ReadOutcome {
            let n = buf.len().min(self.left.get());
            self.left.set(self.left.get() - n);
            ReadOutcome::Data(n)
        }
        fn has_seek(&self) -> bool {
            self.seekable
        }
        fn seek(&self, _: i64, _: i32) -> SeekOutcome {
            self.left.set(5);
            SeekOutcome::Ok
        }
    }

    #[test]
    fn read_function_asks_the_callbacks() {
        let cb = Rc::new(Reader { left: Cell::new(5), seekable: true });
        let mut r = ReadFunction::new(cb.clone(), -1, true);
        assert_eq!((r.size(), r.content_type(), r.replayable()), (None, Some(FORM_URLENCODED), false));
        let mut buf = [0u8; 8];
        assert!(matches!(r.read(&mut buf), ReadOutcome::Data(5)));
        r.rewind().unwrap();
        assert_eq!(cb.left.get(), 5);
        let put = ReadFunction::new(Rc::new(Reader { left: Cell::new(0), seekable: false }), 7, false);
        assert_eq!((put.size(), put.content_type()), (Some(7), None));
        let mut put = put;
        assert_eq!(put.rewind().unwrap_err().msg, "necessary data rewind was not possible");
    }

    #[test]
    fn forms_read_rewind_and_map_errors() {
        use crate::engine::mime::{Content, Encoder, Part};
        let mut m = Mime::with_boundary("XX");
        m.parts.push(Part {
            name: Some(b"a".to_vec()),
            content: Content::Data(Rc::from(&b"1"[..])),
            ..Part::default()
        });
        let mut f = Form::new(&FormPost(Some(Rc::new(m.clone()))));
        assert_eq!(f.content_type(), Some("multipart/form-data; boundary=XX"));
        let want = b"--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--XX--\r\n";
        assert_eq!(f.size(), Some(want.len() as u64));
        let read_all = |f: &mut Form| {
            let (mut out, mut buf) = (Vec::new(), [0u8; 7]);
            while let ReadOutcome::Data(n @ 1..) = f.read(&mut buf) {
                out.extend_from_slice(&buf[..n]);
            }
            out
        };
        assert_eq!(read_all(&mut f), want);
        f.rewind().unwrap();
        assert_eq!(read_all(&mut f), want);
        let mut buf = [0u8; 200];
        let mut empty = Form::new(&FormPost(None));
        assert_eq!((empty.size(), empty.content_type()), (Some(0), None));
        assert!(matches!(empty.read(&mut buf), ReadOutcome::Data(0)));
        m.parts[0].encoder = Some(Encoder::Bit7);
        m.parts[0].content = Content::Data(Rc::from(&b"\xe9"[..]));
        let mut bad = Form::new(&FormPost(Some(Rc::new(m))));
        let mut outcome = bad.read(&mut buf);
        while matches!(outcome, ReadOutcome::Data(1..)) {
            outcome = bad.read(&mut buf);
        }
        match outcome {
            ReadOutcome::Abort(e) => {
                assert_eq!((e.code, e.msg.as_str()), (code::READ_ERROR, "read error getting mime data"))
            }
            other => panic!("{other:?}"),
        }
    }
}
