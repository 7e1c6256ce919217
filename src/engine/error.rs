//! libcurl's error vocabulary in one place: CURLcode (transfers, options, TLS), CURLMcode (the
//! multi), CURLSHcode (the share), CURLUcode (the URL API); and the transfer error type carrying
//! a CURLcode with the message a user sees in errstr().

use std::fmt;

/// libcurl's CURLcode values used by the engine.
pub mod code {
    pub const OK: i32 = 0;
    pub const UNSUPPORTED_PROTOCOL: i32 = 1;
    pub const FAILED_INIT: i32 = 2;
    pub const URL_MALFORMAT: i32 = 3;
    pub const NOT_BUILT_IN: i32 = 4;
    pub const COULDNT_RESOLVE_PROXY: i32 = 5;
    pub const PROXY: i32 = 97;
    pub const COULDNT_RESOLVE_HOST: i32 = 6;
    pub const COULDNT_CONNECT: i32 = 7;
    pub const WEIRD_SERVER_REPLY: i32 = 8;
    pub const REMOTE_ACCESS_DENIED: i32 = 9;
    pub const HTTP_RETURNED_ERROR: i32 = 22;
    pub const WRITE_ERROR: i32 = 23;
    pub const UPLOAD_FAILED: i32 = 25;
    pub const READ_ERROR: i32 = 26;
    pub const OUT_OF_MEMORY: i32 = 27;
    pub const OPERATION_TIMEDOUT: i32 = 28;
    pub const RANGE_ERROR: i32 = 33;
    pub const SSL_CONNECT_ERROR: i32 = 35;
    pub const BAD_DOWNLOAD_RESUME: i32 = 36;
    pub const FILE_COULDNT_READ_FILE: i32 = 37;
    pub const FUNCTION_NOT_FOUND: i32 = 41;
    pub const ABORTED_BY_CALLBACK: i32 = 42;
    pub const BAD_FUNCTION_ARGUMENT: i32 = 43;
    pub const INTERFACE_FAILED: i32 = 45;
    pub const TOO_MANY_REDIRECTS: i32 = 47;
    pub const UNKNOWN_OPTION: i32 = 48;
    pub const SETOPT_OPTION_SYNTAX: i32 = 49;
    pub const GOT_NOTHING: i32 = 52;
    pub const SSL_ENGINE_NOTFOUND: i32 = 53;
    pub const SEND_ERROR: i32 = 55;
    pub const RECV_ERROR: i32 = 56;
    pub const SSL_CERTPROBLEM: i32 = 58;
    pub const SSL_CIPHER: i32 = 59;
    pub const PEER_FAILED_VERIFICATION: i32 = 60;
    pub const BAD_CONTENT_ENCODING: i32 = 61;
    pub const FILESIZE_EXCEEDED: i32 = 63;
    pub const SEND_FAIL_REWIND: i32 = 65;
    pub const LOGIN_DENIED: i32 = 67;
    pub const SSL_CACERT_BADFILE: i32 = 77;
    pub const SSL_CRL_BADFILE: i32 = 82;
    pub const SSL_ISSUER_ERROR: i32 = 83;
    pub const REMOTE_FILE_NOT_FOUND: i32 = 78;
    pub const AGAIN: i32 = 81;
    pub const SSL_PINNEDPUBKEYNOTMATCH: i32 = 90;
    pub const HTTP2: i32 = 16;
    pub const HTTP2_STREAM: i32 = 92;
    pub const PARTIAL_FILE: i32 = 18;
    pub const TOO_LARGE: i32 = 100;
}

/// libcurl's CURLMcode values: what the multi interface's calls answer.
pub mod mcode {
    pub const CALL_MULTI_PERFORM: i32 = -1;
    pub const OK: i32 = 0;
    pub const BAD_HANDLE: i32 = 1;
    pub const BAD_EASY_HANDLE: i32 = 2;
    pub const OUT_OF_MEMORY: i32 = 3;
    pub const INTERNAL_ERROR: i32 = 4;
    pub const BAD_SOCKET: i32 = 5;
    pub const UNKNOWN_OPTION: i32 = 6;
    pub const ADDED_ALREADY: i32 = 7;
    pub const RECURSIVE_API_CALL: i32 = 8;
    pub const WAKEUP_FAILURE: i32 = 9;
    pub const BAD_FUNCTION_ARGUMENT: i32 = 10;
    pub const ABORTED_BY_CALLBACK: i32 = 11;
    pub const UNRECOVERABLE_POLL: i32 = 12;
}

