//! SOCKS4, SOCKS4a, SOCKS5 (no auth or username/password) and SOCKS5 with the hostname resolved at
//! the proxy: the handshake over any `Io` layer, failing with libcurl's CURLPX code and message.

use std::net::{IpAddr, SocketAddr};

use crate::engine::net::{self, Io};

/// Which SOCKS protocol a proxy speaks.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Socks {
    V4,
    V4a,
    V5,
    V5h,
}

impl Socks {
    /// Does the client resolve the destination itself (SOCKS4, SOCKS5) or send the name?
    pub fn resolves_locally(self) -> bool {
        matches!(self, Socks::V4 | Socks::V5)
    }
}

/// CURLPX_* codes (PROXY_ERROR).
pub mod px {
    pub const BAD_ADDRESS_TYPE: i64 = 1;
    pub const BAD_VERSION: i64 = 2;
    pub const CLOSED: i64 = 3;
    pub const IDENTD: i64 = 7;
    pub const IDENTD_DIFFER: i64 = 8;
    pub const LONG_HOSTNAME: i64 = 9;
    pub const LONG_PASSWD: i64 = 10;
    pub const LONG_USER: i64 = 11;
    pub const NO_AUTH: i64 = 12;
    pub const RECV_AUTH: i64 = 14;
    pub const RECV_CONNECT: i64 = 15;
    pub const RECV_REQACK: i64 = 16;
    pub const REPLY_ADDRESS_TYPE_NOT_SUPPORTED: i64 = 17;
    pub const REPLY_COMMAND_NOT_SUPPORTED: i64 = 18;
    pub const REPLY_CONNECTION_REFUSED: i64 = 19;
    pub const REPLY_GENERAL_SERVER_FAILURE: i64 = 20;
    pub const REPLY_HOST_UNREACHABLE: i64 = 21;
    pub const REPLY_NETWORK_UNREACHABLE: i64 = 22;
    pub const REPLY_NOT_ALLOWED: i64 = 23;
    pub const REPLY_TTL_EXPIRED: i64 = 24;
    pub const REPLY_UNASSIGNED: i64 = 25;
    pub const REQUEST_FAILED: i64 = 26;
    pub const RESOLVE_HOST: i64 = 27;
    pub const SEND_AUTH: i64 = 28;
    pub const SEND_CONNECT: i64 = 29;
    pub const SEND_REQUEST: i64 = 30;
    pub const UNKNOWN_FAIL: i64 = 31;
    pub const USER_REJECTED: i64 = 33;
}

/// A failed handshake: the CURLPX code and libcurl's message (the transfer fails with CURLE_PROXY).
#[derive(Debug, PartialEq, Eq)]
pub struct SocksError {
    pub px: i64,
    pub message: String,
}

fn fail<T>(px: i64, message: impl Into<String>) -> Result<T, SocksError> {
    Err(SocksError { px, message: message.into() })
}

/// Where the tunnel goes: an address resolved here, or a name for the proxy to resolve.
pub enum Dest<'a> {
    Addr(SocketAddr),
    Name(&'a str, u16),
}

async fn send<S: Io + ?Sized>(io: &mut S, buf: &[u8], px: i64) -> Result<(), SocksError> {
    match net::write_all(io, buf).await {
        Ok(()) => Ok(()),
        Err(e) => fail(px, format!("Failed to send SOCKS request: {e}")),
    }
}

async fn recv_exact<S: Io + ?Sized>(io: &mut S, buf: &mut [u8], px: i64) -> Result<(), SocksError> {
    let mut got = 0;
    while got < buf.len() {
        match net::read(io, &mut buf[got..]).await {
            Ok(0) => return fail(px, "Failed to receive SOCKS response, proxy closed connection"),
            Ok(n) => got += n,
            Err(e) => return fail(px, format!("Failed to receive SOCKS response: {e}")),
        }
    }
    Ok(())
}

/// SOCKS4 / SOCKS4a CONNECT. SOCKS4a always sends the name (libcurl does, even for an address).
pub async fn socks4<S: Io + ?Sized>(io: &mut S, dest: Dest<'_>, user: &str) -> Result<(), SocksError> {
    if user.len() > 255 {
        return fail(px::LONG_USER, "Too long SOCKS proxy username");
    }
    let mut req = vec![4u8, 1];
    let name = match dest {
        Dest::Addr(SocketAddr::V4(a)) => {
            req.extend_from_slice(&a.port().to_be_bytes());
            req.extend_from_slice(&a.ip().octets());
            None
        }
        Dest::Addr(a) => return fail(px::RESOLVE_HOST, format!("SOCKS4 connection to {} not supported", a.ip())),
        Dest::Name(host, port) => {
            if host.len() > 255 {
                return fail(px::LONG_HOSTNAME, "SOCKS4: too long hostname");
            }
            req.extend_from_slice(&port.to_be_bytes());
            req.extend_from_slice(&[0, 0, 0, 1]);
            Some(host)
        }
    };
    req.extend_from_slice(user.as_bytes());
    req.push(0);
    if let Some(h) = name {
        req.extend_from_slice(h.as_bytes());
        req.push(0);
    }
    send(io, &req, px::SEND_CONNECT).await?;
    let mut rep = [0u8; 8];
    recv_exact(io, &mut rep, px::RECV_CONNECT).await?;
    if rep[0] != 0 {
        return fail(px::BAD_VERSION, "SOCKS4 reply has wrong version, version should be 0.");
    }
    let at = format!("{}.{}.{}.{}:{}", rep[4], rep[5], rep[6], rep[7], u16::from_be_bytes([rep[2], rep[3]]));
    let (px, why) = match rep[1] {
        90 => return Ok(()),
        91 => (px::REQUEST_FAILED, "request rejected or failed."),
        92 => (px::IDENTD, "request rejected because SOCKS server cannot connect to identd on the client."),
        93 => (px::IDENTD_DIFFER, "request rejected because the client program and identd report different user-ids."),
        _ => (px::UNKNOWN_FAIL, "Unknown."),
    };
    fail(px, format!("[SOCKS] cannot complete SOCKS4 connection to {at}. ({}), {why}", rep[1]))
}

