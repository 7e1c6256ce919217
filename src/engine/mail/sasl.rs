//! SASL for the mail protocols: choosing a mechanism from the server's list as libcurl does, and
//! the messages of each one built here (base64 on the wire).
//!
//! libcurl's order of preference: EXTERNAL (no password), DIGEST-MD5, CRAM-MD5, NTLM,
//! OAUTHBEARER and XOAUTH2 (with XOAUTH2_BEARER), PLAIN, LOGIN. NTLM, GSSAPI and SCRAM are not
//! built here (libcurl's OpenSSL build lists no GSASL either): a server offering them gets the
//! next one this list has.

use base64::Engine as _;
use hmac::{Hmac, Mac};

pub const LOGIN: u32 = 1 << 0;
pub const PLAIN: u32 = 1 << 1;
pub const CRAM_MD5: u32 = 1 << 2;
pub const DIGEST_MD5: u32 = 1 << 3;
pub const GSSAPI: u32 = 1 << 4;
pub const EXTERNAL: u32 = 1 << 5;
pub const NTLM: u32 = 1 << 6;
pub const XOAUTH2: u32 = 1 << 7;
pub const OAUTHBEARER: u32 = 1 << 8;
pub const SCRAM_SHA_1: u32 = 1 << 9;
pub const SCRAM_SHA_256: u32 = 1 << 10;
pub const ALL: u32 = !0;

const NAMES: [(&str, u32); 11] = [
    ("LOGIN", LOGIN),
    ("PLAIN", PLAIN),
    ("CRAM-MD5", CRAM_MD5),
    ("DIGEST-MD5", DIGEST_MD5),
    ("GSSAPI", GSSAPI),
    ("EXTERNAL", EXTERNAL),
    ("NTLM", NTLM),
    ("XOAUTH2", XOAUTH2),
    ("OAUTHBEARER", OAUTHBEARER),
    ("SCRAM-SHA-1", SCRAM_SHA_1),
    ("SCRAM-SHA-256", SCRAM_SHA_256),
];

/// The bit of a mechanism name (as in LOGIN_OPTIONS "AUTH=" or a server's list).
pub fn mech_bit(name: &str) -> Option<u32> {
    NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, b)| *b)
}

/// The mechanisms in a space-separated list from a server.
pub fn mechs_in(list: &str) -> u32 {
    list.split_ascii_whitespace().filter_map(mech_bit).fold(0, |a, b| a | b)
}

/// The mechanism run: the first of libcurl's preference order that the server offers, the login
/// options allow, this build has and the credentials suit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    External,
    DigestMd5,
    CramMd5,
    OAuthBearer,
    XOAuth2,
    Plain,
    Login,
}

impl Mech {
    pub fn name(self) -> &'static str {
        match self {
            Mech::External => "EXTERNAL",
            Mech::DigestMd5 => "DIGEST-MD5",
            Mech::CramMd5 => "CRAM-MD5",
            Mech::OAuthBearer => "OAUTHBEARER",
            Mech::XOAuth2 => "XOAUTH2",
            Mech::Plain => "PLAIN",
            Mech::Login => "LOGIN",
        }
    }
}

pub struct Creds<'a> {
    pub user: &'a str,
    pub password: &'a str,
    pub authzid: &'a str,
    pub bearer: Option<&'a str>,
    pub host: &'a str,
    pub port: u16,
    /// The service DIGEST-MD5's digest-uri names: "smtp", "imap" or "pop".
    pub service: &'a str,
}

pub fn choose(offered: u32, allowed: u32, c: &Creds<'_>) -> Option<Mech> {
    let ok = |b: u32| offered & allowed & b != 0;
    if ok(EXTERNAL) && c.password.is_empty() {
        Some(Mech::External)
    } else if ok(DIGEST_MD5) {
        Some(Mech::DigestMd5)
    } else if ok(CRAM_MD5) {
        Some(Mech::CramMd5)
    } else if c.bearer.is_some() && ok(OAUTHBEARER) {
        Some(Mech::OAuthBearer)
    } else if c.bearer.is_some() && ok(XOAUTH2) {
        Some(Mech::XOAuth2)
    } else if ok(PLAIN) {
        Some(Mech::Plain)
    } else if ok(LOGIN) {
        Some(Mech::Login)
    } else {
        None
    }
}

