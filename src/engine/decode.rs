//! Content-Encoding decoders (gzip, deflate, br, identity), stacked in the order the server applied them.
//!
//! Bounded as libcurl bounds them: the caller pushes what one socket read brought, then pulls decoded
//! pieces of at most [`CHUNK`] bytes, delivering each before asking for the next, so a compression bomb
//! never sits in memory whole (each stage holds at most one piece of its input), and output is
//! handed over as soon as the decompressor yields it (a sync-flushed piece is not held back). At most
//! [`MAX_STACK`] encodings are accepted.

use brotli_decompressor::{BrotliDecompressStream, BrotliResult, BrotliState, StandardAlloc};
use flate2::{Decompress, FlushDecompress, Status};

use super::error::{code, Error};

/// What zlib-rs (flate2's backend here, a Rust port of zlib) calls itself through zlib's
/// zlibVersion(): the zlib release it matches, then its own version. Checked against Cargo.lock.
pub const ZLIB_VERSION: &str = "1.3.0-zlib-rs-0.6.8";

/// Decoded bytes per piece handed to the write callback (libcurl's decoder buffer size).
pub const CHUNK: usize = 16384;
/// libcurl rejects responses with more stacked content encodings than this.
pub const MAX_STACK: usize = 5;

type Brotli = BrotliState<StandardAlloc, StandardAlloc, StandardAlloc>;

enum Codec {
    /// zlib's inflate: gzip, zlib-wrapped deflate or raw deflate.
    Inflate(Decompress),
    /// "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate: decided on the first bytes.
    DeflateUndecided,
    Brotli(Box<Brotli>),
}

struct Stage {
    codec: Codec,
    /// Input not consumed yet, from `pos` on.
    input: Vec<u8>,
    pos: usize,
    /// The last run filled its output: the codec may hold more without new input.
    more_out: bool,
    /// End of the compressed stream: anything after it is ignored (brotli) or refused (zlib).
    done: bool,
    /// A gzip or deflate stage.
    inflate: bool,
}

pub struct Decoder {
    stages: Vec<Stage>,
    total_out: u64,
    /// Only transfer codings: libcurl counts the decoded bytes as downloaded, not the received.
    pub counts_output: bool,
    /// No more input will come (end of body).
    eof: bool,
}

fn bad(e: impl std::fmt::Display) -> Error {
    Error::new(code::BAD_CONTENT_ENCODING, format!("Error while processing content unencoding: {e}"))
}

impl Decoder {
    /// Builds a decoder for a Content-Encoding header value; Ok(None) when nothing needs decoding,
    /// Err for an encoding we cannot decode or a stack deeper than libcurl accepts.
    pub fn for_encoding(value: &str) -> Result<Option<Decoder>, Error> {
        let names: Vec<String> =
            value.split(',').map(|s| s.trim().to_ascii_lowercase()).filter(|s| !s.is_empty()).collect();
        if names.len() > MAX_STACK {
            return Err(Error::new(
                code::BAD_CONTENT_ENCODING,
                format!("Reject response exceeding limit of {MAX_STACK} content encodings"),
            ));
        }
        let mut stages = Vec::new();
        // Applied left to right by the server: undo right to left.
        for enc in names.iter().rev() {
            let codec = match enc.as_str() {
                "identity" | "none" => continue,
                "gzip" | "x-gzip" => Codec::Inflate(Decompress::new_gzip(15)),
                "deflate" => Codec::DeflateUndecided,
                "br" => Codec::Brotli(Box::new(BrotliState::new(
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                    StandardAlloc::default(),
                ))),
                _ => return Err(Error::new(code::BAD_CONTENT_ENCODING, "Unrecognized content encoding type")),
            };
            let inflate = !matches!(codec, Codec::Brotli(_));
            stages.push(Stage { codec, input: Vec::new(), pos: 0, more_out: false, done: false, inflate });
        }
        Ok(if stages.is_empty() {
            None
        } else {
            Some(Decoder { stages, total_out: 0, counts_output: false, eof: false })
        })
    }

    /// Queues encoded bytes (one socket read's worth); `pull` decodes them.
    pub fn push(&mut self, data: &[u8]) {
        // Bytes after the end of a zlib stream are kept so that `pull` refuses them (as libcurl does).
        let first = &mut self.stages[0];
        if !first.done || first.inflate {
            first.input.extend_from_slice(data);
        }
    }

