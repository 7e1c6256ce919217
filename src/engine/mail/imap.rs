//! IMAP without sockets: tagged and untagged responses, CAPABILITY, atoms as libcurl quotes them,
//! the URL's mailbox and ";UID=" style parameters, and FETCH's literal size.

/// A tagged response's status.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Status {
    Ok,
    Preauth,
    NotOk,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Resp {
    /// "<tag> OK ..." (the command's end).
    Tagged(Status),
    /// "* ..." with what follows the star.
    Untagged(String),
    /// "+ ..." (a continuation).
    More(String),
    Other,
}

pub fn classify(l: &[u8], tag: &str) -> Resp {
    let t = super::trim_eol(l);
    if let Some(rest) = t.strip_prefix(b"* ") {
        return Resp::Untagged(String::from_utf8_lossy(rest).into_owned());
    }
    if t == b"+" || t.starts_with(b"+ ") {
        return Resp::More(String::from_utf8_lossy(t.get(2..).unwrap_or(b"")).into_owned());
    }
    if !tag.is_empty() && t.len() > tag.len() && t.starts_with(tag.as_bytes()) && t[tag.len()] == b' ' {
        let rest = &t[tag.len() + 1..];
        return Resp::Tagged(if rest.starts_with(b"OK") {
            Status::Ok
        } else if rest.starts_with(b"PREAUTH") {
            Status::Preauth
        } else {
            Status::NotOk
        });
    }
    Resp::Other
}

/// An untagged response "<number> WORD ..." or "WORD ..." is a `cmd` answer (case-insensitive).
pub fn matches_cmd(untagged: &str, cmd: &str) -> bool {
    let mut w = untagged.split(' ');
    let mut first = w.next().unwrap_or("");
    if !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) {
        first = w.next().unwrap_or("");
    }
    first.eq_ignore_ascii_case(cmd)
}

/// Custom commands whose untagged answers all count as theirs (libcurl's list).
pub fn custom_takes_any(cmd: &str) -> bool {
    ["SELECT", "EXAMINE", "SEARCH", "EXPUNGE", "LSUB", "UID", "GETQUOTAROOT", "NOOP"]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(cmd))
}

/// What CAPABILITY says the server can do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Caps {
    pub starttls: bool,
    pub login_disabled: bool,
    pub sasl_ir: bool,
    pub mechs: u32,
}

impl Caps {
    /// Reads the words of an untagged "CAPABILITY ..." answer.
    pub fn words(&mut self, untagged: &str) {
        for w in untagged.split_ascii_whitespace().skip(1) {
            if w.eq_ignore_ascii_case("STARTTLS") {
                self.starttls = true;
            } else if w.eq_ignore_ascii_case("LOGINDISABLED") {
                self.login_disabled = true;
            } else if w.eq_ignore_ascii_case("SASL-IR") {
                self.sasl_ir = true;
            } else if w.len() > 5 && w[..5].eq_ignore_ascii_case("AUTH=") {
                self.mechs |= super::sasl::mechs_in(&w[5..]);
            }
        }
    }
}

/// A string as an IMAP atom the way libcurl writes one: as it is unless it holds an
/// atom-special, a quote or a backslash; then quoted (unless `escape_only`) with `\` and `"` escaped.
pub fn atom(s: &str, escape_only: bool) -> String {
    let escapes = s.contains(['\\', '"']);
    let specials = !escape_only && s.contains(['(', ')', '{', ' ', '%', '*', ']']);
    if !escapes && !specials {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 4);
    if !escape_only {
        out.push('"');
    }
    for c in s.chars() {
        if c == '\\' || c == '"' {
            out.push('\\');
        }
        out.push(c);
    }
    if !escape_only {
        out.push('"');
    }
    out
}

/// What an imap:// URL names.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImapUrl {
    pub mailbox: Option<String>,
    pub uidvalidity: Option<String>,
    pub uid: Option<String>,
    pub mailindex: Option<String>,
    pub section: Option<String>,
    pub partial: Option<String>,
    pub query: Option<String>,
}

/// A URL libcurl refuses (URL_MALFORMAT).
#[derive(Debug, PartialEq, Eq)]
pub struct BadUrl;

fn bchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b":@/&=-._~!$'()*+,%".contains(&b)
}

fn decode(s: &str) -> Result<String, BadUrl> {
    let d = crate::engine::url::percent_decode(s);
    if d.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(BadUrl);
    }
    Ok(d)
}

