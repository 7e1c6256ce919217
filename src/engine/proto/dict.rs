//! DICT (RFC 2229) as libcurl speaks it: one request built from the URL's path, sent with a
//! CLIENT line and QUIT, and the server's whole answer handed on unparsed.
//!
//! | path                                    | sent                         |
//! |-----------------------------------------|------------------------------|
//! | /d:word[:db], /define:…, /lookup:…      | DEFINE db word (db "!")      |
//! | /m:word[:db[:strategy]], /match:…, /find:… | MATCH db strategy word (".") |
//! | anything else                           | the path, ':' read as ' '    |

/// The CLIENT line: libcurl names itself and its version (the one this project emulates).
pub const CLIENT: &[u8] = b"CLIENT libcurl 8.23.0\r\n";

const MATCH: [&[u8]; 3] = [b"/match:", b"/m:", b"/find:"];
const DEFINE: [&[u8]; 3] = [b"/define:", b"/d:", b"/lookup:"];

fn starts_with_any(path: &[u8], prefixes: &[&[u8]]) -> bool {
    prefixes.iter().any(|p| path.len() >= p.len() && path[..p.len()].eq_ignore_ascii_case(p))
}

/// A word as DICT wants it: blanks, controls, quotes and backslashes escaped with a backslash.
fn escape_word(w: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(w.len() + 4);
    for &c in w {
        if c <= 32 || c == 127 || c == b'\'' || c == b'"' || c == b'\\' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

/// The request for a decoded URL path, and whether the lookup word was missing (libcurl then
/// looks up "default" and says so).
pub fn request(path: &[u8]) -> (Vec<u8>, bool) {
    let mut out = CLIENT.to_vec();
    let is_match = starts_with_any(path, &MATCH);
    if is_match || starts_with_any(path, &DEFINE) {
        // The fields after the first ':': word, database, strategy (anything further is ignored).
        let rest = path.iter().position(|&b| b == b':').map_or(&path[path.len()..], |i| &path[i + 1..]);
        let mut f = rest.split(|&b| b == b':');
        let word = f.next().unwrap_or_default();
        let db = f.next().filter(|d| !d.is_empty()).unwrap_or(b"!");
        let strategy = f.next().filter(|s| !s.is_empty()).unwrap_or(b".");
        let missing = word.is_empty();
        let word = escape_word(if missing { b"default" } else { word });
        if is_match {
            out.extend_from_slice(b"MATCH ");
            out.extend_from_slice(db);
            out.push(b' ');
            out.extend_from_slice(strategy);
        } else {
            out.extend_from_slice(b"DEFINE ");
            out.extend_from_slice(db);
        }
        out.push(b' ');
        out.extend_from_slice(&word);
        out.extend_from_slice(b"\r\nQUIT\r\n");
        return (out, missing);
    }
    let raw = path.strip_prefix(b"/").unwrap_or(path);
    out.extend(raw.iter().map(|&b| if b == b':' { b' ' } else { b }));
    out.extend_from_slice(b"\r\nQUIT\r\n");
    (out, false)
}

#[cfg(test)]
mod tests {
    use super::request;

    fn sent(p: &str) -> String {
        let (r, _) = request(p.as_bytes());
        String::from_utf8(r[super::CLIENT.len()..].to_vec()).unwrap()
    }

    #[test]
    fn paths_become_libcurls_commands() {
        assert_eq!(sent("/d:apple"), "DEFINE ! apple\r\nQUIT\r\n");
        assert_eq!(sent("/LOOKUP:apple:fruits:x"), "DEFINE fruits apple\r\nQUIT\r\n");
        assert_eq!(sent("/m:ap"), "MATCH ! . ap\r\nQUIT\r\n");
        assert_eq!(sent("/find:ap:fruits:prefix:9"), "MATCH fruits prefix ap\r\nQUIT\r\n");
        assert_eq!(sent("/SHOW:DB"), "SHOW DB\r\nQUIT\r\n");
        assert_eq!(sent("/"), "\r\nQUIT\r\n");
        assert_eq!(sent("/d:a b\"\\'"), "DEFINE ! a\\ b\\\"\\\\\\'\r\nQUIT\r\n");
        assert!(request(b"/m:").1);
        assert_eq!(sent("/m:"), "MATCH ! . default\r\nQUIT\r\n");
    }
}
