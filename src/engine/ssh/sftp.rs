//! SFTP version 3 (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it): requests, replies, file
//! attributes, and libcurl's SFTP quote commands.

use super::wire::{Short, R, W};
use crate::engine::error::Error;

pub const INIT: u8 = 1;
pub const VERSION: u8 = 2;
pub const OPEN: u8 = 3;
pub const CLOSE: u8 = 4;
pub const READ: u8 = 5;
pub const WRITE: u8 = 6;
pub const LSTAT: u8 = 7;
pub const SETSTAT: u8 = 9;
pub const OPENDIR: u8 = 11;
pub const READDIR: u8 = 12;
pub const REMOVE: u8 = 13;
pub const MKDIR: u8 = 14;
pub const RMDIR: u8 = 15;
pub const REALPATH: u8 = 16;
pub const STAT: u8 = 17;
pub const RENAME: u8 = 18;
pub const READLINK: u8 = 19;
pub const SYMLINK: u8 = 20;
pub const EXTENDED: u8 = 200;

pub const STATUS: u8 = 101;
pub const HANDLE: u8 = 102;
pub const DATA: u8 = 103;
pub const NAME: u8 = 104;
pub const ATTRS: u8 = 105;
pub const EXTENDED_REPLY: u8 = 201;

pub const FXF_READ: u32 = 1;
pub const FXF_WRITE: u32 = 2;
pub const FXF_APPEND: u32 = 4;
pub const FXF_CREAT: u32 = 8;
pub const FXF_TRUNC: u32 = 0x10;

pub const FX_OK: u32 = 0;
pub const FX_EOF: u32 = 1;
pub const FX_NO_SUCH_FILE: u32 = 2;
pub const FX_PERMISSION_DENIED: u32 = 3;

const A_SIZE: u32 = 1;
const A_UIDGID: u32 = 2;
const A_PERMISSIONS: u32 = 4;
const A_ACMODTIME: u32 = 8;
const A_EXTENDED: u32 = 0x8000_0000;

/// A file's attributes; None where the server sent none.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Attrs {
    pub size: Option<u64>,
    pub uid_gid: Option<(u32, u32)>,
    pub perms: Option<u32>,
    pub atime_mtime: Option<(u32, u32)>,
}

impl Attrs {
    pub fn read(r: &mut R<'_>) -> Result<Attrs, Short> {
        let flags = r.u32()?;
        let mut a = Attrs::default();
        if flags & A_SIZE != 0 {
            a.size = Some(r.u64()?);
        }
        if flags & A_UIDGID != 0 {
            a.uid_gid = Some((r.u32()?, r.u32()?));
        }
        if flags & A_PERMISSIONS != 0 {
            a.perms = Some(r.u32()?);
        }
        if flags & A_ACMODTIME != 0 {
            a.atime_mtime = Some((r.u32()?, r.u32()?));
        }
        if flags & A_EXTENDED != 0 {
            for _ in 0..r.u32()? {
                r.str()?;
                r.str()?;
            }
        }
        Ok(a)
    }

    pub fn write(&self, w: W) -> W {
        let flags = self.size.map_or(0, |_| A_SIZE)
            | self.uid_gid.map_or(0, |_| A_UIDGID)
            | self.perms.map_or(0, |_| A_PERMISSIONS)
            | self.atime_mtime.map_or(0, |_| A_ACMODTIME);
        let mut w = w.u32(flags);
        if let Some(s) = self.size {
            w = w.u64(s);
        }
        if let Some((u, g)) = self.uid_gid {
            w = w.u32(u).u32(g);
        }
        if let Some(p) = self.perms {
            w = w.u32(p);
        }
        if let Some((a, m)) = self.atime_mtime {
            w = w.u32(a).u32(m);
        }
        w
    }

    pub fn is_link(&self) -> bool {
        self.perms.is_some_and(|p| p & 0o170000 == 0o120000)
    }
    pub fn is_dir(&self) -> bool {
        self.perms.is_some_and(|p| p & 0o170000 == 0o040000)
    }
}

/// One request, framed (length, type, id, the rest).
pub fn request(t: u8, id: u32, body: impl FnOnce(W) -> W) -> Vec<u8> {
    let inner = body(W::default().u8(t).u32(id)).0;
    W::default().u32(inner.len() as u32).raw(&inner).0
}

