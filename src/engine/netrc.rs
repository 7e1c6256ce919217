//! .netrc files (NETRC / NETRC_FILE): the login and password for a host, read as libcurl reads
//! them. Tokens are separated by white space; a token may be quoted ("a b", with \" \\ \n \r \t
//! escapes); `#` starts a comment to the end of the line; `macdef` skips its macro up to the next
//! blank line. `machine NAME` (matched case-insensitively) or `default` opens an entry that
//! `login`, `password` (and ignored `account`) fill; the next `machine`/`default` closes it.
//! The first entry for the host wins, or with a login asked for, the first with that login.

use std::path::{Path, PathBuf};

/// What went wrong reading the file (libcurl reports both as CURLE_READ_ERROR with NETRC_REQUIRED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetrcError {
    NoFile,
    Syntax,
}

impl NetrcError {
    /// libcurl's message for the failure.
    pub fn message(self) -> &'static str {
        match self {
            NetrcError::NoFile => ".netrc error: no such file",
            NetrcError::Syntax => ".netrc error: syntax error",
        }
    }
}

/// The credentials an entry gave: either part may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    pub login: Option<String>,
    pub password: Option<String>,
}

/// The file libcurl reads when NETRC_FILE is not set: $HOME/.netrc (on Windows also
/// %USERPROFILE%, and _netrc when .netrc is missing).
pub fn default_path() -> Option<PathBuf> {
    let home =
        std::env::var_os("HOME").or_else(|| if cfg!(windows) { std::env::var_os("USERPROFILE") } else { None })?;
    let p = Path::new(&home).join(".netrc");
    if cfg!(windows) && !p.exists() {
        return Some(Path::new(&home).join("_netrc"));
    }
    Some(p)
}

/// Reads `path` and finds the entry for `host` (with `login`, when one is asked for).
pub fn lookup_file(path: &Path, host: &str, login: Option<&str>) -> Result<Option<Entry>, NetrcError> {
    let text = std::fs::read(path).map_err(|_| NetrcError::NoFile)?;
    lookup(&text, host, login)
}