fn b64(data: &[u8]) -> String {
    if data.is_empty() {
        // An empty message is sent as "=" (RFC 4954), as libcurl does.
        return "=".to_string();
    }
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// The message that goes with the AUTH command when the mechanism has one (SASL_IR).
pub fn initial(m: Mech, c: &Creds<'_>) -> Option<String> {
    Some(match m {
        Mech::External => b64(c.user.as_bytes()),
        Mech::Plain => b64(format!("{}\0{}\0{}", c.authzid, c.user, c.password).as_bytes()),
        Mech::Login => b64(c.user.as_bytes()),
        Mech::XOAuth2 => b64(format!("user={}\x01auth=Bearer {}\x01\x01", c.user, c.bearer.unwrap_or("")).as_bytes()),
        Mech::OAuthBearer => b64(oauthbearer(c).as_bytes()),
        Mech::CramMd5 | Mech::DigestMd5 => return None,
    })
}

fn oauthbearer(c: &Creds<'_>) -> String {
    format!("n,a={},\x01host={}\x01port={}\x01auth=Bearer {}\x01\x01", c.user, c.host, c.port, c.bearer.unwrap_or(""))
}

/// A challenge that is not base64 (libcurl ends the login with BAD_CONTENT_ENCODING).
#[derive(Debug, PartialEq, Eq)]
pub struct BadChallenge;

/// The answer to the server's `step`-th challenge (0: the first), without an initial response
/// sent; None: the mechanism has nothing more to say (the server should have finished).
pub fn respond(m: Mech, step: usize, challenge: &str, c: &Creds<'_>) -> Result<Option<String>, BadChallenge> {
    Ok(match (m, step) {
        (Mech::Login, 0) => Some(b64(c.user.as_bytes())),
        (Mech::Login, 1) => Some(b64(c.password.as_bytes())),
        (Mech::CramMd5, 0) => {
            let ch = decode(challenge)?;
            let mut mac = Hmac::<md5::Md5>::new_from_slice(c.password.as_bytes()).map_err(|_| BadChallenge)?;
            mac.update(&ch);
            let digest = hex(&mac.finalize().into_bytes());
            Some(b64(format!("{} {digest}", c.user).as_bytes()))
        }
        (Mech::DigestMd5, 0) => {
            let ch = decode(challenge)?;
            let mut cnonce = [0u8; 16];
            ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut cnonce).map_err(|_| BadChallenge)?;
            Some(b64(digest_md5(&String::from_utf8_lossy(&ch), &hex(&cnonce), c)?.as_bytes()))
        }
        // The server's rspauth is taken without checking it, and answered empty, as libcurl does.
        (Mech::DigestMd5, 1) => Some(String::new()),
        (Mech::External | Mech::Plain | Mech::XOAuth2 | Mech::OAuthBearer, 0) => initial(m, c),
        // An OAuth error challenge is answered with ^A, after which the server fails the login.
        (Mech::XOAuth2 | Mech::OAuthBearer, 1) => Some(b64(b"\x01")),
        _ => None,
    })
}

fn decode(challenge: &str) -> Result<Vec<u8>, BadChallenge> {
    let ch = challenge.trim();
    if ch.is_empty() || ch == "=" {
        return Ok(Vec::new());
    }
    base64::engine::general_purpose::STANDARD.decode(ch).map_err(|_| BadChallenge)
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key's value in a DIGEST-MD5 challenge (`key="value"` or `key=value`, comma-separated).
fn challenge_value<'a>(ch: &'a str, key: &str) -> Option<&'a str> {
    let mut rest = ch;
    while !rest.is_empty() {
        let (k, after) = rest.split_once('=')?;
        let (v, next) = match after.strip_prefix('"') {
            Some(q) => {
                let end = q.find('"')?;
                (&q[..end], q[end + 1..].trim_start_matches([',', ' ']))
            }
            None => match after.split_once(',') {
                Some((v, n)) => (v, n.trim_start()),
                None => (after, ""),
            },
        };
        if k.trim().eq_ignore_ascii_case(key) {
            return Some(v);
        }
        rest = next;
    }
    None
}

