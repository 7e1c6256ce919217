//! NTLM type-2 messages from a hostile server (truncated, absurd offsets and lengths, oversize
//! target info), raw and as a WWW-Authenticate value, and the type-3 built from them: never a panic.
#![no_main]
use _pycurl::engine::auth::ntlm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(ch) = ntlm::parse_type2(data) {
        // A type-3 either fits libcurl's buffer or is refused as too large.
        if let Ok(m) = ntlm::type3(&ch, "DOM\\user", "pass", [7; 8], 1_700_000_000) {
            assert!(m.starts_with(b"NTLMSSP\0"));
        }
    }
    let value = format!("NTLM {}", String::from_utf8_lossy(data));
    if let ntlm::Input::Challenge(ch) = ntlm::input(&value) {
        let _ = ntlm::type3_header(&ch, "user", "pass");
    }
});
