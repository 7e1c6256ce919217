//! HTTP authentication shared by origins and proxies: the CURLAUTH bit of a challenge, libcurl's
//! choice among the offered schemes, and Digest (RFC 7616: MD5, MD5-sess, SHA-256, qop=auth).

pub mod ntlm;

use base64::Engine as _;
use md5::{Digest, Md5};

/// CURLAUTH_* bits.
pub const BASIC: u64 = 1;
pub const DIGEST: u64 = 2;
pub const NEGOTIATE: u64 = 4;
pub const NTLM: u64 = 8;
pub const DIGEST_IE: u64 = 16;
pub const BEARER: u64 = 64;

/// The CURLAUTH bit of one `WWW-Authenticate` / `Proxy-Authenticate` challenge (0 for unknown schemes).
pub fn scheme_bit(challenge: &str) -> u64 {
    let name = challenge.split_whitespace().next().unwrap_or("");
    [("basic", BASIC), ("digest", DIGEST), ("negotiate", NEGOTIATE), ("ntlm", NTLM), ("bearer", BEARER)]
        .iter()
        .find(|(n, _)| name.eq_ignore_ascii_case(n))
        .map_or(0, |(_, b)| *b)
}

/// A mask as libcurl keeps it: DIGEST_IE is Digest.
pub fn normalize(want: u64) -> u64 {
    if want & DIGEST_IE != 0 {
        (want | DIGEST) & !DIGEST_IE
    } else {
        want
    }
}

/// The Basic credentials value.
pub fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}")))
}

/// The answer to the strongest challenge that `want` allows, Digest before Basic as libcurl picks
/// (NTLM runs through `NtlmStep`, Negotiate is not built); None when nothing offered is both allowed
/// and built.
pub fn answer(challenges: &[&str], want: u64, user: &str, pass: &str, method: &str, uri: &str) -> Option<String> {
    let want = normalize(want);
    if want & DIGEST != 0 {
        if let Some(ch) = challenges.iter().find(|c| scheme_bit(c) == DIGEST) {
            return digest_response(ch, user, pass, method, uri);
        }
    }
    if want & BASIC != 0 && challenges.iter().any(|c| scheme_bit(c) == BASIC) {
        return Some(basic(user, pass));
    }
    None
}

/// Whether libcurl picks NTLM among the offered `challenges` for `want`: Negotiate is not built,
/// and Digest ranks above NTLM, NTLM above Basic.
pub fn picks_ntlm(challenges: &[&str], want: u64) -> bool {
    let want = normalize(want);
    let offered = |bit| challenges.iter().any(|c| scheme_bit(c) == bit);
    want & NTLM != 0 && offered(NTLM) && !(want & DIGEST != 0 && offered(DIGEST))
}

/// NTLM is the one method `want` allows (once the methods not built are dropped, as libcurl's
/// setopt drops them): libcurl then sends a type-1 with the first request instead of probing.
pub fn ntlm_alone(want: u64) -> bool {
    normalize(want) & !(NEGOTIATE | NTLM_WB) == NTLM
}

/// CURLAUTH_NTLM_WB, gone from libcurl 8.8 on.
const NTLM_WB: u64 = 32;

/// Where one NTLM handshake stands. libcurl keeps it per connection: the handshake authenticates
/// the connection it runs on, and later requests on it carry no header at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum NtlmStep {
    /// Not picked (yet): requests carry no NTLM header.
    #[default]
    Idle,
    /// Picked: the next request carries a type-1 (none on a connection already authenticated).
    Want,
    /// The server asked again on an authenticated connection: a type-1 whatever the connection.
    Restart,
    Sent1,
    /// The server's type-2, for the next request's type-3.
    Got2(Box<ntlm::Challenge>),
    Sent3,
    /// The connection is authenticated.
    Done,
    /// libcurl gave up on this handshake (its "authentication problem"): no more retries.
    Failed,
}

impl NtlmStep {
    /// The first state of a transfer under `want`.
    pub fn start(want: u64) -> NtlmStep {
        if ntlm_alone(want) {
            NtlmStep::Want
        } else {
            NtlmStep::Idle
        }
    }

