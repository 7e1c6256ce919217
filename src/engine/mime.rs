//! Multipart bodies the way libcurl's mime API writes them: a tree of parts (name, filename, type,
//! custom headers, a transfer encoder, and content that is bytes, a file, a caller's source or a
//! nested multipart), turned into a request body that is read in pieces, knows its size when it
//! can, and rewinds for redirects and auth retries. Files are streamed, never read whole.
//!
//! Wire format (libcurl 8): the boundary is 24 dashes and 22 random alphanumerics; each part is
//! `--B CRLF`, headers (Content-Disposition, Content-Type, Content-Transfer-Encoding, then the
//! custom ones), `CRLF`, the encoded content, `CRLF`; the body ends with `--B-- CRLF`.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;
use std::rc::Rc;

/// Content transfer encodings libcurl knows (curl_mime_encoder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoder {
    Binary,
    Bit8,
    Bit7,
    Base64,
    QuotedPrintable,
}

impl Encoder {
    /// libcurl matches encoder names without regard to case.
    pub fn from_name(name: &str) -> Option<Encoder> {
        Some(match name.to_ascii_lowercase().as_str() {
            "binary" => Encoder::Binary,
            "8bit" => Encoder::Bit8,
            "7bit" => Encoder::Bit7,
            "base64" => Encoder::Base64,
            "quoted-printable" => Encoder::QuotedPrintable,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoder::Binary => "binary",
            Encoder::Bit8 => "8bit",
            Encoder::Bit7 => "7bit",
            Encoder::Base64 => "base64",
            Encoder::QuotedPrintable => "quoted-printable",
        }
    }

    /// The encoded size of `n` raw bytes, when it can be known without reading them.
    fn encoded_size(self, n: u64) -> Option<u64> {
        match self {
            Encoder::Binary | Encoder::Bit8 | Encoder::Bit7 => Some(n),
            Encoder::Base64 if n == 0 => Some(0),
            Encoder::Base64 => {
                let chars = n.div_ceil(3) * 4;
                Some(chars + 2 * ((chars - 1) / B64_LINE))
            }
            Encoder::QuotedPrintable => None,
        }
    }
}

/// A part's content supplied by the caller (curl_mime_data_cb): read in pieces, rewound on demand.
pub trait PartSource {
    fn size(&self) -> Option<u64>;
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    fn rewind(&mut self) -> io::Result<()>;
}

#[derive(Clone, Default)]
pub enum Content {
    #[default]
    Empty,
    Data(Rc<[u8]>),
    File(PathBuf),
    Source(Rc<RefCell<dyn PartSource>>),
    Multipart(Mime),
}

#[derive(Clone, Default)]
pub struct Part {
    pub name: Option<Vec<u8>>,
    pub filename: Option<Vec<u8>>,
    pub mime_type: Option<String>,
    pub headers: Vec<String>,
    pub encoder: Option<Encoder>,
    pub content: Content,
}

#[derive(Clone)]
pub struct Mime {
    boundary: String,
    pub parts: Vec<Part>,
}

impl Default for Mime {
    fn default() -> Self {
        Mime::new()
    }
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_boundary() -> String {
    let mut raw = [0u8; 22];
    // a failing system RNG would only make the boundary predictable, not wrong
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut raw);
    let tail: String = raw.iter().map(|&b| ALNUM[b as usize % ALNUM.len()] as char).collect();
    format!("{}{tail}", "-".repeat(24))
}

impl Mime {
    pub fn new() -> Mime {
        Mime { boundary: random_boundary(), parts: Vec::new() }
    }

    /// A fixed boundary, for tests that compare bodies byte for byte.
    pub fn with_boundary(boundary: &str) -> Mime {
        Mime { boundary: boundary.to_string(), parts: Vec::new() }
    }

    pub fn boundary(&self) -> &str {
        &self.boundary
    }