/// A reply: its type, request id and the rest of it.
pub struct Reply {
    pub t: u8,
    pub id: u32,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn r(&self) -> R<'_> {
        R(&self.body)
    }

    /// A STATUS reply's code and message.
    pub fn status(&self) -> Option<(u32, String)> {
        if self.t != STATUS {
            return None;
        }
        let mut r = self.r();
        let c = r.u32().ok()?;
        Some((c, r.text().unwrap_or_default()))
    }
}

/// The next whole SFTP packet in `buf` (taken out of it).
pub fn take_reply(buf: &mut Vec<u8>) -> Result<Option<Reply>, Error> {
    if buf.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
    if !(1..=4 * 1024 * 1024).contains(&len) {
        return Err(super::SshError::proto("bad SFTP packet length"));
    }
    if buf.len() < 4 + len {
        return Ok(None);
    }
    let pkt: Vec<u8> = buf.drain(..4 + len).skip(4).collect();
    let t = pkt[0];
    // VERSION has no request id: its version number stands there.
    let id = if pkt.len() >= 5 { u32::from_be_bytes([pkt[1], pkt[2], pkt[3], pkt[4]]) } else { 0 };
    Ok(Some(Reply { t, id, body: pkt.get(5..).unwrap_or_default().to_vec() }))
}

/// An SFTP status as libcurl's code: missing files and permissions have their own.
pub fn status_code(st: u32) -> i32 {
    use crate::engine::error::code;
    match st {
        FX_NO_SUCH_FILE | 10 => code::REMOTE_FILE_NOT_FOUND,
        FX_PERMISSION_DENIED | 12 | 17 => code::REMOTE_ACCESS_DENIED,
        14 | 15 => super::code::REMOTE_DISK_FULL,
        11 => super::code::REMOTE_FILE_EXISTS,
        18 => super::code::QUOTE_ERROR,
        _ => super::code::SSH,
    }
}

/// libssh2's text for an SFTP status, which libcurl puts in its messages.
pub fn status_text(st: u32) -> &'static str {
    match st {
        FX_OK => "Success",
        FX_EOF => "End of file",
        FX_NO_SUCH_FILE => "No such file or directory",
        FX_PERMISSION_DENIED => "Permission denied",
        4 => "Operation failed",
        5 => "Bad message",
        6 => "No connection",
        7 => "Connection lost",
        8 => "Operation unsupported",
        9 => "Invalid handle",
        10 => "No such path",
        11 => "File already exists",
        12 => "Write protected",
        13 => "No media",
        14 => "No space on filesystem",
        15 => "Quota exceeded",
        16 => "Unknown principal",
        17 => "Lock conflict",
        18 => "Directory not empty",
        19 => "Not a directory",
        20 => "Invalid filename",
        21 => "Link loop",
        _ => "Unknown error in libssh2",
    }
}

/// One of libcurl's SFTP quote commands, parsed.
#[derive(Debug, PartialEq)]
pub enum Quote {
    /// chgrp and chown keep their number as written: libcurl reads it after a stat.
    Chgrp(String, String),
    Chmod(u32, String),
    Chown(String, String),
    Atime(String, String),
    Mtime(String, String),
    Ln(String, String),
    Mkdir(String),
    Rename(String, String),
    Rmdir(String),
    Rm(String),
    Statvfs(String),
    Pwd,
}

