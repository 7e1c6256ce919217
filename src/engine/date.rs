//! Calendar dates, in one place for the whole engine: the proleptic Gregorian calendar in both
//! directions (`days_from_civil`, `civil_from_days`, `civil_time`), the HTTP-date libcurl writes
//! (`http_date`), and libcurl's lenient date parser (`parse_date`, what curl_getdate accepts:
//! RFC 1123, RFC 850, asctime and many looser forms). Cookies, CERTINFO and HTTP headers use it.
//! All times are seconds since the Unix epoch, UTC.

/// Month abbreviations as HTTP dates and OpenSSL print them.
pub const MONTH_NAMES: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
/// Weekday abbreviations, Sunday first (as `Civil::weekday` counts).
pub const WEEKDAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// A Unix time broken down into its UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1 to 12
    pub month: u32,
    /// 1 to 31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday ... 6 = Saturday
    pub weekday: usize,
}

impl Civil {
    /// "Jan", "Feb", ...
    pub fn month_name(&self) -> &'static str {
        MONTH_NAMES[(self.month - 1) as usize]
    }
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian; month 1-12). Days past a
/// month's end roll over into the next month, as libcurl lets "31 Feb" do.
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The civil date (year, month 1-12, day 1-31) of a day counted from 1970-01-01.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month as u32, day as u32)
}

/// A Unix time as UTC calendar date and time of day.
pub fn civil_time(unix_secs: i64) -> Civil {
    let days = unix_secs.div_euclid(86400);
    let secs = unix_secs.rem_euclid(86400);
    let (year, month, day) = civil_from_days(days);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: (secs / 60 % 60) as u32,
        second: (secs % 60) as u32,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as usize,
    }
}

/// The IMF-fixdate libcurl writes in HTTP headers: "Wed, 25 Nov 2026 16:41:28 GMT".
pub fn http_date(unix_secs: i64) -> String {
    let c = civil_time(unix_secs);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        WEEKDAY_NAMES[c.weekday],
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

// ---------------------------------------------------------------------------------------------
// Parsing (curl_getdate)

/// Weekday words the parser accepts in full (or as their first three letters), Monday first.
const WEEKDAY_WORDS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

/// Time zone names libcurl knows, with their offset east of UTC in minutes. Case-sensitive.
const ZONES: &[(&str, i64)] = &[
    ("GMT", 0),
    ("UT", 0),
    ("UTC", 0),
    ("WET", 0),
    ("BST", 60),
    ("WAT", -60),
    ("AST", -240),
    ("ADT", -180),
    ("EST", -300),
    ("EDT", -240),
    ("CST", -360),
    ("CDT", -300),
    ("MST", -420),
    ("MDT", -360),
    ("PST", -480),
    ("PDT", -420),
    ("YST", -540),
    ("YDT", -480),
    ("HST", -600),
    ("HDT", -540),
    ("CAT", -600),
    ("AHST", -600),
    ("NT", -660),
    ("IDLW", -720),
    ("CET", 60),
    ("MET", 60),
    ("MEWT", 60),
    ("MEST", 120),
    ("CEST", 120),
    ("MESZ", 120),
    ("FWT", 60),
    ("FST", 120),
    ("EET", 120),
    ("WAST", 420),
    ("WADT", 480),
    ("CCT", 480),
    ("JST", 540),
    ("EAST", 600),
    ("EADT", 660),
    ("GST", 600),
    ("NZT", 720),
    ("NZST", 720),
    ("NZDT", 780),
    ("IDLE", 720),
];

fn zone_east_minutes(word: &str) -> Option<i64> {
    if let Some(&(_, m)) = ZONES.iter().find(|(n, _)| *n == word) {
        return Some(m);
    }
    // Military single letters: A-I = +1..+9, K-M = +10..+12, N-Y = -1..-12, Z = 0 (no J).
    if word.len() == 1 {
        let b = word.as_bytes()[0];
        return match b {
            b'A'..=b'I' => Some((b - b'A' + 1) as i64 * 60),
            b'K'..=b'M' => Some((b - b'K' + 10) as i64 * 60),
            b'N'..=b'Y' => Some(-((b - b'N' + 1) as i64) * 60),
            b'Z' => Some(0),
            _ => None,
        };
    }
    None
}

fn weekday_of(word: &str) -> Option<usize> {
    let w = word.to_ascii_lowercase();
    WEEKDAY_WORDS.iter().position(|d| *d == w || (w.len() == 3 && d.starts_with(&w)))
}

fn month_of(word: &str) -> Option<i64> {
    MONTH_NAMES.iter().position(|m| m.eq_ignore_ascii_case(word)).map(|i| i as i64)
}

/// Try "H:M:S" or "H:M" (one or two digits each) at the start of `s`.
/// Returns (hour, minute, second, bytes used).
fn match_time(s: &[u8]) -> Option<(i64, i64, i64, usize)> {
    fn num(s: &[u8], at: usize) -> Option<(i64, usize)> {
        let n = s[at..].iter().take(2).take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return None;
        }
        let v = s[at..at + n].iter().fold(0i64, |a, b| a * 10 + (b - b'0') as i64);
        Some((v, at + n))
    }
    let (h, i) = num(s, 0)?;
    if s.get(i) != Some(&b':') {
        return None;
    }
    let (m, i) = num(s, i + 1)?;
    if s.get(i) == Some(&b':') {
        if let Some((sec, j)) = num(s, i + 1) {
            return Some((h, m, sec, j));
        }
    }
    Some((h, m, 0, i))
}

