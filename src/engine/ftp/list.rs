//! WILDCARDMATCH without sockets: libcurl's pattern matching (its own fnmatch, not the C
//! library's) and the LIST reply as libcurl reads it (Unix `ls -l` lines and Windows/DOS lines).

/// What a listed entry is (libcurl's CURLFILETYPE_*): only regular files are downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One entry of a LIST reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: Vec<u8>,
    pub kind: Kind,
    /// The size the listing gives: libcurl then sends no SIZE before RETR.
    pub size: Option<u64>,
    /// A symlink's target (after " -> ").
    pub target: Option<Vec<u8>>,
}

/// A LIST reply libcurl cannot read (CURLE_FTP_BAD_FILE_LIST).
#[derive(Debug, PartialEq, Eq)]
pub struct BadList;

/// Reads a whole LIST reply; the first line decides the format (a digit: Windows/DOS).
pub fn parse(data: &[u8]) -> Result<Vec<Entry>, BadList> {
    let mut out = Vec::new();
    let mut dos = None;
    for (i, raw) in data.split(|&b| b == b'\n').enumerate() {
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        let is_dos = *dos.get_or_insert_with(|| line[0].is_ascii_digit());
        if is_dos {
            out.push(parse_dos(line)?);
        } else if i == 0 && line.starts_with(b"total ") {
            // "total N" heads a Unix listing.
            if !line[6..].iter().all(u8::is_ascii_digit) || line.len() == 6 {
                return Err(BadList);
            }
        } else {
            out.push(parse_unix(line)?);
        }
    }
    Ok(out)
}

/// The next whitespace-separated field of `line` from `*at`, and `*at` moved past it and the
/// blanks after it.
fn field<'a>(line: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    while *at < line.len() && line[*at] == b' ' {
        *at += 1;
    }
    let start = *at;
    while *at < line.len() && line[*at] != b' ' {
        *at += 1;
    }
    (start < *at).then(|| &line[start..*at])
}

fn digits(f: &[u8]) -> Option<u64> {
    if f.is_empty() || !f.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(f).ok()?.parse().ok()
}

/// "-rw-r--r--   1 user group  4 Nov 30 04:13 a.txt" (a symlink's name ends " -> target").
fn parse_unix(line: &[u8]) -> Result<Entry, BadList> {
    let mut at = 0;
    let perm = field(line, &mut at).ok_or(BadList)?;
    if perm.len() != 10 {
        return Err(BadList);
    }
    let kind = match perm[0] {
        b'-' => Kind::File,
        b'd' => Kind::Dir,
        b'l' => Kind::Symlink,
        b'p' | b's' | b'c' | b'b' | b'D' => Kind::Other,
        _ => return Err(BadList),
    };
    if !perm[1..].iter().all(|c| b"rwxsStT-".contains(c)) {
        return Err(BadList);
    }
    digits(field(line, &mut at).ok_or(BadList)?).ok_or(BadList)?;
    field(line, &mut at).ok_or(BadList)?; // user
    field(line, &mut at).ok_or(BadList)?; // group
    let size = digits(field(line, &mut at).ok_or(BadList)?).ok_or(BadList)?;
    for _ in 0..3 {
        // Month, day, and the year or time.
        field(line, &mut at).ok_or(BadList)?;
    }
    while at < line.len() && line[at] == b' ' {
        at += 1;
    }
    let rest = &line[at..];
    if rest.is_empty() {
        return Err(BadList);
    }
    let (name, target) = match (kind, find(rest, b" -> ")) {
        (Kind::Symlink, Some(i)) => (rest[..i].to_vec(), Some(rest[i + 4..].to_vec())),
        (Kind::Symlink, None) => return Err(BadList),
        _ => (rest.to_vec(), None),
    };
    Ok(Entry { name, kind, size: Some(size), target })
}

