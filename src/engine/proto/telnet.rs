//! TELNET (RFC 854) as libcurl speaks it: a raw byte stream both ways, with the server's commands
//! taken out of what it sends and answered by option negotiation (RFC 1143's Q method).
//!
//! - What libcurl wants: SUPPRESS GO AHEAD and BINARY both ways (BINARY=0 drops BINARY), the
//!   server's ECHO, and what TELNETOPTIONS asks for: TTYPE, XDISPLOC, NEW-ENVIRON (also when a
//!   user name is set: it goes as USER), NAWS (WS=WxH). NAWS is agreed to when the server asks
//!   for it, with a 0x0 size when none was given. Everything else is refused.
//! - libcurl starts negotiating only once the server has sent an option command, so a server
//!   that speaks no telnet gets plain bytes.
//! - A server's "SB TTYPE/XDISPLOC SEND" is answered with the configured value; with none set
//!   libcurl fails with 43 (bad function argument).
//! - Received data: IAC IAC is one 0xFF, a NUL after CR is dropped; sent data doubles 0xFF.

use crate::engine::error::code;

pub const IAC: u8 = 255;
const DONT: u8 = 254;
const DO: u8 = 253;
const WONT: u8 = 252;
const WILL: u8 = 251;
const SB: u8 = 250;
const SE: u8 = 240;

const BINARY: u8 = 0;
const ECHO: u8 = 1;
const SGA: u8 = 3;
const TTYPE: u8 = 24;
const NAWS: u8 = 31;
const XDISPLOC: u8 = 35;
const NEW_ENVIRON: u8 = 39;

const IS: u8 = 0;
const SEND: u8 = 1;
const ENV_VAR: u8 = 0;
const ENV_VALUE: u8 = 1;

/// The option names libcurl prints (arpa/telnet.h's, 0 to 39).
const OPT_NAMES: [&str; 40] = [
    "BINARY",
    "ECHO",
    "RCP",
    "SUPPRESS GO AHEAD",
    "NAME",
    "STATUS",
    "TIMING MARK",
    "RCTE",
    "NAOL",
    "NAOP",
    "NAOCRD",
    "NAOHTS",
    "NAOHTD",
    "NAOFFD",
    "NAOVTS",
    "NAOVTD",
    "NAOLFD",
    "EXTEND ASCII",
    "LOGOUT",
    "BYTE MACRO",
    "DE TERMINAL",
    "SUPDUP",
    "SUPDUP OUTPUT",
    "SEND LOCATION",
    "TERM TYPE",
    "END OF RECORD",
    "TACACS UID",
    "OUTPUT MARKING",
    "TTYLOC",
    "3270 REGIME",
    "X3 PAD",
    "NAWS",
    "TSPEED",
    "LFLOW",
    "LINEMODE",
    "XDISPLOC",
    "OLD-ENVIRON",
    "AUTHENTICATION",
    "ENCRYPT",
    "NEW-ENVIRON",
];

/// The command names libcurl prints, from 236 (EOF) to 255 (IAC).
const CMD_NAMES: [&str; 20] = [
    "EOF", "SUSP", "ABORT", "EOR", "SE", "NOP", "DMARK", "BRK", "IP", "AO", "AYT", "EC", "EL", "GA", "SB", "WILL",
    "WONT", "DO", "DONT", "IAC",
];

/// What TELNETOPTIONS (and the user name) ask for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Config {
    pub ttype: Option<Vec<u8>>,
    pub xdisploc: Option<Vec<u8>>,
    /// NEW_ENV values "name,value" (or "name"), USER first when a user name is set.
    pub env: Vec<Vec<u8>>,
    pub ws: Option<(u16, u16)>,
    pub no_binary: bool,
}

/// A TELNETOPTIONS error: libcurl's code, and its message when it writes one (else the code's own).
pub type OptError = (i32, Option<String>);

