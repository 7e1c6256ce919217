//! WWW-Authenticate Digest challenges and the answers built from them: never a panic.
#![no_main]
use _pycurl::engine::auth::digest_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    // challenge \n user \n password \n method \n uri
    let mut it = s.splitn(5, '\n');
    let challenge = it.next().unwrap_or_default();
    let user = it.next().unwrap_or("user");
    let pass = it.next().unwrap_or("pass");
    let method = it.next().unwrap_or("GET");
    let uri = it.next().unwrap_or("/");
    if let Some(answer) = digest_response(challenge, user, pass, method, uri) {
        assert!(answer.starts_with("Digest "), "{answer:?}");
    }
});
