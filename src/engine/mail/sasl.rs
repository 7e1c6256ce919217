//! SASL for the mail protocols: choosing a mechanism from the server's list as libcurl does, and
//! the messages of each one built here (base64 on the wire).
//!
//! libcurl's order of preference: EXTERNAL (no password), DIGEST-MD5, CRAM-MD5, NTLM,
//! OAUTHBEARER and XOAUTH2 (with XOAUTH2_BEARER), PLAIN, LOGIN. DIGEST-MD5, NTLM, GSSAPI and SCRAM
//! are not built here: a server offering them gets the next one this list has.

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
}

pub fn choose(offered: u32, allowed: u32, c: &Creds<'_>) -> Option<Mech> {
    let ok = |b: u32| offered & allowed & b != 0;
    if ok(EXTERNAL) && c.password.is_empty() {
        Some(Mech::External)
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
        Mech::CramMd5 => return None,
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
            let ch = challenge.trim();
            let ch = if ch.is_empty() || ch == "=" {
                Vec::new()
            } else {
                base64::engine::general_purpose::STANDARD.decode(ch).map_err(|_| BadChallenge)?
            };
            let mut mac = Hmac::<md5::Md5>::new_from_slice(c.password.as_bytes()).map_err(|_| BadChallenge)?;
            mac.update(&ch);
            let digest: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
            Some(b64(format!("{} {digest}", c.user).as_bytes()))
        }
        (Mech::External | Mech::Plain | Mech::XOAuth2 | Mech::OAuthBearer, 0) => initial(m, c),
        // An OAuth error challenge is answered with ^A, after which the server fails the login.
        (Mech::XOAuth2 | Mech::OAuthBearer, 1) => Some(b64(b"\x01")),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Creds<'static> {
        Creds { user: "user", password: "secret", authzid: "", bearer: None, host: "h", port: 25 }
    }

    #[test]
    fn preference_follows_libcurl() {
        let c = creds();
        assert_eq!(choose(mechs_in("LOGIN PLAIN"), ALL, &c), Some(Mech::Plain));
        assert_eq!(choose(mechs_in("LOGIN PLAIN CRAM-MD5"), ALL, &c), Some(Mech::CramMd5));
        assert_eq!(choose(mechs_in("LOGIN PLAIN"), LOGIN, &c), Some(Mech::Login));
        assert_eq!(choose(mechs_in("GSSAPI"), ALL, &c), None);
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
}
