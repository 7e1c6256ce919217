//! Set-Cookie header values (and their dates) into a jar, then the Cookie header and the jar file
//! written back: never a panic, and a jar file read back and written again is stable.
#![no_main]
use _pycurl::engine::cookies::CookieJar;
use _pycurl::engine::date::parse_date;
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let mut jar = CookieJar::new();
    let hosts = ["example.com", "a.b.example.com", "127.0.0.1", "[::1]", "localhost"];
    for (i, line) in s.lines().enumerate() {
        let host = hosts[i % hosts.len()];
        let _ = parse_date(line);
        jar.add_set_cookie(line, host, "/dir/page", i % 2 == 0, NOW);
    }
    for host in hosts {
        let _ = jar.cookie_header(host, "/dir/page", true, NOW);
    }
    // Reading a jar takes one trailing slash off a path each time ("/dir///" is read back "/dir//",
    // as libcurl 8.23 does), so paths are compared without their trailing slashes.
    let reload = |t: &str| {
        let mut j = CookieJar::new();
        j.load_text(t, NOW, false);
        j.jar_text_at(NOW)
    };
    let once = reload(&jar.jar_text_at(NOW));
    // The jar's order is its own (libcurl's is a hash order): compare the lines as a set.
    let sorted = |t: &str| {
        let trim = |l: &str| {
            let mut f: Vec<&str> = l.split('\t').collect();
            if f.len() == 7 {
                f[2] = f[2].trim_end_matches('/');
            }
            f.join("\t")
        };
        let mut v: Vec<String> = t.lines().map(trim).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&reload(&once)), sorted(&once), "a written jar reads back differently");
});
