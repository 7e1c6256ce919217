//! SSH's transport layer (RFC 4253) without I/O: packets in and out, the key exchange
//! (curve25519-sha256, RFC 8731), host key signatures and the keys it derives. The crypto is
//! ring's: X25519, SHA-256, Ed25519 / RSA / ECDSA verification and chacha20-poly1305@openssh.com.

use ring::aead::chacha20_poly1305_openssh as chacha;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{agreement, digest, signature};

use super::wire::{R, W};
use super::{msg, SshError};
use crate::engine::error::Error;

/// What we tell the server we are (libcurl's SSH sends libssh2's; this names us).
pub const CLIENT_VERSION: &str = concat!("SSH-2.0-pycurl_rs_", env!("CARGO_PKG_VERSION"));

const KEX_ALGS: &str = "curve25519-sha256,curve25519-sha256@libssh.org";
const HOSTKEY_ALGS: &str = "ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256";
const CIPHERS: &str = "chacha20-poly1305@openssh.com";
// The MAC is unused with an AEAD cipher, but the lists must name one.
const MACS: &str = "hmac-sha2-256,hmac-sha2-512";
const COMPRESSION: &str = "none";

/// Packets of one direction: sequence number and (once keys are in use) the cipher.
pub struct Transport {
    seq_out: u32,
    seq_in: u32,
    seal: Option<chacha::SealingKey>,
    open: Option<chacha::OpeningKey>,
    pub session_id: Option<Vec<u8>>,
    rng: SystemRandom,
}

/// The most a server's packet may take (RFC 4253 asks for 35000 at least; OpenSSH sends up to 256 KiB).
const MAX_PACKET: usize = 256 * 1024 + 64;

impl Default for Transport {
    fn default() -> Self {
        Transport { seq_out: 0, seq_in: 0, seal: None, open: None, session_id: None, rng: SystemRandom::new() }
    }
}

impl Transport {
    pub fn random(&self, buf: &mut [u8]) {
        // SystemRandom fails only without an OS random source, where nothing here could work.
        let _ = self.rng.fill(buf);
    }

    /// One payload framed as a packet: length, padding length, payload, random padding (and the tag).
    pub fn seal(&mut self, payload: &[u8]) -> Vec<u8> {
        let block = 8;
        // The length field is outside the padded part with chacha20-poly1305, inside it in the clear.
        let covered = if self.seal.is_some() { 1 + payload.len() } else { 5 + payload.len() };
        let mut pad = block - covered % block;
        if pad < 4 {
            pad += block;
        }
        let len = 1 + payload.len() + pad;
        let mut p = Vec::with_capacity(4 + len + chacha::TAG_LEN);
        p.extend_from_slice(&(len as u32).to_be_bytes());
        p.push(pad as u8);
        p.extend_from_slice(payload);
        let at = p.len();
        p.resize(at + pad, 0);
        self.random(&mut p[at..]);
        if let Some(k) = &self.seal {
            let mut tag = [0u8; chacha::TAG_LEN];
            k.seal_in_place(self.seq_out, &mut p, &mut tag);
            p.extend_from_slice(&tag);
        }
        self.seq_out = self.seq_out.wrapping_add(1);
        p
    }

    /// The next packet's payload when `buf` holds all of it (taken out of `buf`), else None.
    pub fn open(&mut self, buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>, Error> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let head = [buf[0], buf[1], buf[2], buf[3]];
        let len = match &self.open {
            Some(k) => u32::from_be_bytes(k.decrypt_packet_length(self.seq_in, head)),
            None => u32::from_be_bytes(head),
        } as usize;
        if !(5..=MAX_PACKET).contains(&len) {
            return Err(SshError::proto("bad packet length"));
        }
        let tag_len = if self.open.is_some() { chacha::TAG_LEN } else { 0 };
        if buf.len() < 4 + len + tag_len {
            return Ok(None);
        }
        let mut pkt: Vec<u8> = buf.drain(..4 + len + tag_len).collect();
        let body = match &self.open {
            Some(k) => {
                let mut tag = [0u8; chacha::TAG_LEN];
                tag.copy_from_slice(&pkt[4 + len..]);
                pkt.truncate(4 + len);
                k.open_in_place(self.seq_in, &mut pkt, &tag)
                    .map_err(|_| SshError::proto("packet authentication failed"))?
                    .to_vec()
            }
            None => pkt[4..].to_vec(),
        };
        self.seq_in = self.seq_in.wrapping_add(1);
        let pad = body[0] as usize;
        if pad + 1 > body.len() {
            return Err(SshError::proto("bad padding length"));
        }
        Ok(Some(body[1..body.len() - pad].to_vec()))
    }
}