    /// The end of the body: what the stages still hold can now be pulled.
    pub fn finish(&mut self) {
        self.eof = true;
    }

    /// Decoded bytes handed out so far.
    pub fn total_out(&self) -> u64 {
        self.total_out
    }

    /// The next piece of decoded output (at most [`CHUNK`] bytes), or None when more input is needed.
    pub fn pull(&mut self) -> Result<Option<Vec<u8>>, Error> {
        let last = self.stages.len() - 1;
        let out = self.pull_stage(last)?;
        if let Some(o) = &out {
            self.total_out += o.len() as u64;
        }
        Ok(out)
    }

    fn pull_stage(&mut self, i: usize) -> Result<Option<Vec<u8>>, Error> {
        loop {
            let eof = self.eof;
            let st = &mut self.stages[i];
            if !st.done && (st.pos < st.input.len() || st.more_out) {
                let out = st.run(eof)?;
                if !out.is_empty() {
                    return Ok(Some(out));
                }
            }
            if st.done {
                st.refuse_leftover()?;
                st.input.clear();
                st.pos = 0;
            }
            // This stage needs more input: from the stage before it, or from the socket.
            if i == 0 {
                return Ok(None);
            }
            match self.pull_stage(i - 1)? {
                Some(more) => {
                    let st = &mut self.stages[i];
                    if !st.done || st.inflate {
                        st.input.drain(..st.pos);
                        st.pos = 0;
                        st.input.extend_from_slice(&more);
                    }
                }
                None => return Ok(None),
            }
        }
    }
}

impl Stage {
    /// libcurl fails a gzip or deflate body with bytes after the end of its stream: a second gzip
    /// member has its own message, anything else is a write error.
    fn refuse_leftover(&self) -> Result<(), Error> {
        let rest = &self.input[self.pos.min(self.input.len())..];
        if !self.inflate || rest.is_empty() {
            return Ok(());
        }
        let msg = if rest.starts_with(&[0x1f, 0x8b]) {
            "Multi-member gzip response not supported"
        } else {
            "Failed writing received data to disk/application"
        };
        Err(Error::new(code::WRITE_ERROR, msg))
    }