    /// The request body for this tree sent as a form (MIMEPOST / HTTPPOST).
    pub fn form_body(&self) -> MimeBody {
        let mut segs = Vec::new();
        flatten(self, true, false, &mut segs);
        MimeBody {
            segs,
            content_type: format!("multipart/form-data; boundary={}", self.boundary),
            cur: 0,
            reader: None,
        }
    }

    /// The message SMTP sends and IMAP appends for this tree (MIMEPOST on a mail URL): the root's
    /// own headers (multipart/mixed, Mime-Version, then `headers`: HTTPHEADER's lines), a blank
    /// line, then the parts with libcurl's mail rules (no form-data; a guessed text/plain is left
    /// out; a part with a type and no encoder says 8bit).
    pub fn mail_body(&self, headers: &[String]) -> MimeBody {
        let content_type = format!("multipart/mixed; boundary={}", self.boundary);
        let mut head = format!("Content-Type: {content_type}\r\nMime-Version: 1.0\r\n");
        for h in headers {
            head.push_str(h);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        let mut segs = vec![Seg::Bytes(head.into_bytes())];
        flatten(self, false, true, &mut segs);
        MimeBody { segs, content_type, cur: 0, reader: None }
    }
}

/// Content-Type libcurl guesses from a file name's extension.
pub fn type_for_filename(name: &[u8]) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        (".gif", "image/gif"),
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".svg", "image/svg+xml"),
        (".txt", "text/plain"),
        (".htm", "text/html"),
        (".html", "text/html"),
        (".pdf", "application/pdf"),
        (".xml", "application/xml"),
    ];
    TABLE
        .iter()
        .find(|(ext, _)| name.len() >= ext.len() && name[name.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes()))
        .map(|(_, t)| *t)
}

/// Quotes in form-data parameters are percent-escaped, as are CR and LF.
fn escape_param(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        match b {
            b'"' => out.extend_from_slice(b"%22"),
            b'\r' => out.extend_from_slice(b"%0D"),
            b'\n' => out.extend_from_slice(b"%0A"),
            _ => out.push(b),
        }
    }
    out
}