/// Reads TELNETOPTIONS as libcurl does, the first bad entry failing the transfer.
pub fn parse_options(list: &[String], user: Option<&str>) -> Result<Config, OptError> {
    let mut c = Config::default();
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        if !u.is_ascii() {
            return Err((code::BAD_FUNCTION_ARGUMENT, None));
        }
        c.env.push(format!("USER,{u}").into_bytes());
    }
    for item in list {
        let Some((name, arg)) = item.split_once('=') else {
            return Err((code::SETOPT_OPTION_SYNTAX, Some(format!("Syntax error in telnet option: {item}"))));
        };
        // libcurl skips an entry whose value is not ASCII.
        if !arg.is_ascii() {
            continue;
        }
        let is = |want: &str| name.eq_ignore_ascii_case(want);
        // libcurl compares by length first: a known length with another name has no message.
        let unknown_same_length = || Err((code::UNKNOWN_OPTION, None));
        match name.len() {
            5 if is("TTYPE") => c.ttype = Some(arg.as_bytes().to_vec()),
            8 if is("XDISPLOC") => c.xdisploc = Some(arg.as_bytes().to_vec()),
            7 if is("NEW_ENV") => c.env.push(arg.as_bytes().to_vec()),
            2 if is("WS") => match window_size(arg) {
                Some(ws) => c.ws = Some(ws),
                None => {
                    return Err((code::SETOPT_OPTION_SYNTAX, Some(format!("Syntax error in telnet option: {item}"))))
                }
            },
            6 if is("BINARY") => c.no_binary = leading_int(arg) != 1,
            2 | 5 | 6 | 7 | 8 => return unknown_same_length(),
            _ => return Err((code::UNKNOWN_OPTION, Some(format!("Unknown telnet option {item}")))),
        }
    }
    Ok(c)
}

/// C's atoi: optional blanks and sign, then digits.
fn leading_int(s: &str) -> i64 {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = t
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| n.saturating_mul(10).saturating_add(i64::from(d - b'0')));
    if neg {
        -n
    } else {
        n
    }
}

/// "WxH" as libcurl scans it: two numbers with x (or X) between.
fn window_size(arg: &str) -> Option<(u16, u16)> {
    let b = arg.trim_start().as_bytes();
    let d1 = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if d1 == 0 {
        return None;
    }
    let rest = &b[d1..];
    let xs = rest.iter().take_while(|c| **c == b'x' || **c == b'X').count();
    if xs == 0 {
        return None;
    }
    let rest = std::str::from_utf8(&rest[xs..]).ok()?.trim_start();
    let d2 = rest.bytes().take_while(u8::is_ascii_digit).count();
    if d2 == 0 {
        return None;
    }
    let num = |s: &[u8]| s.iter().fold(0u16, |n, d| n.wrapping_mul(10).wrapping_add(u16::from(d - b'0')));
    Some((num(&b[..d1]), num(&rest.as_bytes()[..d2])))
}

/// One thing to do, in the order the received bytes ask for it.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Data for WRITEFUNCTION (one run of plain bytes of the input).
    Data(Vec<u8>),
    /// Bytes to send to the server.
    Send(Vec<u8>),
    /// A VERBOSE line.
    Text(String),
}

/// RFC 1143's option states, those libcurl reaches: it never asks to turn an option off, so it
/// never waits for a WONT/DONT and keeps no queue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Q {
    No,
    Yes,
    WantYes,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum St {
    Data,
    Cr,
    Iac,
    Verb(u8),
    Sb,
    SbIac,
}

pub struct Telnet {
    cfg: Config,
    us: [Q; 256],
    him: [Q; 256],
    us_pref: [bool; 256],
    him_pref: [bool; 256],
    st: St,
    sb: Vec<u8>,
    please_negotiate: bool,
    negotiated: bool,
}

fn opt_name(o: u8) -> String {
    match OPT_NAMES.get(usize::from(o)) {
        Some(n) => (*n).to_string(),
        None if o == 255 => "EXOPL".to_string(),
        None => o.to_string(),
    }
}

impl Telnet {
    pub fn new(cfg: Config) -> Telnet {
        let mut us_pref = [false; 256];
        let mut him_pref = [false; 256];
        us_pref[usize::from(SGA)] = true;
        him_pref[usize::from(SGA)] = true;
        us_pref[usize::from(BINARY)] = !cfg.no_binary;
        him_pref[usize::from(BINARY)] = !cfg.no_binary;
        him_pref[usize::from(ECHO)] = true;
        us_pref[usize::from(TTYPE)] = cfg.ttype.is_some();
        us_pref[usize::from(XDISPLOC)] = cfg.xdisploc.is_some();
        us_pref[usize::from(NEW_ENVIRON)] = !cfg.env.is_empty();
        us_pref[usize::from(NAWS)] = cfg.ws.is_some();
        Telnet {
            cfg,
            us: [Q::No; 256],
            him: [Q::No; 256],
            us_pref,
            him_pref,
            st: St::Data,
            sb: Vec::new(),
            please_negotiate: false,
            negotiated: false,
        }
    }

