//! Mail without sockets: what SMTP, POP3 and IMAP share (the options, login options, the reply
//! line reader, SASL in `sasl`) and each protocol's commands and replies in its own file.
//! `transfer::mail` drives them over the engine's connections.
//!
//! ```text
//!  SMTP  220 ─► EHLO (─► HELO) ─► [STARTTLS ─► TLS ─► EHLO] ─► [AUTH …] ─► MAIL FROM ─► RCPT TO …
//!          ─► DATA ─► body (dot-stuffed) ─► "." ─► QUIT          (no upload: VRFY / EXPN / HELP)
//!  POP3  +OK ─► CAPA ─► [STLS ─► TLS ─► CAPA] ─► AUTH … | APOP | USER/PASS ─► LIST / RETR n ─► QUIT
//!  IMAP  * OK ─► CAPABILITY ─► [STARTTLS ─► TLS ─► CAPABILITY] ─► AUTHENTICATE … | LOGIN
//!          ─► LIST | SELECT ─► FETCH / SEARCH / custom | APPEND ─► LOGOUT
//! ```

pub mod imap;
pub mod pop3;
pub mod sasl;
pub mod smtp;

/// The mail options (a group most handles never set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MailOptions {
    /// MAIL_FROM: the envelope sender (None: "<>").
    pub from: Option<String>,
    /// MAIL_RCPT: the recipients, or the arguments of VRFY / EXPN without an upload.
    pub rcpt: Vec<String>,
    /// MAIL_AUTH: the AUTH= parameter of MAIL FROM once logged in ("" sends "<>").
    pub auth: Option<String>,
    /// LOGIN_OPTIONS: "AUTH=mech" chooses the login mechanism.
    pub login_options: Option<String>,
    /// SASL_IR: the first SASL message goes with the AUTH command.
    pub sasl_ir: bool,
    /// MAIL_RCPT_ALLOWFAILS: a refused recipient does not end the transfer while another is taken.
    pub rcpt_allowfails: bool,
    /// SASL_AUTHZID: the identity to act as (PLAIN's first field).
    pub authzid: Option<String>,
    /// SERVICE_NAME: the service DIGEST-MD5 names in its digest-uri (else the protocol's own).
    pub service_name: Option<String>,
}

impl Default for MailOptions {
    fn default() -> Self {
        MAIL_DEFAULTS.clone()
    }
}

crate::rare_defaults!(MailOptions = MAIL_DEFAULTS);

const MAIL_DEFAULTS: MailOptions = MailOptions {
    from: None,
    rcpt: Vec::new(),
    auth: None,
    login_options: None,
    sasl_ir: false,
    rcpt_allowfails: false,
    authzid: None,
    service_name: None,
};

/// Which mail protocol a URL scheme names, and whether its TLS is implicit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    Smtp,
    Pop3,
    Imap,
}

pub fn proto_of(scheme: &str) -> Option<(Proto, bool)> {
    Some(match scheme {
        "smtp" => (Proto::Smtp, false),
        "smtps" => (Proto::Smtp, true),
        "pop3" => (Proto::Pop3, false),
        "pop3s" => (Proto::Pop3, true),
        "imap" => (Proto::Imap, false),
        "imaps" => (Proto::Imap, true),
        _ => return None,
    })
}

/// What the login options ask for: the SASL mechanisms allowed, and whether the protocol's own
/// plain login (USER/PASS, LOGIN) or APOP may be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginPref {
    pub mechs: u32,
    pub clear: bool,
    pub apop: bool,
}

impl Default for LoginPref {
    fn default() -> Self {
        LoginPref { mechs: sasl::ALL, clear: true, apop: true }
    }
}

/// A login option libcurl refuses (reported as URL_MALFORMAT).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub struct BadLoginOptions;

/// Parses ";"-separated "KEY=value" login options: "AUTH=*" any, "AUTH=<mech>" one SASL
/// mechanism, "AUTH=+LOGIN" (IMAP) or "AUTH=+APOP" (POP3) the protocol's own login only.
pub fn parse_login_options(opts: &str, proto: Proto) -> Result<LoginPref, BadLoginOptions> {
    let mut pref = LoginPref::default();
    let mut first_auth = true;
    for part in opts.split(';').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or(BadLoginOptions)?;
        if !k.eq_ignore_ascii_case("AUTH") {
            return Err(BadLoginOptions);
        }
        if first_auth {
            // The first AUTH= replaces the default "anything"; more add to it.
            pref = LoginPref { mechs: 0, clear: false, apop: false };
            first_auth = false;
        }
        if v == "*" {
            pref = LoginPref::default();
        } else if proto == Proto::Imap && v.eq_ignore_ascii_case("+LOGIN") {
            pref.clear = true;
        } else if proto == Proto::Pop3 && v.eq_ignore_ascii_case("+APOP") {
            pref.apop = true;
        } else {
            pref.mechs |= sasl::mech_bit(v).ok_or(BadLoginOptions)?;
        }
    }
    Ok(pref)
}