/// SOCKS5 CONNECT, with username/password auth when credentials are given.
pub async fn socks5<S: Io + ?Sized>(
    io: &mut S,
    dest: Dest<'_>,
    credentials: Option<(&str, &str)>,
) -> Result<(), SocksError> {
    if let Dest::Name(h, _) = dest {
        if h.len() > 255 {
            return fail(
                px::LONG_HOSTNAME,
                "SOCKS5: the destination hostname is too long to be resolved remotely by the proxy.",
            );
        }
    }
    let hello: &[u8] = if credentials.is_some() { &[5, 2, 0, 2] } else { &[5, 1, 0] };
    send(io, hello, px::SEND_CONNECT).await?;
    let mut rep = [0u8; 2];
    recv_exact(io, &mut rep, px::RECV_CONNECT).await?;
    if rep[0] != 5 {
        return fail(px::BAD_VERSION, "Received invalid version in initial SOCKS5 response.");
    }
    match (rep[1], credentials) {
        (0, _) => {}
        (2, Some((u, p))) => {
            if u.len() > 255 {
                return fail(px::LONG_USER, "Excessive user name length for proxy auth");
            }
            if p.len() > 255 {
                return fail(px::LONG_PASSWD, "Excessive password length for proxy auth");
            }
            let mut req = vec![1u8, u.len() as u8];
            req.extend_from_slice(u.as_bytes());
            req.push(p.len() as u8);
            req.extend_from_slice(p.as_bytes());
            send(io, &req, px::SEND_AUTH).await?;
            let mut st = [0u8; 2];
            recv_exact(io, &mut st, px::RECV_AUTH).await?;
            if st[1] != 0 {
                return fail(
                    px::USER_REJECTED,
                    format!("User was rejected by the SOCKS5 server ({} {}).", st[0], st[1]),
                );
            }
        }
        (0xff, _) => return fail(px::NO_AUTH, "No authentication method was acceptable."),
        (m, _) => {
            return fail(px::UNKNOWN_FAIL, format!("Undocumented SOCKS5 mode attempted to be used by server: {m}"));
        }
    }
    let mut req = vec![5u8, 1, 0];
    let (shown, port) = match dest {
        Dest::Addr(a) => {
            push_ip(&mut req, a.ip());
            (a.ip().to_string(), a.port())
        }
        Dest::Name(h, port) => {
            match h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
                Ok(ip) => push_ip(&mut req, ip),
                Err(_) => {
                    req.push(3);
                    req.push(h.len() as u8);
                    req.extend_from_slice(h.as_bytes());
                }
            }
            (h.to_string(), port)
        }
    };
    req.extend_from_slice(&port.to_be_bytes());
    send(io, &req, px::SEND_REQUEST).await?;
    let mut head = [0u8; 5];
    // libcurl names a reply cut short in its fixed part RECV_CONNECT, in the address RECV_REQACK.
    recv_exact(io, &mut head, px::RECV_CONNECT).await?;
    if head[0] != 5 {
        return fail(px::BAD_VERSION, "SOCKS5 reply has wrong version, version should be 5.");
    }
    if head[1] != 0 {
        let px = match head[1] {
            1 => px::REPLY_GENERAL_SERVER_FAILURE,
            2 => px::REPLY_NOT_ALLOWED,
            3 => px::REPLY_NETWORK_UNREACHABLE,
            4 => px::REPLY_HOST_UNREACHABLE,
            5 => px::REPLY_CONNECTION_REFUSED,
            6 => px::REPLY_TTL_EXPIRED,
            7 => px::REPLY_COMMAND_NOT_SUPPORTED,
            8 => px::REPLY_ADDRESS_TYPE_NOT_SUPPORTED,
            _ => px::REPLY_UNASSIGNED,
        };
        return fail(px, format!("cannot complete SOCKS5 connection to {shown}. ({})", head[1]));
    }
    // The bound address: its length depends on its type (head[4] is its first byte).
    let rest = match head[3] {
        1 => 4 - 1 + 2,
        3 => head[4] as usize + 2,
        4 => 16 - 1 + 2,
        _ => return fail(px::BAD_ADDRESS_TYPE, "SOCKS5 reply has wrong address type."),
    };
    let mut tail = vec![0u8; rest];
    recv_exact(io, &mut tail, px::RECV_REQACK).await?;
    Ok(())
}

fn push_ip(req: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            req.push(1);
            req.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            req.push(4);
            req.extend_from_slice(&v6.octets());
        }
    }
}