/// The value of custom header `name`, if the part carries one.
fn custom_header<'a>(headers: &'a [String], name: &str) -> Option<&'a str> {
    headers.iter().find_map(|h| {
        let (n, v) = h.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The header block of one part; `in_form`: its parent is multipart/form-data; `mail`: the tree
/// is a mail message.
fn part_headers(p: &Part, in_form: bool, mail: bool) -> (Vec<u8>, Option<String>) {
    let custom_type = custom_header(&p.headers, "Content-Type");
    let ctype: Option<String> = p.mime_type.clone().or_else(|| custom_type.map(str::to_string)).or_else(|| {
        match &p.content {
            Content::Multipart(_) => Some("multipart/mixed"),
            Content::File(path) => p
                .filename
                .as_deref()
                .and_then(type_for_filename)
                .or_else(|| type_for_filename(path.as_os_str().as_encoded_bytes()))
                .or(p.filename.as_ref().map(|_| "application/octet-stream")),
            _ => p.filename.as_deref().and_then(type_for_filename),
        }
        .map(str::to_string)
    });
    let guessed = p.mime_type.is_none() && custom_type.is_none();
    let ctype = ctype.filter(|t| !(mail && guessed && t == "text/plain"));
    let mut h = Vec::new();
    if custom_header(&p.headers, "Content-Disposition").is_none() {
        let disposition = if in_form {
            Some("form-data")
        } else if p.name.is_some() || p.filename.is_some() {
            Some("attachment")
        } else {
            None
        };
        if let Some(d) = disposition {
            h.extend_from_slice(b"Content-Disposition: ");
            h.extend_from_slice(d.as_bytes());
            for (key, v) in [("name", &p.name), ("filename", &p.filename)] {
                if let Some(v) = v {
                    h.extend_from_slice(format!("; {key}=\"").as_bytes());
                    h.extend_from_slice(&escape_param(v));
                    h.push(b'"');
                }
            }
            h.extend_from_slice(b"\r\n");
        }
    }
    if let Some(t) = &ctype {
        h.extend_from_slice(b"Content-Type: ");
        h.extend_from_slice(t.as_bytes());
        if let Content::Multipart(m) = &p.content {
            h.extend_from_slice(b"; boundary=");
            h.extend_from_slice(m.boundary.as_bytes());
        }
        h.extend_from_slice(b"\r\n");
    }
    let multipart = matches!(p.content, Content::Multipart(_));
    let cte = match p.encoder {
        Some(e) => Some(e.name()),
        None if mail && ctype.is_some() => Some("8bit"),
        None => None,
    };
    if let (Some(e), false) = (cte, multipart) {
        if custom_header(&p.headers, "Content-Transfer-Encoding").is_none() {
            h.extend_from_slice(format!("Content-Transfer-Encoding: {e}\r\n").as_bytes());
        }
    }
    for line in &p.headers {
        let is_type = line.split_once(':').is_some_and(|(n, _)| n.trim().eq_ignore_ascii_case("Content-Type"));
        if !is_type {
            h.extend_from_slice(line.as_bytes());
            h.extend_from_slice(b"\r\n");
        }
    }
    (h, ctype)
}

#[derive(Clone)]
enum Src {
    Mem(Rc<[u8]>),
    File(PathBuf),
    Source(Rc<RefCell<dyn PartSource>>),
}

#[derive(Clone)]
enum Seg {
    Bytes(Vec<u8>),
    Content(Src, Option<Encoder>),
}

fn push_bytes(segs: &mut Vec<Seg>, b: &[u8]) {
    if let Some(Seg::Bytes(last)) = segs.last_mut() {
        last.extend_from_slice(b);
    } else {
        segs.push(Seg::Bytes(b.to_vec()));
    }
}

fn flatten(m: &Mime, in_form: bool, mail: bool, segs: &mut Vec<Seg>) {
    for p in &m.parts {
        push_bytes(segs, format!("--{}\r\n", m.boundary).as_bytes());
        let (headers, ctype) = part_headers(p, in_form, mail);
        push_bytes(segs, &headers);
        push_bytes(segs, b"\r\n");
        let enc = p.encoder.filter(|e| *e != Encoder::Binary && *e != Encoder::Bit8);
        match &p.content {
            Content::Empty => {}
            Content::Data(d) => segs.push(Seg::Content(Src::Mem(d.clone()), enc)),
            Content::File(path) => segs.push(Seg::Content(Src::File(path.clone()), enc)),
            Content::Source(s) => segs.push(Seg::Content(Src::Source(s.clone()), enc)),
            Content::Multipart(sub) => {
                let form = ctype.is_some_and(|t| {
                    t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("multipart/form-data")
                });
                flatten(sub, form, mail, segs);
            }
        }
        push_bytes(segs, b"\r\n");
    }
    push_bytes(segs, format!("--{}--\r\n", m.boundary).as_bytes());
}

const B64_LINE: u64 = 76;
const QP_LINE: usize = 76;
const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Raw bytes of one content segment.
enum RawReader {
    Mem(Rc<[u8]>, usize),
    File(File),
    Source(Rc<RefCell<dyn PartSource>>),
}

impl RawReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            RawReader::Mem(d, pos) => {
                let n = buf.len().min(d.len() - *pos);
                buf[..n].copy_from_slice(&d[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
            RawReader::File(f) => f.read(buf),
            RawReader::Source(s) => s.borrow_mut().read(buf),
        }
    }
}

/// One content segment being read: raw input passed through its encoder.
struct EncReader {
    raw: RawReader,
    enc: Option<Encoder>,
    input: Vec<u8>,
    eof: bool,
    out: Vec<u8>,
    out_pos: usize,
    /// Characters on the current output line (base64 and quoted-printable).
    line: usize,
}

impl EncReader {
    /// Reads encoded bytes into `buf`; Ok(0) at the end of this segment.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.enc.is_none() {
            return self.raw.read(buf);
        }
        loop {
            if self.out_pos < self.out.len() {
                let n = buf.len().min(self.out.len() - self.out_pos);
                buf[..n].copy_from_slice(&self.out[self.out_pos..self.out_pos + n]);
                self.out_pos += n;
                return Ok(n);
            }
            self.out.clear();
            self.out_pos = 0;
            if self.eof && self.input.is_empty() {
                return Ok(0);
            }
            if !self.eof {
                let mut chunk = [0u8; 8192];
                let n = self.raw.read(&mut chunk)?;
                if n == 0 {
                    self.eof = true;
                }
                self.input.extend_from_slice(&chunk[..n]);
            }
            self.encode()?;
        }
    }

    /// Encodes as much of `input` as can be encoded now.
    fn encode(&mut self) -> io::Result<()> {
        let used = match self.enc {
            Some(Encoder::Bit7) => {
                if self.input.iter().any(|&b| b >= 0x80) {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "invalid 7bit data"));
                }
                self.out.extend_from_slice(&self.input);
                self.input.len()
            }
            Some(Encoder::Base64) => self.base64(),
            Some(Encoder::QuotedPrintable) => self.qp(),
            _ => {
                self.out.extend_from_slice(&self.input);
                self.input.len()
            }
        };
        self.input.drain(..used);
        Ok(())
    }

    fn base64(&mut self) -> usize {
        let mut i = 0;
        while self.input.len() - i >= 3 || (self.eof && i < self.input.len()) {
            if self.line as u64 >= B64_LINE {
                self.out.extend_from_slice(b"\r\n");
                self.line = 0;
            }
            let g = &self.input[i..self.input.len().min(i + 3)];
            let n = (u32::from(g[0]) << 16)
                | (u32::from(*g.get(1).unwrap_or(&0)) << 8)
                | u32::from(*g.get(2).unwrap_or(&0));
            let chars = [
                B64[(n >> 18) as usize & 63],
                B64[(n >> 12) as usize & 63],
                B64[(n >> 6) as usize & 63],
                B64[n as usize & 63],
            ];
            self.out.extend_from_slice(&chars[..g.len() + 1]);
            for _ in g.len()..3 {
                self.out.push(b'=');
            }
            self.line += 4;
            i += g.len();
        }
        i
    }

    /// Whether `input[at..]` starts an end of line (CRLF, or the end of the data);
    /// None when more input is needed to tell.
    fn eol_at(&self, at: usize) -> Option<bool> {
        match (self.input.get(at), self.input.get(at + 1)) {
            (None, _) if self.eof => Some(true),
            (None, _) => None,
            (Some(b'\r'), Some(b'\n')) => Some(true),
            (Some(b'\r'), None) if !self.eof => None,
            _ => Some(false),
        }
    }

    /// Quoted-printable (RFC 2045) with libcurl's line breaking: lines of at most 76 characters,
    /// soft breaks "=" CRLF, CRLF kept as a hard break, space or tab before an end of line escaped.
    fn qp(&mut self) -> usize {
        let mut i = 0;
        while i < self.input.len() {
            let b = self.input[i];
            let mut consumed = 1;
            let mut piece: Vec<u8> = vec![b];
            let escaped = vec![b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]];
            match b {
                b' ' | b'\t' => match self.eol_at(i + 1) {
                    None => return i,
                    Some(true) => piece = escaped,
                    Some(false) => {}
                },
                b'\r' => match (self.input.get(i + 1), self.eof) {
                    (Some(b'\n'), _) => {
                        piece = b"\r\n".to_vec();
                        consumed = 2;
                    }
                    (None, false) => return i,
                    _ => piece = escaped,
                },
                33..=126 if b != b'=' => {}
                _ => piece = escaped,
            }
            if piece.last() != Some(&b'\n') {
                let mut soft = self.line + piece.len() > QP_LINE;
                if !soft && self.line + piece.len() == QP_LINE {
                    match self.eol_at(i + consumed) {
                        None => return i,
                        Some(eol) => soft = !eol,
                    }
                }
                if soft {
                    self.out.extend_from_slice(b"=\r\n");
                    self.line = 0;
                    continue;
                }
            }
            self.out.extend_from_slice(&piece);
            self.line = if piece.last() == Some(&b'\n') { 0 } else { self.line + piece.len() };
            i += consumed;
        }
        i
    }
}

