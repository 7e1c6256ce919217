//! URL parsing, redirect resolution (`join`) and percent-decoding: never a panic, and an http(s)
//! URL that parses renders to a URL that parses again.
#![no_main]
use _pycurl::engine::url::{percent_decode, Url};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    // First line: the URL; second line: a Location to resolve against it.
    let (input, location) = s.split_once('\n').unwrap_or((s, "/next"));
    for path_as_is in [false, true] {
        for scheme in [None, Some("http")] {
            let Ok(u) = Url::parse_with(input, scheme, path_as_is) else { continue };
            let eff = u.to_effective();
            let _ = (u.host_header(), u.port_or_default(), u.is_ipv6());
            // file: URLs excepted: libcurl too renders "file:p://a" as "file://p://a".
            assert!(
                eff.starts_with("file:") || Url::parse_with(&eff, None, true).is_ok(),
                "{input:?} renders as {eff:?}, which does not parse"
            );
            if let Ok(j) = u.join(location) {
                let _ = (j.to_effective(), j.host_header());
            }
        }
    }
    let _ = percent_decode(s);
});