/// "11-30-26  04:13AM       <DIR>          sub" or "11-30-26  04:13PM    4 a.txt".
fn parse_dos(line: &[u8]) -> Result<Entry, BadList> {
    let mut at = 0;
    let date = field(line, &mut at).ok_or(BadList)?;
    if date.len() != 8 || date[2] != b'-' || date[5] != b'-' {
        return Err(BadList);
    }
    let time = field(line, &mut at).ok_or(BadList)?;
    let ampm = time.len() == 7 && (time.ends_with(b"AM") || time.ends_with(b"PM"));
    if !ampm || time[2] != b':' {
        return Err(BadList);
    }
    let what = field(line, &mut at).ok_or(BadList)?;
    let (kind, size) =
        if what == b"<DIR>" { (Kind::Dir, None) } else { (Kind::File, Some(digits(what).ok_or(BadList)?)) };
    while at < line.len() && line[at] == b' ' {
        at += 1;
    }
    if at >= line.len() {
        return Err(BadList);
    }
    Ok(Entry { name: line[at..].to_vec(), kind, size, target: None })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// libcurl's fnmatch: `*`, `?`, `[set]` (ranges, `!`/`^`, `[:class:]`) and `\` escapes,
/// case-sensitive; a set left open matches nothing.
pub fn fnmatch(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    // Where the last star was, and the name position it is matched up to: backtracking moves it on.
    let mut star: Option<(usize, usize)> = None;
    loop {
        let step = if p < pattern.len() {
            match pattern[p] {
                b'*' => {
                    while p < pattern.len() && pattern[p] == b'*' {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, s));
                    continue;
                }
                b'?' => (s < name.len()).then_some((p + 1, s + 1)),
                b'\\' => {
                    let q = if p + 1 < pattern.len() { p + 1 } else { p };
                    (s < name.len() && name[s] == pattern[q]).then_some((q + 1, s + 1))
                }
                b'[' => match set(&pattern[p + 1..]) {
                    Some((end, hit)) => (s < name.len() && hit(name[s])).then_some((p + 1 + end + 1, s + 1)),
                    None => return false,
                },
                c => (s < name.len() && name[s] == c).then_some((p + 1, s + 1)),
            }
        } else if s == name.len() {
            return true;
        } else {
            None
        };
        match step {
            Some((np, ns)) => (p, s) = (np, ns),
            None => match star.as_mut() {
                Some((sp, ss)) if *ss < name.len() => {
                    *ss += 1;
                    (p, s) = (*sp, *ss);
                }
                _ => return false,
            },
        }
    }
}

/// A bracket set (what follows its "["): the index of its closing "]" and its test.
#[allow(clippy::type_complexity)]
fn set(p: &[u8]) -> Option<(usize, Box<dyn Fn(u8) -> bool>)> {
    let mut i = 0;
    let mut negate = false;
    if i < p.len() && (p[i] == b'!' || p[i] == b'^') {
        negate = true;
        i += 1;
    }
    let mut chars = [false; 256];
    let mut classes: Vec<fn(&u8) -> bool> = Vec::new();
    let mut first = true;
    loop {
        let c = *p.get(i)?;
        if c == b']' && !first {
            break;
        }
        first = false;
        if c == b'[' && p.get(i + 1) == Some(&b':') {
            let rest = &p[i + 2..];
            if let Some(end) = find(rest, b":]") {
                if let Some(f) = class(&rest[..end]) {
                    classes.push(f);
                    i += 2 + end + 2;
                    continue;
                }
            }
        }
        let c = if c == b'\\' && i + 1 < p.len() {
            i += 1;
            p[i]
        } else {
            c
        };
        // A range joins two letters of the same case or two digits, in order.
        if let (Some(b'-'), Some(&hi)) = (p.get(i + 1), p.get(i + 2)) {
            let same = |a: u8, b: u8| {
                (a.is_ascii_digit() && b.is_ascii_digit())
                    || (a.is_ascii_lowercase() && b.is_ascii_lowercase())
                    || (a.is_ascii_uppercase() && b.is_ascii_uppercase())
            };
            if same(c, hi) {
                if hi >= c {
                    for x in c..=hi {
                        chars[x as usize] = true;
                    }
                } else {
                    chars[c as usize] = true;
                }
                i += 3;
                continue;
            }
        }
        chars[c as usize] = true;
        i += 1;
    }
    Some((i, Box::new(move |b| (chars[b as usize] || classes.iter().any(|f| f(&b))) != negate)))
}