    /// The NTLM header the next request carries, moving the handshake on; nothing on a
    /// connection NTLM already authenticated (`authenticated`).
    pub fn output(&mut self, user: &str, pass: &str, authenticated: bool) -> Result<Option<String>, ntlm::TooBig> {
        match std::mem::take(self) {
            NtlmStep::Want if authenticated => *self = NtlmStep::Done,
            NtlmStep::Want | NtlmStep::Restart | NtlmStep::Sent1 => {
                *self = NtlmStep::Sent1;
                return Ok(Some(ntlm::type1_header()));
            }
            NtlmStep::Got2(ch) => {
                let h = ntlm::type3_header(&ch, user, pass)?;
                *self = NtlmStep::Sent3;
                return Ok(Some(h));
            }
            // A type-3 went out on this connection before: libcurl sends nothing more.
            NtlmStep::Sent3 => *self = NtlmStep::Done,
            s => *self = s,
        }
        Ok(None)
    }

    /// Reads a 401/407's challenges: Ok(true) when the handshake goes on with another request,
    /// Err with libcurl's VERBOSE line when it gives up on it.
    pub fn input(&mut self, challenges: &[&str], want: u64) -> Result<bool, &'static str> {
        let Some(v) = challenges.iter().find(|c| scheme_bit(c) == NTLM) else {
            return Ok(false);
        };
        let (r, next) = match (std::mem::take(self), ntlm::input(v)) {
            (NtlmStep::Failed, _) => (Ok(false), NtlmStep::Failed),
            (NtlmStep::Sent1, ntlm::Input::Challenge(c)) => (Ok(true), NtlmStep::Got2(Box::new(c))),
            (NtlmStep::Sent3, ntlm::Input::Start) => (Err("NTLM handshake rejected"), NtlmStep::Failed),
            (NtlmStep::Sent1 | NtlmStep::Got2(_), ntlm::Input::Start) => {
                (Err("NTLM handshake failure (internal error)"), NtlmStep::Failed)
            }
            (_, ntlm::Input::Bad(e)) => (Err(e), NtlmStep::Failed),
            (NtlmStep::Done, ntlm::Input::Start) => (Ok(true), NtlmStep::Restart),
            (NtlmStep::Idle, ntlm::Input::Start) if picks_ntlm(challenges, want) => (Ok(true), NtlmStep::Want),
            (s, _) => (Ok(false), s),
        };
        *self = next;
        r
    }

    /// A type-3 went out and the answer is not another challenge: the connection is authenticated.
    pub fn settle(&mut self, challenged: bool) -> bool {
        if *self == NtlmStep::Sent3 && !challenged {
            *self = NtlmStep::Done;
            return true;
        }
        false
    }

    /// The handshake is on (NTLM picked): libcurl's VERBOSE names it for each request.
    pub fn active(&self) -> bool {
        !matches!(self, NtlmStep::Idle | NtlmStep::Failed)
    }
}

/// The Digest challenge `answer` answers for `want`, if it picks Digest.
pub fn digest_challenge<'a>(challenges: &[&'a str], want: u64) -> Option<&'a str> {
    (normalize(want) & DIGEST != 0).then(|| challenges.iter().find(|c| scheme_bit(c) == DIGEST).copied()).flatten()
}

/// The last Digest challenge a handle answered, for an origin or a proxy. libcurl keeps it and
/// answers the next request to the same server with it (nonce count going up), so the server
/// sees no new 401/407; other credentials or another server start over.
#[derive(Clone, Debug, Default)]
pub struct KeptDigest {
    key: String,
    challenge: String,
    nc: u32,
}

/// What a kept challenge belongs to: the server and the credentials.
pub fn digest_key(host: &str, port: u16, user: &str, pass: &str) -> String {
    format!("{}:{port}\n{user}\n{pass}", host.to_ascii_lowercase())
}

impl KeptDigest {
    /// Remembers `challenge`, just answered (nonce count 1) for the server and credentials in `key`.
    pub fn keep(slot: &mut Option<KeptDigest>, key: String, challenge: &str) {
        *slot = Some(KeptDigest { key, challenge: challenge.to_string(), nc: 1 });
    }

    /// The answer for a new request with the kept challenge, when it belongs to `key`.
    pub fn answer(
        slot: &mut Option<KeptDigest>,
        key: &str,
        user: &str,
        pass: &str,
        method: &str,
        uri: &str,
    ) -> Option<String> {
        let k = slot.as_mut().filter(|k| k.key == key)?;
        k.nc = k.nc.wrapping_add(1).max(1);
        digest_response_nc(&k.challenge, user, pass, method, uri, k.nc)
    }
}