    fn send_verb(&self, ev: &mut Vec<Event>, verb: u8, opt: u8) {
        ev.push(Event::Send(vec![IAC, verb, opt]));
        ev.push(Event::Text(format!("SENT {} {}", verb_name(verb), opt_name(opt))));
    }

    /// Takes the server's bytes: the data in them, the answers to send, the VERBOSE lines.
    /// Err(code) when a request cannot be answered (libcurl's 43).
    pub fn receive(&mut self, input: &[u8], ev: &mut Vec<Event>) -> Result<(), i32> {
        let mut run: Vec<u8> = Vec::new();
        let flush = |run: &mut Vec<u8>, ev: &mut Vec<Event>| {
            if !run.is_empty() {
                ev.push(Event::Data(std::mem::take(run)));
            }
        };
        for &c in input {
            match self.st {
                St::Data => {
                    if c == IAC {
                        flush(&mut run, ev);
                        self.st = St::Iac;
                    } else {
                        if c == b'\r' {
                            self.st = St::Cr;
                        }
                        run.push(c);
                    }
                }
                St::Cr => {
                    self.st = St::Data;
                    if c == 0 {
                        flush(&mut run, ev);
                    } else {
                        // Any other byte (a second CR too) is data, and reading goes on as data.
                        run.push(c);
                    }
                }
                St::Iac => self.command(c, &mut run, ev),
                St::Verb(v) => {
                    self.st = St::Data;
                    ev.push(Event::Text(format!("RCVD {} {}", verb_name(v), opt_name(c))));
                    self.please_negotiate = true;
                    match v {
                        WILL => self.rec_will(c, ev),
                        WONT => self.rec_wont(c, ev),
                        DO => self.rec_do(c, ev),
                        _ => self.rec_dont(c, ev),
                    }
                }
                St::Sb => {
                    if c == IAC {
                        self.st = St::SbIac;
                    } else {
                        self.sb.push(c);
                    }
                }
                St::SbIac => {
                    if c == SE {
                        self.st = St::Data;
                        self.suboption(ev)?;
                    } else if c == IAC {
                        self.sb.push(c);
                        self.st = St::Sb;
                    } else {
                        // An unterminated suboption: handled as ended, and the byte read as a command.
                        ev.push(Event::Text(format!("In SUBOPTION processing, RCVD IAC {}", cmd_name(c))));
                        self.suboption(ev)?;
                        self.command(c, &mut run, ev);
                    }
                }
            }
        }
        flush(&mut run, ev);
        if self.please_negotiate && !self.negotiated {
            self.negotiated = true;
            self.negotiate(ev);
        }
        Ok(())
    }

    fn command(&mut self, c: u8, run: &mut Vec<u8>, ev: &mut Vec<Event>) {
        self.st = St::Data;
        match c {
            WILL | WONT | DO | DONT => self.st = St::Verb(c),
            SB => {
                self.sb.clear();
                self.st = St::Sb;
            }
            IAC => run.push(IAC),
            _ => ev.push(Event::Text(format!("RCVD IAC {}", cmd_name(c)))),
        }
    }

    /// libcurl's first requests, once the server has negotiated: what it wants, ECHO excepted.
    fn negotiate(&mut self, ev: &mut Vec<Event>) {
        for o in 0..40u8 {
            let i = usize::from(o);
            if o == ECHO {
                continue;
            }
            if self.us_pref[i] && self.us[i] == Q::No {
                self.us[i] = Q::WantYes;
                self.send_verb(ev, WILL, o);
            }
            if self.him_pref[i] && self.him[i] == Q::No {
                self.him[i] = Q::WantYes;
                self.send_verb(ev, DO, o);
            }
        }
    }

    fn rec_will(&mut self, o: u8, ev: &mut Vec<Event>) {
        let i = usize::from(o);
        match self.him[i] {
            Q::No if self.him_pref[i] => {
                self.him[i] = Q::Yes;
                self.send_verb(ev, DO, o);
            }
            Q::No => self.send_verb(ev, DONT, o),
            Q::Yes => {}
            Q::WantYes => self.him[i] = Q::Yes,
        }
    }

    fn rec_wont(&mut self, o: u8, ev: &mut Vec<Event>) {
        let i = usize::from(o);
        match self.him[i] {
            Q::No => {}
            Q::Yes => {
                self.him[i] = Q::No;
                self.send_verb(ev, DONT, o);
            }
            Q::WantYes => self.him[i] = Q::No,
        }
    }