fn class(name: &[u8]) -> Option<fn(&u8) -> bool> {
    Some(match name {
        b"alnum" => u8::is_ascii_alphanumeric,
        b"alpha" => u8::is_ascii_alphabetic,
        b"digit" => u8::is_ascii_digit,
        b"xdigit" => u8::is_ascii_hexdigit,
        b"print" => |c: &u8| (0x20..0x7f).contains(c),
        b"space" => |c: &u8| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c),
        b"upper" => u8::is_ascii_uppercase,
        b"lower" => u8::is_ascii_lowercase,
        b"blank" => |c: &u8| *c == b' ' || *c == b'\t',
        b"graph" => u8::is_ascii_graphic,
        b"punct" => u8::is_ascii_punctuation,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_as_libcurl_matches_them() {
        let m = |p: &str, n: &str| fnmatch(p.as_bytes(), n.as_bytes());
        assert!(m("*.txt", "a.txt") && !m("*.txt", "a.bin") && m("*", ""));
        assert!(m("*a*b*", "axbxc.txt") && m("a*b*", "ab.txt") && !m("*x*c*", "ab.txt"));
        assert!(m("?.txt", "a.txt") && !m("?.txt", "ab.txt"));
        assert!(m("[a-c].txt", "b.txt") && !m("[a-c].txt", "B.txt"));
        assert!(m("[!a].txt", "-.txt") && !m("[!a].txt", "a.txt") && m("[^a-z].txt", "B.txt"));
        assert!(m("[]].txt", "].txt") && m("[a-].txt", "-.txt") && m("[a-].txt", "a.txt"));
        assert!(m("[[:upper:]].txt", "B.txt") && !m("[[:upper:]].txt", "b.txt"));
        assert!(m("[[:alpha:][:digit:]].txt", "7.txt"));
        assert!(m("x\\\\y.txt", "x\\y.txt") && m("\\a.txt", "a.txt") && m("e\\[1\\].txt", "e[1].txt"));
        assert!(!m("[", "[") && !m("*[", "a[") && !m("A.TXT", "a.txt") && !m("[z-a]", "a"));
        assert!(m("*%.txt", "100%.txt") && !m("my%20*", "my file.txt"));
    }

    #[test]
    fn unix_listings() {
        let l = b"total 12\r\n-rw-r--r--   1 user     group           4 Nov 30 04:13 a.txt\r\n\
drwxr-xr-x    2 1000     1000         4096 Nov 30  2025 my dir\r\n\
lrwxrwxrwx   1 root     root            5 Nov 30 04:32 l.txt -> a.txt\r\n";
        let e = parse(l).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].name.as_slice(), e[0].kind, e[0].size), (&b"a.txt"[..], Kind::File, Some(4)));
        assert_eq!((e[1].name.as_slice(), e[1].kind), (&b"my dir"[..], Kind::Dir));
        assert_eq!((e[2].name.as_slice(), e[2].target.as_deref()), (&b"l.txt"[..], Some(&b"a.txt"[..])));
        assert_eq!(parse(b"-rw-r--r-- x user group 4 Nov 30 04:13 a\n"), Err(BadList));
        assert_eq!(parse(b"hello\n"), Err(BadList));
        assert_eq!(parse(b""), Ok(vec![]));
    }

    #[test]
    fn dos_listings() {
        let l = b"11-30-26  04:13AM       <DIR>          sub\r\n11-30-26  04:13PM                    4 a b.txt\r\n";
        let e = parse(l).unwrap();
        assert_eq!((e[0].name.as_slice(), e[0].kind, e[0].size), (&b"sub"[..], Kind::Dir, None));
        assert_eq!((e[1].name.as_slice(), e[1].kind, e[1].size), (&b"a b.txt"[..], Kind::File, Some(4)));
        assert_eq!(parse(b"11-30-26  04:13  4 a\r\n"), Err(BadList));
    }
}