/// A handle's kept Digest challenges: one for origins, one for proxies.
#[derive(Clone, Debug, Default)]
pub struct DigestMemory {
    pub origin: Option<KeptDigest>,
    pub proxy: Option<KeptDigest>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hash(alg: &str, s: &str) -> String {
    if alg.starts_with("SHA-256") {
        hex(ring::digest::digest(&ring::digest::SHA256, s.as_bytes()).as_ref())
    } else {
        hex(&Md5::digest(s.as_bytes()))
    }
}

/// Splits `k=v, k="v, w"` parameter lists.
fn params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b' ' || b[i] == b',') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b',' {
            i += 1;
        }
        let key = s[ks..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] == b',' {
            if !key.is_empty() {
                out.push((key, String::new()));
            }
            continue;
        }
        i += 1;
        let mut val = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                val.push(b[i] as char);
                i += 1;
            }
            i += 1;
        } else {
            let vs = i;
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            val = s[vs..i].trim().to_string();
        }
        out.push((key, val));
    }
    out
}

/// Builds the Authorization header value answering a `Digest ...` challenge.
pub fn digest_response(challenge: &str, user: &str, pass: &str, method: &str, uri: &str) -> Option<String> {
    digest_response_nc(challenge, user, pass, method, uri, 1)
}