    fn rec_do(&mut self, o: u8, ev: &mut Vec<Event>) {
        let i = usize::from(o);
        match self.us[i] {
            // NAWS is agreed to whenever asked (libcurl then sends its size, 0x0 when unset).
            Q::No if self.us_pref[i] || o == NAWS => {
                self.us[i] = Q::Yes;
                self.send_verb(ev, WILL, o);
                if o == NAWS {
                    self.send_naws(ev);
                }
            }
            Q::No => self.send_verb(ev, WONT, o),
            Q::Yes => {}
            Q::WantYes => {
                self.us[i] = Q::Yes;
                if o == NAWS {
                    self.send_naws(ev);
                }
            }
        }
    }

    fn rec_dont(&mut self, o: u8, ev: &mut Vec<Event>) {
        let i = usize::from(o);
        match self.us[i] {
            Q::No => {}
            Q::Yes => {
                self.us[i] = Q::No;
                self.send_verb(ev, WONT, o);
            }
            Q::WantYes => self.us[i] = Q::No,
        }
    }

    fn send_naws(&self, ev: &mut Vec<Event>) {
        let (w, h) = self.cfg.ws.unwrap_or((0, 0));
        let mut out = vec![IAC, SB, NAWS];
        out.extend(escape(&[(w >> 8) as u8, w as u8, (h >> 8) as u8, h as u8]));
        out.extend([IAC, SE]);
        ev.push(Event::Text("SENT IAC SB ".into()));
        ev.push(Event::Text("NAWS".into()));
        ev.push(Event::Text(format!("Width: {w} ; Height: {h}")));
        ev.push(Event::Send(out));
    }

    /// The server's SB ... SE: a SEND for TTYPE, XDISPLOC or NEW-ENVIRON is answered.
    fn suboption(&mut self, ev: &mut Vec<Event>) -> Result<(), i32> {
        let sb = std::mem::take(&mut self.sb);
        print_sub(ev, "RCVD", &sb);
        let Some(&opt) = sb.first() else { return Ok(()) };
        let mut body = vec![opt, IS];
        match opt {
            TTYPE | XDISPLOC => {
                let v = if opt == TTYPE { &self.cfg.ttype } else { &self.cfg.xdisploc };
                body.extend_from_slice(v.as_deref().ok_or(code::BAD_FUNCTION_ARGUMENT)?);
            }
            NEW_ENVIRON => {
                for var in &self.cfg.env {
                    body.push(ENV_VAR);
                    match var.iter().position(|&b| b == b',') {
                        Some(p) => {
                            body.extend_from_slice(&var[..p]);
                            body.push(ENV_VALUE);
                            body.extend_from_slice(&var[p + 1..]);
                        }
                        None => body.extend_from_slice(var),
                    }
                }
            }
            _ => return Ok(()),
        }
        let mut out = vec![IAC, SB];
        out.extend_from_slice(&body);
        out.extend([IAC, SE]);
        ev.push(Event::Send(out));
        print_sub(ev, "SENT", &body);
        Ok(())
    }
}

fn verb_name(v: u8) -> &'static str {
    match v {
        WILL => "WILL",
        WONT => "WONT",
        DO => "DO",
        _ => "DONT",
    }
}

fn cmd_name(c: u8) -> String {
    match c.checked_sub(236) {
        Some(i) => CMD_NAMES[usize::from(i)].to_string(),
        None => c.to_string(),
    }
}

/// libcurl's VERBOSE account of a suboption (option, qualifier, payload), one line a piece.
fn print_sub(ev: &mut Vec<Event>, dir: &str, sb: &[u8]) {
    let mut t = |s: String| ev.push(Event::Text(s));
    t(format!("{dir} IAC SB "));
    let Some(&opt) = sb.first() else {
        t("(Empty suboption?)".into());
        return;
    };
    match opt {
        TTYPE | XDISPLOC | NEW_ENVIRON | NAWS => t(opt_name(opt)),
        o if usize::from(o) < OPT_NAMES.len() => t(format!("{} (unsupported)", opt_name(o))),
        o => t(format!("{o} (unknown)")),
    }
    if opt == NAWS {
        if sb.len() > 4 {
            t(format!(
                "Width: {} ; Height: {}",
                u16::from(sb[1]) << 8 | u16::from(sb[2]),
                u16::from(sb[3]) << 8 | u16::from(sb[4])
            ));
        }
        return;
    }
    match sb.get(1) {
        Some(&IS) => t(" IS".into()),
        Some(&SEND) => t(" SEND".into()),
        Some(2) => t(" INFO/REPLY".into()),
        Some(3) => t(" NAME".into()),
        _ => {}
    }
    match opt {
        TTYPE | XDISPLOC => t(format!(" \"{}\"", String::from_utf8_lossy(sb.get(2..).unwrap_or_default()))),
        NEW_ENVIRON => {
            if sb.get(1) == Some(&IS) {
                t(" ".into());
                for &c in sb.iter().skip(3) {
                    t(match c {
                        ENV_VAR => ", ".into(),
                        ENV_VALUE => " = ".into(),
                        c => char::from(c).to_string(),
                    });
                }
            }
        }
        _ => {
            for &c in sb.iter().skip(2) {
                t(format!(" {c:02x}"));
            }
        }
    }
}