/// A quote line (its "*" already taken off) as libcurl reads it: a command and one or two
/// arguments, each a word or a double-quoted string with backslash escapes; "~/" paths are under
/// `home`.
pub fn parse_quote(line: &str, home: &str) -> Result<Quote, Error> {
    let qerr = |m: String| Error::new(super::code::QUOTE_ERROR, m);
    let (cmd, rest) = match line.split_once(' ') {
        Some((c, r)) => (c, r),
        None => (line, ""),
    };
    if line == "pwd" || line.starts_with("pwd ") {
        return Ok(Quote::Pwd);
    }
    let known =
        ["chgrp", "chmod", "chown", "atime", "mtime", "ln", "symlink", "mkdir", "rename", "rmdir", "rm", "statvfs"];
    if !known.contains(&cmd) {
        return Err(qerr("Unknown SFTP command".into()));
    }
    let mut r = rest.trim_start();
    let first = word(&mut r).ok_or_else(|| qerr(format!("Syntax error command '{line}', missing parameter")))?;
    let two = matches!(cmd, "chgrp" | "chmod" | "chown" | "atime" | "mtime" | "ln" | "symlink" | "rename");
    let path = |p: String| -> String {
        match p.strip_prefix("/~/") {
            Some(rest) => format!("{home}/{rest}"),
            None => p,
        }
    };
    if !two {
        let p = path(first);
        return Ok(match cmd {
            "mkdir" => Quote::Mkdir(p),
            "rmdir" => Quote::Rmdir(p),
            "rm" => Quote::Rm(p),
            _ => Quote::Statvfs(p),
        });
    }
    r = r.trim_start();
    // libcurl names the whole line for these, the command for the others.
    let shown = match cmd {
        "rename" => "rename",
        "ln" | "symlink" => "ln/symlink",
        _ => line,
    };
    let second = word(&mut r).ok_or_else(|| qerr(format!("Syntax error in {shown}: Bad second parameter")))?;
    Ok(match cmd {
        "chgrp" => Quote::Chgrp(first, path(second)),
        "chmod" => {
            let v = (!first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()))
                .then(|| u32::from_str_radix(&first, 8).ok())
                .flatten()
                .ok_or_else(|| qerr("Syntax error: chmod permissions not a number".into()))?;
            Quote::Chmod(v, path(second))
        }
        "chown" => Quote::Chown(first, path(second)),
        "atime" => Quote::Atime(first, path(second)),
        "mtime" => Quote::Mtime(first, path(second)),
        "ln" | "symlink" => Quote::Ln(path(first), path(second)),
        _ => Quote::Rename(path(first), path(second)),
    })
}

/// One argument: a double-quoted string (\\ and \" escapes) or up to the next space.
fn word(s: &mut &str) -> Option<String> {
    if s.is_empty() {
        return None;
    }
    if let Some(q) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut it = q.char_indices();
        while let Some((i, c)) = it.next() {
            match c {
                '"' => {
                    *s = &q[i + 1..];
                    return Some(out);
                }
                '\\' => out.push(it.next()?.1),
                c => out.push(c),
            }
        }
        None
    } else {
        let end = s.find(' ').unwrap_or(s.len());
        let w = s[..end].to_string();
        *s = &s[end..];
        Some(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_commands_parse_as_libcurl_reads_them() {
        assert_eq!(parse_quote("rm /a", "/h").ok(), Some(Quote::Rm("/a".into())));
        assert_eq!(parse_quote("chmod 640 /~/f", "/h").ok(), Some(Quote::Chmod(0o640, "/h/f".into())));
        assert_eq!(parse_quote("pwd", "/h").ok(), Some(Quote::Pwd));
        assert_eq!(
            parse_quote("mtime 5", "/h").err().map(|e| e.msg),
            Some("Syntax error in mtime 5: Bad second parameter".into())
        );
        assert_eq!(
            parse_quote("ln /a", "/h").err().map(|e| e.msg),
            Some("Syntax error in ln/symlink: Bad second parameter".into())
        );
        assert_eq!(parse_quote("rename \"/a b\" /c", "/h").ok(), Some(Quote::Rename("/a b".into(), "/c".into())));
        assert_eq!(parse_quote("bogus x", "/h").err().map(|e| e.msg), Some("Unknown SFTP command".into()));
        assert_eq!(
            parse_quote("rm", "/h").err().map(|e| e.msg),
            Some("Syntax error command 'rm', missing parameter".into())
        );
        assert_eq!(
            parse_quote("chmod xyz /f", "/h").err().map(|e| e.msg),
            Some("Syntax error: chmod permissions not a number".into())
        );
    }

    #[test]
    fn attrs_round_trip() {
        let a = Attrs { size: Some(10), uid_gid: Some((1, 2)), perms: Some(0o100644), atime_mtime: Some((3, 4)) };
        let w = a.write(W::default()).0;
        assert_eq!(Attrs::read(&mut R(&w)), Ok(a));
    }
}