/// One key exchange in progress.
pub struct Kex {
    pub client_init: Vec<u8>,
    eph: Option<agreement::EphemeralPrivateKey>,
    eph_pub: Vec<u8>,
    server_version: String,
    server_init: Vec<u8>,
    hostkey_alg: String,
}

/// What the exchange established.
pub struct KexDone {
    pub host_key: Vec<u8>,
    pub hostkey_alg: String,
}

impl Kex {
    pub fn new(t: &Transport) -> Kex {
        let mut cookie = [0u8; 16];
        t.random(&mut cookie);
        let client_init = W::msg(msg::KEXINIT)
            .raw(&cookie)
            .str(KEX_ALGS)
            .str(HOSTKEY_ALGS)
            .str(CIPHERS)
            .str(CIPHERS)
            .str(MACS)
            .str(MACS)
            .str(COMPRESSION)
            .str(COMPRESSION)
            .str("")
            .str("")
            .bool(false)
            .u32(0)
            .0;
        Kex {
            client_init,
            eph: None,
            eph_pub: Vec::new(),
            server_version: String::new(),
            server_init: Vec::new(),
            hostkey_alg: String::new(),
        }
    }

    /// The server's KEXINIT: checks that we share algorithms and answers with the ECDH init.
    pub fn server_init(&mut self, t: &Transport, server_version: &str, payload: &[u8]) -> Result<Vec<u8>, Error> {
        let bad = |_| SshError::proto("bad KEXINIT");
        let mut r = R(payload);
        r.u8().map_err(bad)?;
        r.bytes(16).map_err(bad)?;
        let mut lists = Vec::new();
        for _ in 0..10 {
            lists.push(String::from_utf8_lossy(r.str().map_err(bad)?).into_owned());
        }
        let pick = |ours: &str, theirs: &str, what: &str| -> Result<String, Error> {
            ours.split(',')
                .find(|a| theirs.split(',').any(|b| b == *a))
                .map(str::to_string)
                .ok_or_else(|| SshError::kex(format!("Unable to exchange encryption keys: no matching {what}")))
        };
        pick(KEX_ALGS, &lists[0], "key exchange method")?;
        self.hostkey_alg = pick(HOSTKEY_ALGS, &lists[1], "host key method")?;
        pick(CIPHERS, &lists[2], "cipher")?;
        pick(CIPHERS, &lists[3], "cipher")?;
        pick(COMPRESSION, &lists[6], "compression")?;
        pick(COMPRESSION, &lists[7], "compression")?;
        self.server_version = server_version.to_string();
        self.server_init = payload.to_vec();
        let eph = agreement::EphemeralPrivateKey::generate(&agreement::X25519, &t.rng)
            .map_err(|_| SshError::kex("Unable to exchange encryption keys".into()))?;
        self.eph_pub = eph
            .compute_public_key()
            .map_err(|_| SshError::kex("Unable to exchange encryption keys".into()))?
            .as_ref()
            .to_vec();
        self.eph = Some(eph);
        Ok(W::msg(msg::KEX_ECDH_INIT).str(&self.eph_pub).0)
    }