/// Parse an HTTP date the way libcurl does (RFC 1123, RFC 850, asctime and many looser
/// variants). Returns seconds since the epoch (may be negative for dates before 1970), or None
/// when it cannot be parsed.
pub fn parse_date(date: &str) -> Option<i64> {
    let s = date.as_bytes();
    let (mut wday, mut mon, mut mday, mut year): (Option<usize>, Option<i64>, Option<i64>, Option<i64>) =
        (None, None, None, None);
    let mut time: Option<(i64, i64, i64)> = None;
    let mut tz_east: Option<i64> = None; // seconds east of UTC
    let mut expect_mday = true;
    let mut i = 0;
    let mut parts = 0;
    while i < s.len() && parts < 6 {
        while i < s.len() && !s[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i >= s.len() {
            break;
        }
        if s[i].is_ascii_alphabetic() {
            let n = s[i..].iter().take_while(|b| b.is_ascii_alphabetic()).count();
            let word = &date[i..i + n];
            if wday.is_none() && weekday_of(word).is_some() {
                wday = weekday_of(word);
            } else if mon.is_none() && month_of(word).is_some() {
                mon = month_of(word);
            } else if tz_east.is_none() && zone_east_minutes(word).is_some() {
                tz_east = zone_east_minutes(word).map(|m| m * 60);
            } else {
                return None;
            }
            i += n;
        } else {
            let tm = if time.is_none() { match_time(&s[i..]) } else { None };
            if let Some((h, m, sec, used)) = tm {
                time = Some((h, m, sec));
                i += used;
            } else {
                let n = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let val: i64 = date[i..i + n].parse().ok()?;
                let mut found = false;
                if tz_east.is_none() && n == 4 && val <= 1400 && i > 0 && (s[i - 1] == b'+' || s[i - 1] == b'-') {
                    let secs = (val / 100 * 60 + val % 100) * 60;
                    tz_east = Some(if s[i - 1] == b'+' { secs } else { -secs });
                    found = true;
                }
                if !found && n == 8 && year.is_none() && mon.is_none() && mday.is_none() {
                    year = Some(val / 10000);
                    mon = Some((val % 10000) / 100 - 1);
                    mday = Some(val % 100);
                    found = true;
                }
                if !found && expect_mday && mday.is_none() {
                    if val > 0 && val < 32 {
                        mday = Some(val);
                        found = true;
                    }
                    expect_mday = false;
                }
                if !found && !expect_mday && year.is_none() {
                    let mut y = val;
                    if y < 100 {
                        y += if y > 70 { 1900 } else { 2000 };
                    }
                    year = Some(y);
                    found = true;
                    if mday.is_none() {
                        expect_mday = true;
                    }
                }
                if !found {
                    return None;
                }
                i += n;
            }
        }
        parts += 1;
    }
    let _ = wday;
    let (mday, mon, year) = (mday?, mon?, year?);
    let (h, m, sec) = time.unwrap_or((0, 0, 0));
    if !(0..=31).contains(&mday) || !(0..=11).contains(&mon) || h > 23 || m > 59 || sec > 60 || year < 1583 {
        return None;
    }
    // Years that large overflow nothing in i64 days, but keep the arithmetic bounded.
    let year = year.min(1_000_000_000);
    let days = days_from_civil(year, mon + 1, 1) + (mday - 1);
    let t = days.saturating_mul(86400).saturating_add(h * 3600 + m * 60 + sec).saturating_sub(tz_east.unwrap_or(0));
    Some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAN_2027: i64 = 1_798_761_600; // Fri, 01 Jan 2027 00:00:00 GMT

    #[test]
    fn http_dates() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_624_888), "Wed, 25 Nov 2026 16:41:28 GMT");
        assert_eq!(http_date(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(http_date(-1), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(http_date(4_107_542_400), "Mon, 01 Mar 2100 00:00:00 GMT");
    }

    #[test]
    fn civil_round_trips() {
        // every day from 1583 (the parser's first year) to 2400, both directions
        let (first, last) = (days_from_civil(1583, 1, 1), days_from_civil(2400, 12, 31));
        let mut expect = (1583, 1, 1);
        for days in first..=last {
            let got = civil_from_days(days);
            assert_eq!(got, expect, "day {days}");
            assert_eq!(days_from_civil(got.0, got.1 as i64, got.2 as i64), days);
            let leap = (got.0 % 4 == 0 && got.0 % 100 != 0) || got.0 % 400 == 0;
            let month_len =
                [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][got.1 as usize - 1];
            expect = if got.2 < month_len {
                (got.0, got.1, got.2 + 1)
            } else if got.1 < 12 {
                (got.0, got.1 + 1, 1)
            } else {
                (got.0 + 1, 1, 1)
            };
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2027, 2, 31), days_from_civil(2027, 3, 3));
        let c = civil_time(1_767_582_245);
        assert_eq!((c.year, c.month, c.day, c.hour, c.minute, c.second), (2026, 1, 5, 3, 4, 5));
        assert_eq!((c.weekday, c.month_name()), (1, "Jan"));
    }

    #[test]
    fn what_http_date_writes_parse_date_reads() {
        let mut t = -12_212_553_600i64; // 01 Jan 1583
        while t < 8_000_000_000 {
            assert_eq!(parse_date(&http_date(t)), Some(t), "{}", http_date(t));
            t += 7_654_321;
        }
    }

    #[test]
    fn date_parsing() {
        let cases: &[(&str, Option<i64>)] = &[
            ("Fri, 01 Jan 2027 00:00:00 GMT", Some(JAN_2027)),
            ("Sunday, 06-Nov-94 08:49:37 GMT", Some(784_111_777)),
            ("Sun Nov  6 08:49:37 1994", Some(784_111_777)),
            ("Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            ("Mon, 01 Jan 2027 00:00:00 GMT xyz", Some(JAN_2027)),
            ("01 Jan 2027 00:00:00 GMT xyz", None),
            ("01 Jan 2027 1:2:3", Some(JAN_2027 + 3723)),
            ("01 Jan 2027 01:02", Some(JAN_2027 + 3720)),
            ("01 Jan 2027 01:02:03:04", None),
            ("Jan 2027 01", Some(JAN_2027)),
            ("2027 Jan 01", Some(JAN_2027)),
            ("01/Jan/2027", Some(JAN_2027)),
            ("01Jan2027", Some(JAN_2027)),
            ("Jan-01-2027 10:00:00 EST", Some(JAN_2027 + 15 * 3600)),
            ("01 Jan 2027 00:00:00 UT", Some(JAN_2027)),
            ("01 Jan 2027 00:00:00 utc", None),
            ("01 Jan 2027 00:00:00 Gmt", None),
            ("01 jan 2027", Some(JAN_2027)),
            ("MONDAY, 01 JAN 2027", Some(JAN_2027)),
            ("Tues, 01 Jan 2027", None),
            ("Monday, 01 January 2027", None),
            ("01 Jan 2027 00:00:00 +0130", Some(JAN_2027 - 5400)),
            ("01 Jan 2027 00:00:00 +0060", Some(JAN_2027 - 3600)),
            ("01 Jan 2027 00:00:00 -1400", Some(JAN_2027 + 14 * 3600)),
            ("01 Jan 2027 00:00:00 +1500", None),
            ("01 Jan 2027 00:00:00 +01", None),
            ("01 Jan 2027 00:00:00 GMT+0100", None),
            ("Mon, 01 Jan 2027 00:00:00 GMT+2", Some(JAN_2027)),
            ("01 Jan 2027 00:00:00 PST -0100", None),
            ("01 Jan 2027 12:00:00 A", Some(JAN_2027 + 11 * 3600)),
            ("01 Jan 2027 12:00:00 N", Some(JAN_2027 + 13 * 3600)),
            ("01 Jan 2027 12:00:00 J", None),
            ("01 Jan 2027 12:00:00 z", None),
            ("01 Jan 2027 12:00:00 BST", Some(JAN_2027 + 11 * 3600)),
            ("01 Jan 2027 12:00:00 JST", Some(JAN_2027 + 3 * 3600)),
            ("01 Jan 2027 00:00:00 NZDT", Some(JAN_2027 - 13 * 3600)),
            ("01 Jan 2027 00:00:00 CEST", Some(JAN_2027 - 2 * 3600)),
            ("01 Jan 2027 00:00:00 MEZ", None),
            ("1 Jan 2027T00:00:00", Some(JAN_2027 + 7 * 3600)),
            ("Thu, 31 Feb 2027 00:00:00 GMT", Some(1_804_032_000)),
            ("01 Jan 2027 24:00:00", None),
            ("01 Jan 2027 23:59:60", Some(JAN_2027 + 86400)),
            ("01 Jan 2027 23:60:00", None),
            ("01 Jan 2027 00:00:00 GMT Mon", Some(JAN_2027)),
            ("Mon Mon 01 Jan 2027", None),
            ("01 Jan 2027 12", None),
            ("12:00:00 01 Jan 2027 +0100", Some(JAN_2027 + 11 * 3600)),
            ("Sep 01 2027", Some(1_819_756_800)),
            ("Sept 01 2027", None),
            ("01 Jan 2027 00:00:00.5", None),
            ("20270304", Some(1_804_118_400)),
            ("20270304 10:00:00", Some(1_804_154_400)),
            ("2027030", None),
            ("2027-03-04 10:11:12", None),
            ("Xyz, 01 Jan 2027", None),
            ("garbage", None),
            ("", None),
            ("31 Dec 1969 23:59:59 GMT", Some(-1)),
            ("01 Jan 1583", Some(-12_212_553_600)),
            ("31 Dec 1582", None),
            ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
        ];
        for (s, want) in cases {
            assert_eq!(parse_date(s), *want, "{s:?}");
        }
        // two-digit years: 71..99 are 19xx, 00..70 are 20xx
        assert_eq!(parse_date("01 Jan 70"), Some(3_155_760_000));
        assert_eq!(parse_date("01 Jan 71"), Some(31_536_000));
        assert_eq!(parse_date("01 Jan 27"), Some(JAN_2027));
        // a year far ahead parses (and gets capped when used as an expiry)
        assert!(parse_date("01 Jan 99999").unwrap() > 3_000_000_000_000);
    }
}