/// The DIGEST-MD5 response (RFC 2831, qop "auth", algorithm md5-sess) to a decoded challenge; a
/// challenge without a nonce, or that offers neither md5-sess nor qop auth, is refused as libcurl
/// refuses it.
fn digest_md5(ch: &str, cnonce: &str, c: &Creds<'_>) -> Result<String, BadChallenge> {
    use md5::{Digest, Md5};
    let nonce = challenge_value(ch, "nonce").ok_or(BadChallenge)?;
    let realm = challenge_value(ch, "realm").unwrap_or("");
    let md5_sess = challenge_value(ch, "algorithm") == Some("md5-sess");
    let qop_auth = challenge_value(ch, "qop").is_some_and(|q| q.split(',').any(|o| o.trim() == "auth"));
    if !md5_sess || !qop_auth {
        return Err(BadChallenge);
    }
    let uri = format!("{}/{}", c.service, c.host);
    let mut a1 = Md5::digest(format!("{}:{realm}:{}", c.user, c.password)).to_vec();
    a1.extend_from_slice(format!(":{nonce}:{cnonce}").as_bytes());
    let ha1 = hex(&Md5::digest(&a1));
    let ha2 = hex(&Md5::digest(format!("AUTHENTICATE:{uri}")));
    let response = hex(&Md5::digest(format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")));
    Ok(format!(
        "username=\"{}\",realm=\"{realm}\",nonce=\"{nonce}\",cnonce=\"{cnonce}\",nc=\"00000001\",\
         digest-uri=\"{uri}\",response={response},qop=auth",
        c.user
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Creds<'static> {
        Creds { user: "user", password: "secret", authzid: "", bearer: None, host: "h", port: 25, service: "imap" }
    }

    #[test]
    fn preference_follows_libcurl() {
        let c = creds();
        assert_eq!(choose(mechs_in("LOGIN PLAIN"), ALL, &c), Some(Mech::Plain));
        assert_eq!(choose(mechs_in("LOGIN PLAIN CRAM-MD5"), ALL, &c), Some(Mech::CramMd5));
        assert_eq!(choose(mechs_in("LOGIN PLAIN"), LOGIN, &c), Some(Mech::Login));
        assert_eq!(choose(mechs_in("GSSAPI"), ALL, &c), None);
        assert_eq!(choose(mechs_in("CRAM-MD5 DIGEST-MD5 PLAIN"), ALL, &c), Some(Mech::DigestMd5));
        assert_eq!(choose(mechs_in("CRAM-MD5 DIGEST-MD5"), CRAM_MD5, &c), Some(Mech::CramMd5));
        assert_eq!(choose(mechs_in("XOAUTH2 PLAIN"), ALL, &c), Some(Mech::Plain));
        let b = Creds { bearer: Some("tok"), ..creds() };
        assert_eq!(choose(mechs_in("XOAUTH2 PLAIN"), ALL, &b), Some(Mech::XOAuth2));
    }

    #[test]
    fn messages() {
        let c = creds();
        assert_eq!(initial(Mech::Plain, &c).unwrap(), "AHVzZXIAc2VjcmV0");
        assert_eq!(respond(Mech::Login, 0, "VXNlcm5hbWU6", &c).unwrap().unwrap(), "dXNlcg==");
        assert_eq!(respond(Mech::Login, 1, "UGFzc3dvcmQ6", &c).unwrap().unwrap(), "c2VjcmV0");
        assert_eq!(initial(Mech::CramMd5, &c), None);
        // RFC 2195's example.
        let t = Creds { user: "tim", password: "tanstaaftanstaaf", ..creds() };
        let ch = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
        assert_eq!(
            respond(Mech::CramMd5, 0, ch, &t).unwrap().unwrap(),
            "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"
        );
        assert_eq!(respond(Mech::CramMd5, 0, "!!", &t), Err(BadChallenge));
    }

    #[test]
    fn digest_md5_response() {
        // What libcurl answered dovecot (the cnonce was its own).
        let c = Creds { host: "127.0.0.1", ..creds() };
        let ch = "realm=\"\",nonce=\"nRWlqGzti2PQ0nYa+7/XbQ==\",qop=\"auth\",charset=\"utf-8\",algorithm=\"md5-sess\"";
        assert_eq!(
            digest_md5(ch, "dd8bbd2230b35dd146fa4b298f32deb6", &c).unwrap(),
            "username=\"user\",realm=\"\",nonce=\"nRWlqGzti2PQ0nYa+7/XbQ==\",\
             cnonce=\"dd8bbd2230b35dd146fa4b298f32deb6\",nc=\"00000001\",digest-uri=\"imap/127.0.0.1\",\
             response=b58fb9bc46204ea7e0ebfa32ec5be98c,qop=auth"
        );
        assert_eq!(challenge_value("a=1, b=\"x,y\",c=z", "c"), Some("z"));
        assert_eq!(digest_md5("nonce=\"n\",qop=\"auth\",algorithm=md5", "x", &c), Err(BadChallenge));
        assert_eq!(digest_md5("nonce=\"n\",qop=\"auth-int\",algorithm=md5-sess", "x", &c), Err(BadChallenge));
        assert_eq!(digest_md5("qop=\"auth\",algorithm=md5-sess", "x", &c), Err(BadChallenge));
        assert_eq!(respond(Mech::DigestMd5, 1, "cnNwYXV0aD0x", &c), Ok(Some(String::new())));
    }
}