    /// The server's ECDH reply: verifies its signature of the exchange hash and sets up the keys
    /// that NEWKEYS switches to (`t.switch`).
    pub fn server_reply(&mut self, t: &mut Transport, payload: &[u8]) -> Result<(KexDone, Keys), Error> {
        let bad = |_| SshError::proto("bad KEX_ECDH_REPLY");
        let mut r = R(payload);
        r.u8().map_err(bad)?;
        let host_key = r.str().map_err(bad)?.to_vec();
        let q_s = r.str().map_err(bad)?.to_vec();
        let sig = r.str().map_err(bad)?.to_vec();
        let eph = self.eph.take().ok_or_else(|| SshError::proto("unexpected KEX_ECDH_REPLY"))?;
        let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, &q_s);
        let shared = agreement::agree_ephemeral(eph, &peer, |k| k.to_vec())
            .map_err(|_| SshError::kex("Unable to exchange encryption keys".into()))?;
        let k = W::default().mpint(&shared).0;
        let h = digest::digest(
            &digest::SHA256,
            &W::default()
                .str(CLIENT_VERSION)
                .str(&self.server_version)
                .str(&self.client_init)
                .str(&self.server_init)
                .str(&host_key)
                .str(&self.eph_pub)
                .str(&q_s)
                .raw(&k)
                .0,
        );
        let h = h.as_ref().to_vec();
        verify_host_signature(&self.hostkey_alg, &host_key, &sig, &h)?;
        let sid = t.session_id.get_or_insert_with(|| h.clone()).clone();
        let derive = |letter: u8| -> [u8; 64] {
            let k1 = digest::digest(&digest::SHA256, &W::default().raw(&k).raw(&h).u8(letter).raw(&sid).0);
            let k2 = digest::digest(&digest::SHA256, &W::default().raw(&k).raw(&h).raw(k1.as_ref()).0);
            let mut out = [0u8; 64];
            out[..32].copy_from_slice(k1.as_ref());
            out[32..].copy_from_slice(k2.as_ref());
            out
        };
        Ok((KexDone { host_key, hostkey_alg: self.hostkey_alg.clone() }, Keys { c2s: derive(b'C'), s2c: derive(b'D') }))
    }
}

/// The cipher keys of both directions, in use once NEWKEYS is sent (ours) and received (theirs).
pub struct Keys {
    c2s: [u8; 64],
    s2c: [u8; 64],
}

impl Transport {
    pub fn switch_out(&mut self, k: &Keys) {
        self.seal = Some(chacha::SealingKey::new(&k.c2s));
    }
    pub fn switch_in(&mut self, k: &Keys) {
        self.open = Some(chacha::OpeningKey::new(&k.s2c));
    }
}

/// The host key's signature of the exchange hash, by the algorithm negotiated.
fn verify_host_signature(alg: &str, key: &[u8], sig: &[u8], h: &[u8]) -> Result<(), Error> {
    let bad = || SshError::kex("Unable to exchange encryption keys".into());
    let mut kr = R(key);
    let ktype = kr.str().map_err(|_| bad())?;
    let mut sr = R(sig);
    let stype = sr.str().map_err(|_| bad())?;
    let sbytes = sr.str().map_err(|_| bad())?;
    if stype != alg.as_bytes() {
        return Err(bad());
    }
    let ok = match alg {
        "ssh-ed25519" if ktype == b"ssh-ed25519" => {
            let pk = kr.str().map_err(|_| bad())?;
            signature::UnparsedPublicKey::new(&signature::ED25519, pk).verify(h, sbytes).is_ok()
        }
        "rsa-sha2-256" | "rsa-sha2-512" if ktype == b"ssh-rsa" => {
            let e = kr.mpint().map_err(|_| bad())?;
            let n = kr.mpint().map_err(|_| bad())?;
            let params = if alg == "rsa-sha2-256" {
                &signature::RSA_PKCS1_2048_8192_SHA256
            } else {
                &signature::RSA_PKCS1_2048_8192_SHA512
            };
            signature::RsaPublicKeyComponents { n, e }.verify(params, h, sbytes).is_ok()
        }
        "ecdsa-sha2-nistp256" if ktype == b"ecdsa-sha2-nistp256" => {
            kr.str().map_err(|_| bad())?;
            let q = kr.str().map_err(|_| bad())?;
            let mut rs = R(sbytes);
            let (r, s) = (rs.mpint().map_err(|_| bad())?, rs.mpint().map_err(|_| bad())?);
            if r.len() > 32 || s.len() > 32 {
                return Err(bad());
            }
            let mut fixed = [0u8; 64];
            fixed[32 - r.len()..32].copy_from_slice(r);
            fixed[64 - s.len()..].copy_from_slice(s);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, q).verify(h, &fixed).is_ok()
        }
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(bad())
    }
}

/// The host key's MD5 fingerprint as libcurl compares it: 32 lowercase hex digits.
pub fn md5_hex(key: &[u8]) -> String {
    use md5::Digest as _;
    md5::Md5::digest(key).iter().map(|b| format!("{b:02x}")).collect()
}

/// The host key's SHA-256 fingerprint as libcurl compares it: base64 with its padding.
pub fn sha256_b64(key: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(digest::digest(&digest::SHA256, key))
}
