//! SSH for sftp:// and scp:// URLs, in Rust over ring's crypto (no libssh2): the transport and
//! its key exchange (`transport`), user authentication and key files (`keys`), and SFTP version 3
//! (`sftp`). Nothing here does I/O: `engine::transfer::ssh` moves the bytes.

pub mod keys;
pub mod sftp;
pub mod transport;
pub mod wire;

use super::error::Error;

/// libcurl's codes that only SSH uses here.
pub mod code {
    pub const QUOTE_ERROR: i32 = 21;
    pub const REMOTE_DISK_FULL: i32 = 70;
    pub const REMOTE_FILE_EXISTS: i32 = 73;
    pub const SSH: i32 = 79;
}

/// SSH message numbers (RFC 4250 section 4.1).
pub mod msg {
    pub const DISCONNECT: u8 = 1;
    pub const IGNORE: u8 = 2;
    pub const UNIMPLEMENTED: u8 = 3;
    pub const DEBUG: u8 = 4;
    pub const SERVICE_REQUEST: u8 = 5;
    pub const SERVICE_ACCEPT: u8 = 6;
    pub const EXT_INFO: u8 = 7;
    pub const KEXINIT: u8 = 20;
    pub const NEWKEYS: u8 = 21;
    pub const KEX_ECDH_INIT: u8 = 30;
    pub const KEX_ECDH_REPLY: u8 = 31;
    pub const USERAUTH_REQUEST: u8 = 50;
    pub const USERAUTH_FAILURE: u8 = 51;
    pub const USERAUTH_SUCCESS: u8 = 52;
    pub const USERAUTH_BANNER: u8 = 53;
    pub const USERAUTH_PK_OK: u8 = 60;
    pub const USERAUTH_INFO_REQUEST: u8 = 60;
    pub const USERAUTH_INFO_RESPONSE: u8 = 61;
    pub const GLOBAL_REQUEST: u8 = 80;
    pub const REQUEST_FAILURE: u8 = 82;
    pub const CHANNEL_OPEN: u8 = 90;
    pub const CHANNEL_OPEN_CONFIRMATION: u8 = 91;
    pub const CHANNEL_OPEN_FAILURE: u8 = 92;
    pub const CHANNEL_WINDOW_ADJUST: u8 = 93;
    pub const CHANNEL_DATA: u8 = 94;
    pub const CHANNEL_EXTENDED_DATA: u8 = 95;
    pub const CHANNEL_EOF: u8 = 96;
    pub const CHANNEL_CLOSE: u8 = 97;
    pub const CHANNEL_REQUEST: u8 = 98;
    pub const CHANNEL_SUCCESS: u8 = 99;
    pub const CHANNEL_FAILURE: u8 = 100;
}

/// SSH_AUTH_TYPES bits (CURLSSH_AUTH_*).
pub mod auth_bits {
    pub const PUBLICKEY: i64 = 1;
    pub const PASSWORD: i64 = 2;
    pub const HOST: i64 = 4;
    pub const KEYBOARD: i64 = 8;
    pub const AGENT: i64 = 16;
    pub const GSSAPI: i64 = 32;
    pub const ANY: i64 = !0;
}

/// The SSH options of a handle (allocated once one is set).
#[derive(Clone, Debug)]
pub struct SshOptions {
    /// SSH_AUTH_TYPES (CURLSSH_AUTH_ANY by default).
    pub auth_types: i64,
    pub public_keyfile: Option<String>,
    pub private_keyfile: Option<String>,
    pub host_md5: Option<String>,
    pub host_sha256: Option<String>,
    pub known_hosts: Option<String>,
    pub compression: bool,
    /// NEW_FILE_PERMS / NEW_DIRECTORY_PERMS.
    pub file_perms: u32,
    pub dir_perms: u32,
}

impl SshOptions {
    pub const DEFAULTS: SshOptions = SshOptions {
        auth_types: auth_bits::ANY,
        public_keyfile: None,
        private_keyfile: None,
        host_md5: None,
        host_sha256: None,
        known_hosts: None,
        compression: false,
        file_perms: 0o644,
        dir_perms: 0o755,
    };
}

impl Default for SshOptions {
    fn default() -> Self {
        Self::DEFAULTS
    }
}

crate::rare_defaults!(SshOptions = SshOptions::DEFAULTS);

/// Errors of the SSH layers, as libcurl reports them.
pub struct SshError;

impl SshError {
    /// A protocol violation or broken packet (CURLE_SSH).
    pub fn proto(what: &str) -> Error {
        Error::new(code::SSH, format!("SSH protocol error: {what}"))
    }
    /// The key exchange failed: libcurl's words for libssh2's handshake failure.
    pub fn kex(what: String) -> Error {
        Error::new(super::error::code::FAILED_INIT, format!("Failure establishing ssh session: -5, {what}"))
    }
}
