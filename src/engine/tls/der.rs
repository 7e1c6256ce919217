//! A minimal DER reader.

// ---------------------------------------------------------------------------------------
// Minimal DER reader
// ---------------------------------------------------------------------------------------

pub(super) struct Der<'a>(pub(super) &'a [u8]);

impl<'a> Der<'a> {
    /// Next TLV: (tag byte, content).
    pub(super) fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let d = self.0;
        if d.len() < 2 {
            return None;
        }
        let tag = d[0];
        let (len, hdr) = if d[1] < 0x80 {
            (d[1] as usize, 2)
        } else {
            let n = (d[1] & 0x7f) as usize;
            if n == 0 || n > 4 || d.len() < 2 + n {
                return None;
            }
            let mut l = 0usize;
            for &b in &d[2..2 + n] {
                l = (l << 8) | b as usize;
            }
            (l, 2 + n)
        };
        if d.len() < hdr + len {
            return None;
        }
        self.0 = &d[hdr + len..];
        Some((tag, &d[hdr..hdr + len]))
    }

    pub(super) fn expect(&mut self, tag: u8) -> Option<&'a [u8]> {
        match self.next()? {
            (t, c) if t == tag => Some(c),
            _ => None,
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

pub(super) fn der_uint(content: &[u8]) -> Option<u32> {
    if content.is_empty() || content.len() > 5 {
        return None;
    }
    let mut v: u64 = 0;
    for &b in content {
        v = (v << 8) | b as u64;
    }
    u32::try_from(v).ok()
}

/// Dotted text of an OID's content octets.
pub(super) fn oid_text(content: &[u8]) -> String {
    let mut parts: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for &b in content {
        acc = (acc << 7) | (b & 0x7f) as u64;
        if b & 0x80 == 0 {
            if parts.is_empty() {
                let first = if acc < 40 {
                    0
                } else if acc < 80 {
                    1
                } else {
                    2
                };
                parts.push(first);
                parts.push(acc - first * 40);
            } else {
                parts.push(acc);
            }
            acc = 0;
        }
    }
    parts.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(".")
}
