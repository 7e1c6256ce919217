//! SSH's wire encodings (RFC 4251 section 5): byte, boolean, uint32, uint64, string, mpint,
//! name-list.

/// Builds one message.
#[derive(Default)]
pub struct W(pub Vec<u8>);

impl W {
    pub fn msg(t: u8) -> W {
        W(vec![t])
    }
    pub fn u8(mut self, v: u8) -> W {
        self.0.push(v);
        self
    }
    pub fn bool(self, v: bool) -> W {
        self.u8(v as u8)
    }
    pub fn u32(mut self, v: u32) -> W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn u64(mut self, v: u64) -> W {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn str(mut self, s: impl AsRef<[u8]>) -> W {
        let s = s.as_ref();
        self.0.extend_from_slice(&(s.len() as u32).to_be_bytes());
        self.0.extend_from_slice(s);
        self
    }
    pub fn raw(mut self, s: &[u8]) -> W {
        self.0.extend_from_slice(s);
        self
    }
    /// An unsigned big-endian number as mpint: no leading zeros, a zero byte before a high bit.
    pub fn mpint(self, n: &[u8]) -> W {
        let n = &n[n.iter().position(|&b| b != 0).unwrap_or(n.len())..];
        let mut v = Vec::with_capacity(n.len() + 1);
        if n.first().is_some_and(|&b| b & 0x80 != 0) {
            v.push(0);
        }
        v.extend_from_slice(n);
        self.str(v)
    }
}

/// Reads one message; every read fails on a short message instead of panicking.
pub struct R<'a>(pub &'a [u8]);

/// A message ended before a field it should have.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Short;

impl<'a> R<'a> {
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Short> {
        if self.0.len() < n {
            return Err(Short);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    pub fn u8(&mut self) -> Result<u8, Short> {
        Ok(self.bytes(1)?[0])
    }
    pub fn bool(&mut self) -> Result<bool, Short> {
        Ok(self.u8()? != 0)
    }
    pub fn u32(&mut self) -> Result<u32, Short> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub fn u64(&mut self) -> Result<u64, Short> {
        let hi = self.u32()? as u64;
        Ok(hi << 32 | self.u32()? as u64)
    }
    pub fn str(&mut self) -> Result<&'a [u8], Short> {
        let n = self.u32()? as usize;
        self.bytes(n)
    }
    pub fn text(&mut self) -> Result<String, Short> {
        Ok(String::from_utf8_lossy(self.str()?).into_owned())
    }
    /// An mpint's magnitude (leading zeros dropped).
    pub fn mpint(&mut self) -> Result<&'a [u8], Short> {
        let s = self.str()?;
        Ok(&s[s.iter().position(|&b| b != 0).unwrap_or(s.len())..])
    }
}
