//! Content-Encoding decoders (gzip, deflate, br, identity), stacked in the order the server applied them.

use std::io::Write;

use flate2::write::{DeflateDecoder, GzDecoder, ZlibDecoder};

use super::error::{code, Error};

enum One {
    Gzip(GzDecoder<Vec<u8>>),
    /// "deflate" is zlib-wrapped per RFC 9110, but some servers send raw deflate: decided on the first byte.
    Deflate(Option<ZlibOrRaw>),
    Brotli(Box<brotli_decompressor::DecompressorWriter<Vec<u8>>>),
}

enum ZlibOrRaw {
    Zlib(ZlibDecoder<Vec<u8>>),
    Raw(DeflateDecoder<Vec<u8>>),
}

pub struct Decoder {
    stages: Vec<One>,
}

fn bad(e: impl std::fmt::Display) -> Error {
    Error::new(code::BAD_CONTENT_ENCODING, format!("Error while processing content unencoding: {e}"))
}

impl Decoder {
    /// Builds a decoder for a Content-Encoding header value; Ok(None) when nothing needs decoding,
    /// Err for an encoding we cannot decode.
    pub fn for_encoding(value: &str) -> Result<Option<Decoder>, Error> {
        let mut stages = Vec::new();
        // Applied left to right by the server: undo right to left.
        for enc in value.split(',').map(|s| s.trim().to_ascii_lowercase()).rev() {
            match enc.as_str() {
                "" | "identity" | "none" => {}
                "gzip" | "x-gzip" => stages.push(One::Gzip(GzDecoder::new(Vec::new()))),
                "deflate" => stages.push(One::Deflate(None)),
                "br" => {
                    stages.push(One::Brotli(Box::new(brotli_decompressor::DecompressorWriter::new(Vec::new(), 16384))))
                }
                other => {
                    let _ = other;
                    return Err(Error::new(code::BAD_CONTENT_ENCODING, "Unrecognized content encoding type"));
                }
            }
        }
        Ok(if stages.is_empty() { None } else { Some(Decoder { stages }) })
    }

    /// Feeds encoded bytes; returns decoded bytes available so far.
    pub fn feed(&mut self, data: &[u8]) -> Result<Vec<u8>, Error> {
        self.feed_from(0, data.to_vec())
    }

    /// Runs `buf` through stages `start..`.
    fn feed_from(&mut self, start: usize, mut buf: Vec<u8>) -> Result<Vec<u8>, Error> {
        for st in &mut self.stages[start..] {
            if buf.is_empty() {
                return Ok(buf);
            }
            buf = st.feed(&buf)?;
        }
        Ok(buf)
    }

    /// End of the body: each stage flushes what it holds back, through the stages after it.
    pub fn finish(&mut self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for i in 0..self.stages.len() {
            let tail = self.stages[i].finish()?;
            out.extend(self.feed_from(i + 1, tail)?);
        }
        Ok(out)
    }
}

impl One {
    fn feed(&mut self, buf: &[u8]) -> Result<Vec<u8>, Error> {
        Ok(match self {
            One::Gzip(d) => {
                d.write_all(buf).map_err(bad)?;
                std::mem::take(d.get_mut())
            }
            One::Deflate(slot) => {
                if slot.is_none() {
                    let zlib =
                        buf[0] & 0x0f == 8 && (u16::from(buf[0]) << 8 | u16::from(*buf.get(1).unwrap_or(&0))) % 31 == 0;
                    *slot = Some(if zlib || buf.len() < 2 {
                        ZlibOrRaw::Zlib(ZlibDecoder::new(Vec::new()))
                    } else {
                        ZlibOrRaw::Raw(DeflateDecoder::new(Vec::new()))
                    });
                }
                match slot.as_mut().unwrap() {
                    ZlibOrRaw::Zlib(d) => {
                        d.write_all(buf).map_err(bad)?;
                        std::mem::take(d.get_mut())
                    }
                    ZlibOrRaw::Raw(d) => {
                        d.write_all(buf).map_err(bad)?;
                        std::mem::take(d.get_mut())
                    }
                }
            }
            One::Brotli(d) => {
                d.write_all(buf).map_err(bad)?;
                d.flush().map_err(bad)?;
                std::mem::take(d.get_mut())
            }
        })
    }

    fn finish(&mut self) -> Result<Vec<u8>, Error> {
        Ok(match self {
            One::Gzip(d) => {
                d.try_finish().map_err(bad)?;
                std::mem::take(d.get_mut())
            }
            One::Deflate(Some(ZlibOrRaw::Zlib(d))) => {
                d.try_finish().map_err(bad)?;
                std::mem::take(d.get_mut())
            }
            One::Deflate(Some(ZlibOrRaw::Raw(d))) => {
                d.try_finish().map_err(bad)?;
                std::mem::take(d.get_mut())
            }
            One::Deflate(None) => Vec::new(),
            One::Brotli(d) => {
                d.flush().map_err(bad)?;
                std::mem::take(d.get_mut())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{GzEncoder, ZlibEncoder};
    use flate2::Compression;

    #[test]
    fn gzip_and_deflate_round_trip_in_pieces() {
        let text = b"hello world ".repeat(500);
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(&text).unwrap();
        let gz = e.finish().unwrap();
        let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
        let mut out = Vec::new();
        for piece in gz.chunks(7) {
            out.extend(d.feed(piece).unwrap());
        }
        out.extend(d.finish().unwrap());
        assert_eq!(out, text);

        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(&text).unwrap();
        let z = e.finish().unwrap();
        let mut d = Decoder::for_encoding("deflate").unwrap().unwrap();
        let mut out = d.feed(&z).unwrap();
        out.extend(d.finish().unwrap());
        assert_eq!(out, text);
    }

    #[test]
    fn corrupt_gzip_is_bad_content_encoding() {
        let mut d = Decoder::for_encoding("gzip").unwrap().unwrap();
        let r = d.feed(b"\x1f\x8b\x08\x00garbage-garbage-garbage").and_then(|_| d.finish());
        assert_eq!(r.unwrap_err().code, code::BAD_CONTENT_ENCODING);
        assert!(Decoder::for_encoding("identity").unwrap().is_none());
    }
}
