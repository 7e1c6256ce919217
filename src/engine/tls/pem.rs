//! PEM blocks, with the headers (Proc-Type, DEK-Info) of OpenSSL's encrypted keys.

use base64::Engine as _;

// ---------------------------------------------------------------------------------------
// PEM
// ---------------------------------------------------------------------------------------

pub(super) struct PemBlock {
    pub(super) label: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) der: Vec<u8>,
}

impl PemBlock {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// All well-formed PEM blocks in `data` (others are skipped).
pub(super) fn parse_pem(data: &[u8]) -> Vec<PemBlock> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    // (label, headers, base64 body) of the block being read
    #[allow(clippy::type_complexity)]
    let mut current: Option<(String, Vec<(String, String)>, String)> = None;
    for raw_line in text.lines() {
        let line = raw_line.trim();
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            if let Some(label) = rest.strip_suffix("-----") {
                current = Some((label.to_string(), Vec::new(), String::new()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("-----END ") {
            if let (Some(label), Some((cur_label, headers, body))) = (rest.strip_suffix("-----"), current.take()) {
                if label == cur_label {
                    if let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body.as_bytes()) {
                        out.push(PemBlock { label: cur_label, headers, der });
                    }
                }
            }
            continue;
        }
        if let Some((_, headers, body)) = current.as_mut() {
            if body.is_empty() {
                if let Some((k, v)) = line.split_once(':') {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                    continue;
                }
            }
            body.extend(line.chars().filter(|c| !c.is_whitespace()));
        }
    }
    out
}
