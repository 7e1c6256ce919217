//! Gopher (RFC 1436) as libcurl speaks it: the selector is the URL's path (and query) without
//! its leading "/" and item type, percent-decoded ("%09" makes a search's tab); the answer is
//! handed on unparsed.

/// The selector for a path ("/1/x?q"): "" for "/", "/1" and shorter.
pub fn selector(path_and_query: &str) -> Option<Vec<u8>> {
    if path_and_query.len() <= 2 {
        return Some(Vec::new());
    }
    super::unescape(path_and_query.get(2..)?, false)
}

#[cfg(test)]
mod tests {
    use super::selector;

    #[test]
    fn selectors_as_libcurl() {
        assert_eq!(selector("/").unwrap(), b"");
        assert_eq!(selector("/1").unwrap(), b"");
        assert_eq!(selector("").unwrap(), b"");
        assert_eq!(selector("/0/about.txt").unwrap(), b"/about.txt");
        assert_eq!(selector("/7/s%09apple%20pie").unwrap(), b"/s\tapple pie");
        assert_eq!(selector("/1/x?y=1").unwrap(), b"/x?y=1");
        assert!(selector("/0/a%00b").is_none());
    }
}