/// Splits a URL's user part "name;AUTH=x" into the name and its login options.
pub fn split_url_user(user: &str) -> (&str, Option<&str>) {
    match user.split_once(';') {
        Some((u, o)) => (u, Some(o)),
        None => (user, None),
    }
}

/// What a mail connection remembers between the transfers it serves (libcurl keeps mail
/// connections in its pool: the next transfer skips the greeting, TLS and login).
#[derive(Clone, Debug)]
pub struct ConnState {
    pub proto: Proto,
    /// TLS is over the connection (implicit, or after STARTTLS / STLS).
    pub tls: bool,
    /// IMAP's tag letter (from the connection's number) and the commands tagged so far.
    pub tag_letter: char,
    pub cmd_id: u32,
    /// IMAP: the mailbox selected last and its UIDVALIDITY (no SELECT when the next URL names it).
    pub mailbox: Option<String>,
    pub uidvalidity: Option<String>,
    /// SMTP: what EHLO announced, and whether AUTH ran (MAIL FROM's AUTH= parameter needs it).
    pub smtp_caps: smtp::Caps,
    pub authed: bool,
}

impl ConnState {
    pub fn new(proto: Proto, conn_id: i64) -> ConnState {
        ConnState {
            proto,
            tls: false,
            tag_letter: (b'A' + conn_id.rem_euclid(26) as u8) as char,
            cmd_id: 0,
            mailbox: None,
            uidvalidity: None,
            smtp_caps: smtp::Caps::default(),
            authed: false,
        }
    }

    /// The next IMAP tag.
    pub fn tag(&mut self) -> String {
        self.cmd_id += 1;
        format!("{}{:03}", self.tag_letter, self.cmd_id)
    }

    /// The goodbye said when the connection closes: QUIT, or LOGOUT with the next tag.
    pub fn goodbye(&mut self) -> String {
        match self.proto {
            Proto::Smtp | Proto::Pop3 => "QUIT\r\n".to_string(),
            Proto::Imap => format!("{} LOGOUT\r\n", self.tag()),
        }
    }
}

/// Lines split from bytes read anywhere (each with its line end), plus raw reads (IMAP literals).
#[derive(Default)]
pub struct LineBuf {
    buf: Vec<u8>,
}

impl LineBuf {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next complete line, LF included.
    pub fn next_line(&mut self) -> Option<Vec<u8>> {
        let i = self.buf.iter().position(|&b| b == b'\n')?;
        Some(self.buf.drain(..=i).collect())
    }

    /// Up to `max` buffered bytes, taken out.
    pub fn take(&mut self, max: usize) -> Vec<u8> {
        let n = max.min(self.buf.len());
        self.buf.drain(..n).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes buffered (a reply line still waiting for its end, when no line is complete).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Bytes read past the last reply, which a STARTTLS must not leave behind in clear text.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

/// This machine's name, which SMTP's EHLO uses when the URL names no domain (as libcurl does).
pub fn local_hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY-free: libc writes at most buf.len() bytes into our buffer.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if end > 0 {
                return String::from_utf8_lossy(&buf[..end]).into_owned();
            }
        }
    }
    "localhost".to_string()
}

/// A line's text without its line end.
pub fn trim_eol(l: &[u8]) -> &[u8] {
    let mut e = l.len();
    while e > 0 && (l[e - 1] == b'\n' || l[e - 1] == b'\r') {
        e -= 1;
    }
    &l[..e]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_options() {
        assert_eq!(parse_login_options("", Proto::Smtp), Ok(LoginPref::default()));
        let p = parse_login_options("AUTH=PLAIN", Proto::Smtp).unwrap();
        assert_eq!((p.mechs, p.clear), (sasl::PLAIN, false));
        let p = parse_login_options("AUTH=+LOGIN", Proto::Imap).unwrap();
        assert_eq!((p.mechs, p.clear), (0, true));
        assert_eq!(parse_login_options("AUTH=*", Proto::Pop3), Ok(LoginPref::default()));
        assert_eq!(parse_login_options("AUTH=FOO", Proto::Smtp), Err(BadLoginOptions));
        assert_eq!(parse_login_options("BAR=FOO", Proto::Smtp), Err(BadLoginOptions));
        assert_eq!(split_url_user("u;AUTH=LOGIN"), ("u", Some("AUTH=LOGIN")));
    }

    #[test]
    fn lines_and_raw_bytes() {
        let mut b = LineBuf::default();
        b.push(b"* 1 FETCH {3}\r\nab");
        assert_eq!(b.next_line().unwrap(), b"* 1 FETCH {3}\r\n");
        assert!(b.next_line().is_none());
        b.push(b"c)\r\n");
        assert_eq!(b.take(3), b"abc");
        assert_eq!(b.next_line().unwrap(), b")\r\n");
        assert_eq!(trim_eol(b"x\r\n"), b"x");
    }

    #[test]
    fn conn_state_tags_and_goodbyes() {
        let mut st = ConnState::new(Proto::Imap, 27);
        assert_eq!(st.tag(), "B001");
        assert_eq!(st.goodbye(), "B002 LOGOUT\r\n");
        assert_eq!(ConnState::new(Proto::Pop3, 0).goodbye(), "QUIT\r\n");
    }
}
