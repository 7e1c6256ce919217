//! Cookie-jar files (Netscape format, "#HttpOnly_" lines, junk) and COOKIELIST commands: never a
//! panic.
#![no_main]
use _pycurl::engine::cookies::CookieJar;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let mut jar = CookieJar::new();
    jar.load_text(&s, NOW, data.first().is_some_and(|b| b & 1 == 1));
    for line in s.lines().take(16) {
        let _ = jar.cookielist(line, NOW);
    }
    let _ = jar.cookie_header("example.com", "/", false, NOW);
    jar.remove_expired(NOW + 86_400);
    let _ = jar.jar_text_at(NOW);
    jar.clear_session();
});
