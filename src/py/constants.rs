//! Module constants (generated tables) and their lookups.
use std::collections::HashMap;
use std::sync::OnceLock;

use pyo3::prelude::*;

use super::constants_data::{CURL_ATTR_CONSTANTS, INT_CONSTANTS, MULTI_ATTR_CONSTANTS, SHARE_ATTR_CONSTANTS};
use super::option_table::OPTIONS;

fn by_name() -> &'static HashMap<&'static str, i64> {
    static M: OnceLock<HashMap<&'static str, i64>> = OnceLock::new();
    M.get_or_init(|| INT_CONSTANTS.iter().copied().collect())
}

fn attr_in(list: &'static [&'static str], name: &str) -> Option<i64> {
    if list.binary_search(&name).is_ok() || list.contains(&name) {
        by_name().get(name).copied()
    } else {
        None
    }
}

pub fn curl_attr(name: &str) -> Option<i64> {
    attr_in(CURL_ATTR_CONSTANTS, name)
}

pub fn multi_attr(name: &str) -> Option<i64> {
    attr_in(MULTI_ATTR_CONSTANTS, name)
}

pub fn share_attr(name: &str) -> Option<i64> {
    attr_in(SHARE_ATTR_CONSTANTS, name)
}

/// The option's name (first alias) when real pycurl's setopt knows the number.
pub fn option_name(option: i32) -> Option<&'static str> {
    OPTIONS.binary_search_by_key(&option, |(n, _)| *n).ok().map(|i| OPTIONS[i].1.split('|').next().unwrap())
}

pub fn add_to_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (name, v) in INT_CONSTANTS {
        // These two describe this build, set below.
        if *name == "COMPILE_LIBCURL_VERSION_NUM" || *name == "COMPILE_PY_VERSION_HEX" {
            continue;
        }
        m.add(*name, *v)?;
    }
    m.add("COMPILE_SSL_LIB", "rustls")?;
    m.add("COMPILE_LIBCURL_VERSION_NUM", super::LIBCURL_VERSION_NUM)?;
    m.add(
        "COMPILE_PY_VERSION_HEX",
        m.py().version_info().major as i64 * 0x1000000 + m.py().version_info().minor as i64 * 0x10000,
    )?;
    Ok(())
}

/// For a CURLINFO number pycurl's getinfo accepts: its type nibble (1 string, 2 long, 3 double,
/// 4 list, 5 socket, 6 off_t).
pub fn info_kind(code: i32) -> Option<u8> {
    let known = super::info_table::INFOS.binary_search_by_key(&code, |(v, _)| *v).is_ok();
    known.then_some((code >> 20) as u8)
}