/// Data to send: 0xFF doubled.
pub fn escape(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 2);
    for &b in data {
        out.push(b);
        if b == IAC {
            out.push(IAC);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: &mut Telnet, input: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<String>) {
        let mut ev = Vec::new();
        t.receive(input, &mut ev).unwrap();
        let (mut data, mut sent, mut text) = (Vec::new(), Vec::new(), Vec::new());
        for e in ev {
            match e {
                Event::Data(d) => data.extend(d),
                Event::Send(s) => sent.extend(s),
                Event::Text(s) => text.push(s),
            }
        }
        (data, sent, text)
    }

    #[test]
    fn data_is_unescaped_and_plain_servers_get_no_negotiation() {
        let mut t = Telnet::new(Config::default());
        let (data, sent, _) = run(&mut t, b"hello\r\0x\xff\xffy\r\n");
        assert_eq!(data, b"hello\rx\xffy\r\n");
        assert!(sent.is_empty());
        assert_eq!(escape(b"a\xffb"), b"a\xff\xffb");
    }

    #[test]
    fn answers_as_libcurl() {
        let mut t = Telnet::new(Config::default());
        let (_, sent, text) = run(&mut t, &[IAC, DO, TTYPE, IAC, WILL, ECHO, IAC, DO, NAWS, IAC, WILL, 5]);
        assert_eq!(
            sent,
            [
                IAC, WONT, TTYPE, IAC, DO, ECHO, IAC, WILL, NAWS, IAC, SB, NAWS, 0, 0, 0, 0, IAC, SE, IAC, DONT, 5,
                IAC, WILL, BINARY, IAC, DO, BINARY, IAC, WILL, SGA, IAC, DO, SGA
            ]
        );
        assert_eq!(text[0], "RCVD DO TERM TYPE");
        assert_eq!(text.last().map(String::as_str), Some("SENT DO SUPPRESS GO AHEAD"));
        // The server's answers to our requests need no reply.
        let (_, sent, _) = run(&mut t, &[IAC, WILL, SGA, IAC, DO, BINARY]);
        assert!(sent.is_empty());
    }

    #[test]
    fn subnegotiation_and_options() {
        let cfg = parse_options(
            &["TTYPE=vt100".into(), "NEW_ENV=FOO,bar".into(), "NEW_ENV=BAZ".into(), "WS=80x24".into()],
            Some("joe"),
        )
        .unwrap();
        let mut t = Telnet::new(cfg);
        let (_, sent, _) = run(&mut t, &[IAC, SB, TTYPE, SEND, IAC, SE, IAC, SB, NEW_ENVIRON, SEND, IAC, SE]);
        let mut want = vec![IAC, SB, TTYPE, IS];
        want.extend(b"vt100\xff\xf0\xff\xfa'\x00\x00USER\x01joe\x00FOO\x01bar\x00BAZ\xff\xf0");
        assert_eq!(sent, want);
        let mut ev = Vec::new();
        assert_eq!(t.receive(&[IAC, SB, XDISPLOC, SEND, IAC, SE], &mut ev), Err(code::BAD_FUNCTION_ARGUMENT));
    }

    #[test]
    fn option_errors() {
        let e = |s: &str| parse_options(&[s.to_string()], None).unwrap_err();
        assert_eq!(e("FOO=1"), (48, Some("Unknown telnet option FOO=1".into())));
        assert_eq!(e("TTYPEX=1"), (48, None));
        assert_eq!(e("TTYPE"), (49, Some("Syntax error in telnet option: TTYPE".into())));
        assert_eq!(e("WS=80"), (49, Some("Syntax error in telnet option: WS=80".into())));
        assert_eq!(parse_options(&["WS=0x5".into()], None).unwrap().ws, Some((0, 5)));
        assert!(parse_options(&["binary=0".into()], None).unwrap().no_binary);
        assert!(!parse_options(&["BINARY=1".into()], None).unwrap().no_binary);
    }
}