/// As `digest_response`, the `nc`th use of the challenge's nonce.
pub fn digest_response_nc(challenge: &str, user: &str, pass: &str, method: &str, uri: &str, nc: u32) -> Option<String> {
    let rest = challenge.get(6..)?;
    let p = params(rest);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let realm = get("realm").unwrap_or_default();
    let nonce = get("nonce")?;
    let opaque = get("opaque");
    let alg = get("algorithm").unwrap_or_else(|| "MD5".into());
    let alg_up = alg.to_ascii_uppercase();
    if !(alg_up == "MD5" || alg_up == "MD5-SESS" || alg_up == "SHA-256" || alg_up == "SHA-256-SESS") {
        return None;
    }
    let qop = get("qop").map(|q| q.split(',').any(|t| t.trim() == "auth"));
    let mut cnonce_bytes = [0u8; 16];
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut cnonce_bytes);
    let cnonce = hex(&cnonce_bytes);
    let nc = format!("{nc:08x}");
    let mut ha1 = hash(&alg_up, &format!("{user}:{realm}:{pass}"));
    if alg_up.ends_with("-SESS") {
        ha1 = hash(&alg_up, &format!("{ha1}:{nonce}:{cnonce}"));
    }
    let ha2 = hash(&alg_up, &format!("{method}:{uri}"));
    let response = match qop {
        Some(true) => hash(&alg_up, &format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")),
        _ => hash(&alg_up, &format!("{ha1}:{nonce}:{ha2}")),
    };
    let mut v = format!("Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\"");
    if qop == Some(true) {
        v.push_str(&format!(", cnonce=\"{cnonce}\", nc={nc}, qop=auth"));
    }
    v.push_str(&format!(", response=\"{response}\""));
    if let Some(o) = opaque {
        v.push_str(&format!(", opaque=\"{o}\""));
    }
    if get("algorithm").is_some() {
        v.push_str(&format!(", algorithm={alg}"));
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_digest_before_basic_within_the_mask() {
        let offered = ["Basic realm=\"r\"", "Digest realm=\"r\", nonce=\"n\", qop=\"auth\""];
        let any = 0xffff_ffef;
        assert!(answer(&offered, any, "u", "p", "GET", "/").unwrap().starts_with("Digest username=\"u\""));
        assert_eq!(answer(&offered, BASIC, "u", "p", "GET", "/").as_deref(), Some("Basic dTpw"));
        assert!(answer(&offered, DIGEST_IE, "u", "p", "GET", "/").unwrap().starts_with("Digest "));
        // ANYSAFE (ANY without Basic) with only Basic offered: nothing to answer.
        assert_eq!(answer(&offered[..1], any & !BASIC, "u", "p", "GET", "/"), None);
        assert_eq!(answer(&["NTLM", "Negotiate"], any, "u", "p", "GET", "/"), None);
        assert_eq!(scheme_bit("nEgotiate abc"), NEGOTIATE);
        assert_eq!(scheme_bit("Bearer"), BEARER);
        assert_eq!(scheme_bit("Digestx"), 0);
    }
    #[test]
    fn ntlm_steps_end() {
        let any = 0xffff_ffef;
        assert_eq!(NtlmStep::start(NTLM), NtlmStep::Want);
        assert_eq!(NtlmStep::start(NTLM | (1 << 31)), NtlmStep::Idle, "ONLY makes it a probe");
        assert_eq!(NtlmStep::start(any), NtlmStep::Idle);
        assert!(picks_ntlm(&["NTLM", "Basic x"], any) && !picks_ntlm(&["NTLM", "Digest nonce=1"], any));
        assert!(!picks_ntlm(&["NTLM"], BASIC | DIGEST));
        let mut s = NtlmStep::start(any);
        assert_eq!(s.output("u", "p", false), Ok(None));
        assert_eq!(s.input(&["Basic x"], any), Ok(false));
        assert_eq!(s.input(&["NTLM"], any), Ok(true));
        assert_eq!(s.output("u", "p", false).unwrap().unwrap(), ntlm::type1_header());
        let t2 = "NTLM TlRMTVNTUAACAAAACQAJAK6qqqoGgggAsoHf+8Le8xcAAAAAAAA6AFdPUktHUk9VUA==";
        assert_eq!(s.input(&[t2], any), Ok(true));
        assert!(s.output("u", "p", false).unwrap().unwrap().starts_with("NTLM TlRMTVNTUAADAAAA"));
        assert_eq!(s.clone().input(&["NTLM"], any), Err("NTLM handshake rejected"));
        assert!(s.settle(false) && s == NtlmStep::Done);
        // Asked again on the authenticated connection: one new handshake, then it ends.
        assert_eq!(s.input(&["NTLM"], any), Ok(true));
        assert_eq!(s.output("u", "p", true).unwrap().unwrap(), ntlm::type1_header());
        assert_eq!(s.input(&["NTLM"], any), Err("NTLM handshake failure (internal error)"));
        assert_eq!(s.input(&[t2], any), Ok(false), "given up");
        // Picked but never sent (an h2 request): the 401 is delivered, not retried.
        let mut w = NtlmStep::start(NTLM);
        assert_eq!(w.input(&["NTLM"], NTLM), Ok(false));
        // Already authenticated: no header.
        assert_eq!(w.output("u", "p", true), Ok(None));
        assert_eq!(w, NtlmStep::Done);
    }

    #[test]
    fn rfc2617_example_without_qop() {
        // RFC 2069-style response (no qop) is deterministic.
        let v = digest_response(
            "Digest realm=\"testrealm@host.com\", nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
        )
        .unwrap();
        assert!(v.contains("response=\"670fd8c2df070c60b045671b8b24ff02\""), "{v}");
        assert!(v.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn kept_digest_counts_up_for_its_own_server_and_credentials() {
        let ch = "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"";
        let offered = ["Basic realm=\"r\"", ch];
        assert_eq!(digest_challenge(&offered, 0xffff_ffef), Some(ch));
        assert_eq!(digest_challenge(&offered, BASIC), None);
        let mut slot = None;
        let key = digest_key("Host", 80, "u", "p");
        assert_eq!(KeptDigest::answer(&mut slot, &key, "u", "p", "GET", "/"), None);
        KeptDigest::keep(&mut slot, key.clone(), ch);
        let second = KeptDigest::answer(&mut slot, &digest_key("host", 80, "u", "p"), "u", "p", "GET", "/").unwrap();
        assert!(second.contains("nc=00000002") && second.contains("uri=\"/\""), "{second}");
        let third = KeptDigest::answer(&mut slot, &key, "u", "p", "GET", "/x").unwrap();
        assert!(third.contains("nc=00000003"), "{third}");
        // Another port or password: nothing kept for it.
        assert_eq!(KeptDigest::answer(&mut slot, &digest_key("host", 81, "u", "p"), "u", "p", "GET", "/"), None);
        assert_eq!(KeptDigest::answer(&mut slot, &digest_key("host", 80, "u", "q"), "u", "q", "GET", "/"), None);
    }
}