/// A form's multipart body, ready to be sent: size, read in pieces, rewind, content type.
pub struct MimeBody {
    segs: Vec<Seg>,
    content_type: String,
    cur: usize,
    reader: Option<(usize, SegReader)>,
}

enum SegReader {
    Bytes(usize),
    Content(EncReader),
}

impl MimeBody {
    /// The Content-Type header value: multipart/form-data with this body's boundary.
    pub fn content_type(&self) -> String {
        self.content_type.clone()
    }

    /// Total size in bytes, None when a part's size cannot be known before sending it (a
    /// source of unknown size, quoted-printable): the body then goes out chunked.
    pub fn size(&self) -> Option<u64> {
        let mut total = 0u64;
        for s in &self.segs {
            total += match s {
                Seg::Bytes(b) => b.len() as u64,
                Seg::Content(src, enc) => {
                    let raw = match src {
                        Src::Mem(d) => d.len() as u64,
                        Src::File(p) => std::fs::metadata(p).ok()?.len(),
                        Src::Source(s) => s.borrow().size()?,
                    };
                    match enc {
                        Some(e) => e.encoded_size(raw)?,
                        None => raw,
                    }
                }
            };
        }
        Some(total)
    }

    /// Fills `buf` with the next bytes of the body; Ok(0) at its end.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.cur < self.segs.len() {
            if self.reader.as_ref().is_none_or(|(i, _)| *i != self.cur) {
                let r = match &self.segs[self.cur] {
                    Seg::Bytes(_) => SegReader::Bytes(0),
                    Seg::Content(src, enc) => {
                        let raw = match src {
                            Src::Mem(d) => RawReader::Mem(d.clone(), 0),
                            Src::File(p) => RawReader::File(File::open(p)?),
                            Src::Source(s) => RawReader::Source(s.clone()),
                        };
                        SegReader::Content(EncReader {
                            raw,
                            enc: *enc,
                            input: Vec::new(),
                            eof: false,
                            out: Vec::new(),
                            out_pos: 0,
                            line: 0,
                        })
                    }
                };
                self.reader = Some((self.cur, r));
            }
            let n = match (&self.segs[self.cur], self.reader.as_mut().map(|(_, r)| r)) {
                (Seg::Bytes(b), Some(SegReader::Bytes(pos))) => {
                    let n = buf.len().min(b.len() - *pos);
                    buf[..n].copy_from_slice(&b[*pos..*pos + n]);
                    *pos += n;
                    n
                }
                (_, Some(SegReader::Content(r))) => r.read(buf)?,
                _ => 0,
            };
            if n > 0 {
                return Ok(n);
            }
            self.cur += 1;
        }
        Ok(0)
    }

    /// Back to the first byte (a redirect or an auth retry sends the body again). Caller
    /// sources are asked to rewind; files are reopened when read again.
    pub fn rewind(&mut self) -> io::Result<()> {
        let started = self.cur.min(self.segs.len().saturating_sub(1));
        let touched = if self.cur == 0 && self.reader.is_none() { 0 } else { started + 1 };
        for s in &self.segs[..touched.min(self.segs.len())] {
            if let Seg::Content(Src::Source(src), _) = s {
                src.borrow_mut().rewind()?;
            }
        }
        self.cur = 0;
        self.reader = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: &str = "------------------------abcdefghijklmnopqrstuv";

    fn data(name: &str, d: &[u8]) -> Part {
        Part { name: Some(name.into()), content: Content::Data(d.into()), ..Part::default() }
    }

    fn read_all(body: &mut MimeBody, step: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; step];
        loop {
            let n = body.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    fn body_of(m: &Mime) -> String {
        let mut b = m.form_body();
        let bytes = read_all(&mut b, 7);
        if let Some(n) = b.size() {
            assert_eq!(n, bytes.len() as u64, "size() agrees with what is read");
        }
        String::from_utf8_lossy(&bytes).replace(B, "B")
    }

    #[test]
    fn boundary_has_libcurls_shape() {
        let m = Mime::new();
        let b = m.boundary();
        assert_eq!(b.len(), 46);
        assert!(b.starts_with(&"-".repeat(24)));
        assert!(b[24..].bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(b, Mime::new().boundary());
        assert_eq!(m.form_body().content_type(), format!("multipart/form-data; boundary={b}"));
    }

    #[test]
    fn fields_and_empty_forms() {
        let mut m = Mime::with_boundary(B);
        assert_eq!(body_of(&m), "--B--\r\n");
        m.parts.push(data("a", b"hello"));
        m.parts.push(Part { content: Content::Data(b"anon".as_slice().into()), ..Part::default() });
        m.parts.push(data("a\"b\\c\r\nd", b"v"));
        m.parts.push(Part::default());
        assert_eq!(
            body_of(&m),
            "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhello\r\n\
             --B\r\nContent-Disposition: form-data\r\n\r\nanon\r\n\
             --B\r\nContent-Disposition: form-data; name=\"a%22b\\c%0D%0Ad\"\r\n\r\nv\r\n\
             --B\r\nContent-Disposition: form-data\r\n\r\n\r\n--B--\r\n"
        );
    }

    #[test]
    fn header_order_types_and_custom_headers() {
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part {
            mime_type: Some("text/x".into()),
            headers: vec!["X-A: b".into()],
            encoder: Some(Encoder::Base64),
            ..data("h", b"abc")
        });
        m.parts.push(Part { filename: Some(b"d.bin".to_vec()), ..data("d", b"abc") });
        m.parts.push(Part { filename: Some(b"x.TXT".to_vec()), ..data("t", b"abc") });
        m.parts.push(Part {
            headers: vec!["content-type: x/y".into(), "content-disposition: inline".into()],
            ..data("c", b"abc")
        });
        m.parts.push(Part {
            headers: vec!["Content-Transfer-Encoding: weird".into()],
            encoder: Some(Encoder::Base64),
            ..data("w", b"abc")
        });
        assert_eq!(
            body_of(&m),
            "--B\r\nContent-Disposition: form-data; name=\"h\"\r\nContent-Type: text/x\r\n\
             Content-Transfer-Encoding: base64\r\nX-A: b\r\n\r\nYWJj\r\n\
             --B\r\nContent-Disposition: form-data; name=\"d\"; filename=\"d.bin\"\r\n\r\nabc\r\n\
             --B\r\nContent-Disposition: form-data; name=\"t\"; filename=\"x.TXT\"\r\nContent-Type: text/plain\r\n\r\nabc\r\n\
             --B\r\nContent-Type: x/y\r\ncontent-disposition: inline\r\n\r\nabc\r\n\
             --B\r\nContent-Disposition: form-data; name=\"w\"\r\nContent-Transfer-Encoding: weird\r\n\r\nYWJj\r\n--B--\r\n"
        );
    }

    #[test]
    fn files_are_streamed_and_typed() {
        let dir = std::env::temp_dir().join(format!("mime-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let txt = dir.join("f.txt");
        std::fs::write(&txt, b"file content\nline2\n").unwrap();
        let bin = dir.join("f.bin");
        let big: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&bin, &big).unwrap();
        let file = |name: &str, p: &PathBuf, fname: &str| Part {
            name: Some(name.into()),
            filename: Some(fname.into()),
            content: Content::File(p.clone()),
            ..Part::default()
        };
        let mut m = Mime::with_boundary(B);
        m.parts.push(file("f", &txt, "f.txt"));
        m.parts.push(file("g", &txt, "noext"));
        assert_eq!(
            body_of(&m),
            "--B\r\nContent-Disposition: form-data; name=\"f\"; filename=\"f.txt\"\r\nContent-Type: text/plain\r\n\r\n\
             file content\nline2\n\r\n\
             --B\r\nContent-Disposition: form-data; name=\"g\"; filename=\"noext\"\r\nContent-Type: text/plain\r\n\r\n\
             file content\nline2\n\r\n--B--\r\n"
        );
        let mut m = Mime::with_boundary(B);
        m.parts.push(file("b", &bin, "f.bin"));
        let mut body = m.form_body();
        let all = read_all(&mut body, 4096);
        assert_eq!(body.size(), Some(all.len() as u64));
        let head = format!(
            "--{B}\r\nContent-Disposition: form-data; name=\"b\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        );
        assert_eq!(&all[..head.len()], head.as_bytes());
        assert_eq!(&all[head.len()..head.len() + big.len()], &big[..]);
        body.rewind().unwrap();
        assert_eq!(read_all(&mut body, 333), all);
        // a file that vanished fails the read, not the build
        let gone = dir.join("gone.txt");
        let mut m = Mime::with_boundary(B);
        m.parts.push(file("x", &gone, "gone.txt"));
        let mut body = m.form_body();
        assert_eq!(body.size(), None);
        let mut buf = [0u8; 4096];
        let first = body.read(&mut buf).unwrap();
        assert!(first > 0);
        assert!(body.read(&mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn nested_multiparts() {
        let mut sub = Mime::with_boundary("------------------------INNERINNERINNERINNER00");
        sub.parts.push(data("s1", b"one"));
        sub.parts.push(Part { filename: Some(b"q.bin".to_vec()), ..data("", b"x") });
        sub.parts[1].name = None;
        sub.parts.push(Part { content: Content::Data(b"z".as_slice().into()), ..Part::default() });
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part { name: Some(b"sub".to_vec()), content: Content::Multipart(sub.clone()), ..Part::default() });
        m.parts.push(Part {
            mime_type: Some("multipart/form-data".into()),
            content: Content::Multipart(sub),
            ..Part::default()
        });
        let body = body_of(&m).replace("------------------------INNERINNERINNERINNER00", "I");
        assert_eq!(
            body,
            "--B\r\nContent-Disposition: form-data; name=\"sub\"\r\nContent-Type: multipart/mixed; boundary=I\r\n\r\n\
             --I\r\nContent-Disposition: attachment; name=\"s1\"\r\n\r\none\r\n\
             --I\r\nContent-Disposition: attachment; filename=\"q.bin\"\r\n\r\nx\r\n\
             --I\r\n\r\nz\r\n--I--\r\n\r\n\
             --B\r\nContent-Disposition: form-data\r\nContent-Type: multipart/form-data; boundary=I\r\n\r\n\
             --I\r\nContent-Disposition: form-data; name=\"s1\"\r\n\r\none\r\n\
             --I\r\nContent-Disposition: form-data; filename=\"q.bin\"\r\n\r\nx\r\n\
             --I\r\nContent-Disposition: form-data\r\n\r\nz\r\n--I--\r\n\r\n--B--\r\n"
        );
    }

    fn encoded(enc: Encoder, d: &[u8]) -> String {
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part { encoder: Some(enc), ..data("e", d) });
        let all = body_of(&m);
        let start = all.find("\r\n\r\n").unwrap() + 4;
        let end = all.rfind("\r\n--B--").unwrap();
        all[start..end].to_string()
    }

    #[test]
    fn base64_lines() {
        let raw: Vec<u8> = (0..=255u8).collect();
        let out = encoded(Encoder::Base64, &raw);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines.len(), 5);
        assert!(lines[..4].iter().all(|l| l.len() == 76));
        assert_eq!(lines[0], "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4");
        assert_eq!(lines[4], "5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w==");
        assert_eq!(encoded(Encoder::Base64, b"ab"), "YWI=");
        assert_eq!(encoded(Encoder::Base64, b""), "");
        for n in [0usize, 1, 2, 3, 56, 57, 58, 114, 1000] {
            assert_eq!(
                Encoder::Base64.encoded_size(n as u64),
                Some(encoded(Encoder::Base64, &vec![7u8; n]).len() as u64)
            );
        }
    }

    #[test]
    fn quoted_printable_like_libcurl() {
        let qp = |d: &[u8]| encoded(Encoder::QuotedPrintable, d);
        assert_eq!(qp(b"a \t"), "a =09");
        assert_eq!(qp(b"line one\r\nl\xe9 = two\ttab \r\n"), "line one\r\nl=E9 =3D two\ttab=20\r\n");
        assert_eq!(qp(&[b'x'; 80]), format!("{}=\r\n{}", "x".repeat(75), "x".repeat(5)));
        assert_eq!(qp(&[b'y'; 76]), "y".repeat(76));
        assert_eq!(qp(&[&[b'y'; 73][..], b"=="].concat()), format!("{}=\r\n=3D=3D", "y".repeat(73)));
        assert_eq!(qp(&[&[b'y'; 74][..], b" \r\nb"].concat()), format!("{}=\r\n=20\r\nb", "y".repeat(74)));
        assert_eq!(qp(b"a\rb\nc"), "a=0Db=0Ac");
        let eqs = qp(&[&[b'='; 30][..], &[b'y'; 70][..], b"\r\n"].concat());
        assert_eq!(
            eqs,
            format!("{}=\r\n{}{}=\r\n{}\r\n", "=3D".repeat(25), "=3D".repeat(5), "y".repeat(60), "y".repeat(10))
        );
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part { encoder: Some(Encoder::QuotedPrintable), ..data("e", b"x") });
        assert_eq!(m.form_body().size(), None);
    }

    #[test]
    fn seven_bit_refuses_eight_bit_data() {
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part { encoder: Some(Encoder::Bit7), ..data("e", b"ok\xe9") });
        let mut body = m.form_body();
        let mut buf = [0u8; 1024];
        let mut err = None;
        for _ in 0..10 {
            match body.read(&mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        assert!(err.is_some());
        assert_eq!(encoded(Encoder::Bit7, b"ok\x01"), "ok\x01");
        assert_eq!(Encoder::from_name("BASE64"), Some(Encoder::Base64));
        assert_eq!(Encoder::from_name("nope"), None);
    }

    struct Counting {
        data: Vec<u8>,
        pos: usize,
        rewinds: usize,
        known: bool,
    }

    impl PartSource for Counting {
        fn size(&self) -> Option<u64> {
            self.known.then_some(self.data.len() as u64)
        }
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(self.data.len() - self.pos).min(3);
            buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
        fn rewind(&mut self) -> io::Result<()> {
            self.pos = 0;
            self.rewinds += 1;
            Ok(())
        }
    }

    #[test]
    fn sources_rewind_with_the_body() {
        let src = Rc::new(RefCell::new(Counting { data: b"hello world".to_vec(), pos: 0, rewinds: 0, known: true }));
        let mut m = Mime::with_boundary(B);
        m.parts.push(Part { name: Some(b"cb".to_vec()), content: Content::Source(src.clone()), ..Part::default() });
        let mut body = m.form_body();
        let first = read_all(&mut body, 5);
        assert_eq!(body.size(), Some(first.len() as u64));
        assert!(String::from_utf8_lossy(&first).contains("\r\n\r\nhello world\r\n"));
        body.rewind().unwrap();
        assert_eq!(src.borrow().rewinds, 1);
        assert_eq!(read_all(&mut body, 64), first);
        src.borrow_mut().known = false;
        assert_eq!(body.size(), None);
        // rewinding before anything was read leaves the source alone
        let mut fresh = m.form_body();
        fresh.rewind().unwrap();
        assert_eq!(src.borrow().rewinds, 1);
    }
}