/// Parses the path (and query) of an imap:// URL: "/mailbox[/];NAME=value[/;NAME=value]...[?query]".
pub fn parse_url(path_and_query: &str) -> Result<ImapUrl, BadUrl> {
    let path_and_query = path_and_query.split('#').next().unwrap_or("");
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let p = path.strip_prefix('/').unwrap_or(path).as_bytes();
    let mut u = ImapUrl::default();
    let mut i = 0;
    while i < p.len() && bchar(p[i]) {
        i += 1;
    }
    if i > 0 {
        let end = if p[i - 1] == b'/' { i - 1 } else { i };
        u.mailbox = Some(decode(std::str::from_utf8(&p[..end]).map_err(|_| BadUrl)?)?);
    }
    while i < p.len() && p[i] == b';' {
        let start = i + 1;
        let eq = p[start..].iter().position(|&b| b == b'=').ok_or(BadUrl)? + start;
        let name = decode(std::str::from_utf8(&p[start..eq]).map_err(|_| BadUrl)?)?;
        let mut j = eq + 1;
        while j < p.len() && bchar(p[j]) {
            j += 1;
        }
        let mut value = decode(std::str::from_utf8(&p[eq + 1..j]).map_err(|_| BadUrl)?)?;
        if value.ends_with('/') {
            value.pop();
        }
        let slot = match name.to_ascii_uppercase().as_str() {
            "UIDVALIDITY" => &mut u.uidvalidity,
            "UID" => &mut u.uid,
            "MAILINDEX" => &mut u.mailindex,
            "SECTION" => &mut u.section,
            "PARTIAL" => &mut u.partial,
            _ => return Err(BadUrl),
        };
        if slot.is_none() {
            *slot = Some(value);
        }
        i = j;
    }
    if i < p.len() {
        return Err(BadUrl);
    }
    if u.mailbox.is_some() && u.uid.is_none() && u.mailindex.is_none() {
        u.query = query.filter(|q| !q.is_empty()).map(crate::engine::url::percent_decode);
    }
    Ok(u)
}

/// The size of the literal "{n}" a FETCH answer line ends with.
pub fn literal_size(untagged: &str) -> Option<u64> {
    let open = untagged.rfind('{')?;
    let rest = &untagged[open + 1..];
    let close = rest.find('}')?;
    rest[..close].parse().ok()
}

/// The UIDVALIDITY of an untagged "OK [UIDVALIDITY n]" answer to SELECT.
pub fn uidvalidity(untagged: &str) -> Option<String> {
    let i = untagged.find("[UIDVALIDITY ")?;
    let rest = &untagged[i + 13..];
    let end = rest.find(']')?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses() {
        assert_eq!(classify(b"A001 OK done\r\n", "A001"), Resp::Tagged(Status::Ok));
        assert_eq!(classify(b"A001 NO bad\r\n", "A001"), Resp::Tagged(Status::NotOk));
        assert_eq!(classify(b"A0011 OK\r\n", "A001"), Resp::Other);
        assert_eq!(classify(b"* 1 EXISTS\r\n", "A001"), Resp::Untagged("1 EXISTS".into()));
        assert_eq!(classify(b"+ \r\n", "A001"), Resp::More(String::new()));
        assert!(matches_cmd("1 FETCH (BODY[] {3}", "FETCH"));
        assert!(matches_cmd("LIST (\\HasNoChildren) \"/\" INBOX", "list"));
        assert!(!matches_cmd("1 EXISTS", "FETCH"));
        assert_eq!(literal_size("1 FETCH (BODY[] {42}"), Some(42));
        assert_eq!(uidvalidity("OK [UIDVALIDITY 1234] Ok"), Some("1234".into()));
        let mut c = Caps::default();
        c.words("CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN AUTH=LOGIN");
        assert!(c.sasl_ir && c.starttls && !c.login_disabled);
    }

    #[test]
    fn atoms() {
        assert_eq!(atom("INBOX", false), "INBOX");
        assert_eq!(atom("My Box", false), "\"My Box\"");
        assert_eq!(atom("a\"b", false), "\"a\\\"b\"");
        assert_eq!(atom("a\"b c", true), "a\\\"b c");
    }

    #[test]
    fn urls() {
        let u = parse_url("/INBOX/;UID=3/;SECTION=TEXT").unwrap();
        assert_eq!(
            (u.mailbox.as_deref(), u.uid.as_deref(), u.section.as_deref()),
            (Some("INBOX"), Some("3"), Some("TEXT"))
        );
        let u = parse_url("/INBOX;MAILINDEX=1").unwrap();
        assert_eq!(u.mailindex.as_deref(), Some("1"));
        let u = parse_url("/INBOX?NEW").unwrap();
        assert_eq!(u.query.as_deref(), Some("NEW"));
        assert_eq!(parse_url("/").unwrap(), ImapUrl::default());
        assert_eq!(parse_url("/INBOX;FOO=1"), Err(BadUrl));
        assert_eq!(parse_url("/a%20b").unwrap().mailbox.as_deref(), Some("a b"));
    }
}