/// libcurl's CURLSHcode values: what the share interface's calls answer.
pub mod shcode {
    pub const OK: i32 = 0;
    pub const BAD_OPTION: i32 = 1;
    pub const IN_USE: i32 = 2;
    pub const INVALID: i32 = 3;
    pub const NOMEM: i32 = 4;
    pub const NOT_BUILT_IN: i32 = 5;
}

/// libcurl's CURLUcode values: what the URL API (engine::urlapi) answers.
pub mod ue {
    pub const MALFORMED_INPUT: u32 = 3;
    pub const BAD_PORT_NUMBER: u32 = 4;
    pub const UNSUPPORTED_SCHEME: u32 = 5;
    pub const URLDECODE: u32 = 6;
    pub const USER_NOT_ALLOWED: u32 = 8;
    pub const UNKNOWN_PART: u32 = 9;
    pub const NO_SCHEME: u32 = 10;
    pub const NO_USER: u32 = 11;
    pub const NO_PASSWORD: u32 = 12;
    pub const NO_OPTIONS: u32 = 13;
    pub const NO_HOST: u32 = 14;
    pub const NO_PORT: u32 = 15;
    pub const NO_QUERY: u32 = 16;
    pub const NO_FRAGMENT: u32 = 17;
    pub const NO_ZONEID: u32 = 18;
    pub const BAD_FILE_URL: u32 = 19;
    pub const BAD_FRAGMENT: u32 = 20;
    pub const BAD_HOSTNAME: u32 = 21;
    pub const BAD_IPV6: u32 = 22;
    pub const BAD_LOGIN: u32 = 23;
    pub const BAD_PASSWORD: u32 = 24;
    pub const BAD_PATH: u32 = 25;
    pub const BAD_QUERY: u32 = 26;
    pub const BAD_SCHEME: u32 = 27;
    pub const BAD_SLASHES: u32 = 28;
    pub const BAD_USER: u32 = 29;
    pub const LACKS_IDN: u32 = 30;

    /// The "part is absent" codes, which pycurl reports as None rather than an error.
    pub fn is_missing(code: u32) -> bool {
        (NO_SCHEME..=NO_ZONEID).contains(&code)
    }
}

/// A failed transfer or a refused option: a CURLcode and the detailed message (libcurl's error buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub msg: String,
}

/// libcurl's CURL_ERROR_SIZE: failf() formats into a buffer this large, so a message keeps at
/// most 255 bytes (a long host name or file path is cut there, in errstr() and the exception).
pub const ERROR_SIZE: usize = 256;

/// `msg` cut to what libcurl's error buffer holds, at a character boundary.
pub fn clip(mut msg: String) -> String {
    if msg.len() >= ERROR_SIZE {
        let mut end = ERROR_SIZE - 1;
        while !msg.is_char_boundary(end) {
            end -= 1;
        }
        msg.truncate(end);
    }
    msg
}

impl Error {
    pub fn new(code: i32, msg: impl Into<String>) -> Error {
        Error { code, msg: clip(msg.into()) }
    }
    /// An error whose detail is libcurl's generic text for the code.
    pub fn bare(code: i32) -> Error {
        Error { code, msg: crate::engine::strerror::easy_strerror(code as i64).to_string() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}) {}", self.code, self.msg)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_cut_to_the_error_buffer() {
        assert_eq!(Error::new(6, "x".repeat(300)).msg.len(), 255);
        assert_eq!(Error::new(6, "y".repeat(255)).msg.len(), 255);
        assert_eq!(Error::new(6, "short").msg, "short");
        // A two-byte character across the limit is dropped whole.
        let m = Error::new(6, format!("{}é", "z".repeat(254))).msg;
        assert_eq!(m, "z".repeat(254));
    }
}