/// Finds the entry for `host` in the text of a .netrc file.
pub fn lookup(text: &[u8], host: &str, login: Option<&str>) -> Result<Option<Entry>, NetrcError> {
    let mut toks = Tokens { s: text, i: 0 };
    // The entry being read: Some while inside a machine that matches the host.
    let mut current: Option<Entry> = None;
    let done = |e: &Entry| match login {
        Some(want) => e.login.as_deref() == Some(want),
        None => true,
    };
    while let Some(tok) = toks.next()? {
        match tok.as_slice() {
            b"machine" | b"default" => {
                if let Some(e) = current.take().filter(done) {
                    return Ok(Some(e));
                }
                let matches = if tok == b"default" {
                    true
                } else {
                    match toks.next()? {
                        Some(name) => name.eq_ignore_ascii_case(host.as_bytes()),
                        None => false,
                    }
                };
                if matches {
                    current = Some(Entry::default());
                }
            }
            b"macdef" => {
                toks.skip_macro();
            }
            b"login" | b"password" | b"account" => {
                let value = toks.next()?;
                if let (Some(e), Some(v)) = (current.as_mut(), value) {
                    let v = crate::engine::easy::text_from_bytes(v);
                    match tok.as_slice() {
                        b"login" => e.login = Some(v),
                        b"password" => e.password = Some(v),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(current.filter(|e| done(e) && (e.login.is_some() || e.password.is_some())))
}

struct Tokens<'a> {
    s: &'a [u8],
    i: usize,
}

impl Tokens<'_> {
    /// The next token, unquoted; None at the end of the input.
    fn next(&mut self) -> Result<Option<Vec<u8>>, NetrcError> {
        loop {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            match self.s.get(self.i) {
                None => return Ok(None),
                Some(b'#') => {
                    while self.i < self.s.len() && self.s[self.i] != b'\n' {
                        self.i += 1;
                    }
                }
                Some(b'"') => {
                    self.i += 1;
                    let mut out = Vec::new();
                    loop {
                        match self.s.get(self.i) {
                            None => return Err(NetrcError::Syntax),
                            Some(b'"') => {
                                self.i += 1;
                                return Ok(Some(out));
                            }
                            Some(b'\\') => {
                                let c = *self.s.get(self.i + 1).ok_or(NetrcError::Syntax)?;
                                out.push(match c {
                                    b'n' => b'\n',
                                    b'r' => b'\r',
                                    b't' => b'\t',
                                    c => c,
                                });
                                self.i += 2;
                            }
                            Some(&c) => {
                                out.push(c);
                                self.i += 1;
                            }
                        }
                    }
                }
                Some(_) => {
                    let start = self.i;
                    while self.i < self.s.len() && !self.s[self.i].is_ascii_whitespace() {
                        self.i += 1;
                    }
                    return Ok(Some(self.s[start..self.i].to_vec()));
                }
            }
        }
    }

    /// Skips a macro definition: the rest of its line and everything up to an empty line.
    fn skip_macro(&mut self) {
        while self.i < self.s.len() {
            if self.s[self.i] == b'\n' && self.s.get(self.i + 1) == Some(&b'\n') {
                self.i += 2;
                return;
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(l: Option<&str>, p: Option<&str>) -> Option<Entry> {
        Some(Entry { login: l.map(Into::into), password: p.map(Into::into) })
    }

    #[test]
    fn first_entry_for_the_host_or_for_the_login() {
        let f = b"machine h login alice password apw\nmachine h login bob password bpw\ndefault login d password dp\n";
        assert_eq!(lookup(f, "h", None), Ok(e(Some("alice"), Some("apw"))));
        assert_eq!(lookup(f, "H", Some("bob")), Ok(e(Some("bob"), Some("bpw"))));
        assert_eq!(lookup(f, "other", None), Ok(e(Some("d"), Some("dp"))));
        assert_eq!(lookup(f, "h", Some("carl")), Ok(None));
        assert_eq!(lookup(b"machine x login a password b", "h", None), Ok(None));
    }

    #[test]
    fn default_applies_where_it_stands() {
        let f = b"machine a login a password a\ndefault login d password dp\nmachine late login l password l\n";
        assert_eq!(lookup(f, "late", None), Ok(e(Some("d"), Some("dp"))));
    }

    #[test]
    fn quoting_comments_and_macros() {
        let f = b"# comment\nmachine h # trailing\n login \"q u\" password \"p\\\"w\\n\\t\\\\\\q\"\n";
        assert_eq!(lookup(f, "h", None), Ok(e(Some("q u"), Some("p\"w\n\t\\q"))));
        let f = b"macdef init\nmachine h login mac password mac\n\nmachine h login after password after\n";
        assert_eq!(lookup(f, "h", None), Ok(e(Some("after"), Some("after"))));
        assert_eq!(lookup(b"machine h login \"open password x", "h", None), Err(NetrcError::Syntax));
    }

    #[test]
    fn partial_entries_and_repeats() {
        assert_eq!(lookup(b"machine h login only\n", "h", None), Ok(e(Some("only"), None)));
        assert_eq!(lookup(b"machine h password pw\n", "h", None), Ok(e(None, Some("pw"))));
        assert_eq!(lookup(b"machine h password pp login ll account x\n", "h", None), Ok(e(Some("ll"), Some("pp"))));
        assert_eq!(lookup(b"machine h login a password b login c\n", "h", None), Ok(e(Some("c"), Some("b"))));
        assert_eq!(lookup(b"machine h login", "h", None), Ok(None));
        assert_eq!(
            lookup(b"machine h login a password b extra\nmachine g login x password y", "g", None),
            Ok(e(Some("x"), Some("y")))
        );
    }

    #[test]
    fn missing_file() {
        assert_eq!(lookup_file(Path::new("/nonexistent/pycurl-rs/netrc"), "h", None), Err(NetrcError::NoFile));
    }
}