    /// Decodes from the pending input into at most CHUNK bytes of output.
    fn run(&mut self, eof: bool) -> Result<Vec<u8>, Error> {
        if let Codec::DeflateUndecided = self.codec {
            let head = &self.input[self.pos..];
            if head.len() < 2 && !eof {
                self.more_out = false;
                return Ok(Vec::new());
            }
            let zlib =
                head.len() < 2 || (head[0] & 0x0f == 8 && (u16::from(head[0]) << 8 | u16::from(head[1])) % 31 == 0);
            self.codec = Codec::Inflate(Decompress::new(zlib));
        }
        let mut out = Vec::with_capacity(CHUNK);
        let input = &self.input[self.pos..];
        let consumed = match &mut self.codec {
            Codec::Inflate(z) => {
                let before = z.total_in();
                let status = z
                    .decompress_vec(input, &mut out, FlushDecompress::None)
                    .map_err(|e| bad(e.message().map(str::to_string).unwrap_or_else(|| e.to_string())))?;
                if status == Status::StreamEnd {
                    self.done = true;
                }
                (z.total_in() - before) as usize
            }
            Codec::Brotli(s) => {
                out.resize(CHUNK, 0);
                let (mut avail_in, mut in_off) = (input.len(), 0);
                let (mut avail_out, mut out_off, mut total) = (CHUNK, 0, 0);
                let r = BrotliDecompressStream(
                    &mut avail_in,
                    &mut in_off,
                    input,
                    &mut avail_out,
                    &mut out_off,
                    &mut out,
                    &mut total,
                    s,
                );
                out.truncate(out_off);
                match r {
                    BrotliResult::ResultSuccess => self.done = true,
                    BrotliResult::ResultFailure => return Err(bad("brotli: invalid stream")),
                    BrotliResult::NeedsMoreInput | BrotliResult::NeedsMoreOutput => {}
                }
                in_off
            }
            Codec::DeflateUndecided => 0,
        };
        self.pos += consumed;
        if self.pos == self.input.len() {
            self.input.clear();
            self.pos = 0;
        }
        self.more_out = out.len() == CHUNK;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn drain(d: &mut Decoder, out: &mut Vec<u8>, max_piece: &mut usize) {
        while let Some(p) = d.pull().unwrap() {
            *max_piece = (*max_piece).max(p.len());
            out.extend(p);
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn bytes_after_the_stream_are_refused_after_its_data() {
        for (extra, msg) in [
            (b"xyz".to_vec(), "Failed writing received data to disk/application"),
            (gzip(b"again"), "Multi-member gzip response not supported"),
        ] {
            let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
            let mut body = gzip(b"hello");
            body.extend_from_slice(&extra);
            d.push(&body);
            d.finish();
            assert_eq!(d.pull().unwrap().as_deref(), Some(&b"hello"[..]));
            let e = d.pull().unwrap_err();
            assert_eq!((e.code, e.msg.as_str()), (23, msg));
        }
    }

    #[test]
    fn gzip_and_deflate_round_trip_in_pieces() {
        let text = b"hello world ".repeat(500);
        let gz = gzip(&text);
        let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
        let (mut out, mut m) = (Vec::new(), 0);
        for piece in gz.chunks(7) {
            d.push(piece);
            drain(&mut d, &mut out, &mut m);
        }
        d.finish();
        drain(&mut d, &mut out, &mut m);
        assert_eq!(out, text);

        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(&text).unwrap();
        let z = e.finish().unwrap();
        for raw in [false, true] {
            // raw deflate: the zlib stream without its 2-byte header and 4-byte trailer
            let input = if raw { &z[2..z.len() - 4] } else { &z[..] };
            let mut d = Decoder::for_encoding("deflate").unwrap().unwrap();
            let (mut out, mut m) = (Vec::new(), 0);
            d.push(input);
            d.finish();
            drain(&mut d, &mut out, &mut m);
            assert_eq!(out, text);
        }
    }

    #[test]
    fn sync_flushed_piece_comes_out_before_more_input() {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(b"first piece").unwrap();
        e.flush().unwrap();
        let first = e.get_ref().clone();
        let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
        d.push(&first);
        assert_eq!(d.pull().unwrap().unwrap(), b"first piece");
        assert!(d.pull().unwrap().is_none());
    }

    #[test]
    fn stacked_bomb_comes_out_in_bounded_pieces() {
        let zeros = vec![0u8; 64 << 20];
        let twice = gzip(&gzip(&zeros));
        let mut d = Decoder::for_encoding("gzip, gzip").unwrap().unwrap();
        d.push(&twice);
        let (mut n, mut max_piece) = (0usize, 0usize);
        while let Some(p) = d.pull().unwrap() {
            max_piece = max_piece.max(p.len());
            n += p.len();
        }
        assert_eq!(n, zeros.len());
        assert!(max_piece <= CHUNK);
        assert!(d.stages.iter().all(|s| s.input.capacity() <= twice.len().max(4 * CHUNK)));
        assert_eq!(d.total_out(), zeros.len() as u64);
    }

    #[test]
    fn zlib_version_names_the_locked_zlib_rs() {
        let lock = include_str!("../../Cargo.lock");
        let at = lock.find("name = \"zlib-rs\"\nversion = \"").expect("zlib-rs in Cargo.lock");
        let rest = &lock[at + "name = \"zlib-rs\"\nversion = \"".len()..];
        let version = &rest[..rest.find('"').unwrap()];
        assert_eq!(ZLIB_VERSION, format!("1.3.0-zlib-rs-{version}"));
    }

    #[test]
    fn more_than_five_encodings_are_rejected() {
        assert!(Decoder::for_encoding("gzip, gzip, gzip, gzip, gzip").unwrap().is_some());
        let e = Decoder::for_encoding("gzip, identity, gzip, gzip, gzip, gzip").err().unwrap();
        assert_eq!(e.code, code::BAD_CONTENT_ENCODING);
        assert_eq!(e.msg, "Reject response exceeding limit of 5 content encodings");
    }

    #[test]
    fn corrupt_gzip_is_bad_content_encoding() {
        let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
        d.push(b"\x1f\x8b\x08\x00garbage-garbage-garbage");
        assert_eq!(d.pull().unwrap_err().code, code::BAD_CONTENT_ENCODING);
        assert!(Decoder::for_encoding("identity").unwrap().is_none());
        assert!(Decoder::for_encoding("zstd").is_err());
    }
}
