//! Telnet (RFC 854): identified by IAC option negotiation; the dissector lists the options
//! negotiated and, cheaply, the login name typed after a `login:` prompt (cleartext).

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{bounded_str, contains_ci, trim};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Interpret As Command.
const IAC: u8 = 255;
/// Sub-negotiation begin / end.
const SB: u8 = 250;
const SE: u8 = 240;
/// WILL, WONT, DO, DONT.
const WILL: u8 = 251;
const DONT: u8 = 254;

/// Distinct options kept.
pub const MAX_OPTIONS: usize = 32;
/// Longest typed login name kept.
pub const MAX_USER: usize = 64;
/// Longest prompt text remembered (the tail of server output).
const PROMPT_TAIL: usize = 64;
/// Longest sub-negotiation skipped before giving up on the stream.
const MAX_SB: usize = 4096;

/// Probe: the payload starts with an IAC WILL/WONT/DO/DONT negotiation and every
/// following IAC sequence in the first bytes is well-formed.
pub fn probe(_meta: &FlowMeta, _dir: Dir, data: &[u8]) -> Probe {
    match data {
        [] => Probe::No,
        [IAC] => Probe::Maybe,
        [IAC, c] if (WILL..=DONT).contains(c) || *c == SB => Probe::Maybe,
        [IAC, c, ..] if (WILL..=DONT).contains(c) => {
            // Check up to 4 following commands for well-formedness.
            let mut i = 0;
            let mut seen = 0;
            while let (Some(&IAC), Some(&cmd)) = (data.get(i), data.get(i + 1)) {
                if (WILL..=DONT).contains(&cmd) {
                    if data.get(i + 2).is_none() {
                        break;
                    }
                    i += 3;
                } else if cmd == SB {
                    break;
                } else if !(SE..=DONT).contains(&cmd) && cmd != IAC {
                    return Probe::No;
                } else {
                    i += 2;
                }
                seen += 1;
                if seen >= 4 {
                    break;
                }
            }
            Probe::Yes
        }
        _ => Probe::No,
    }
}

/// A fresh Telnet dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(TelnetDissector::default())
}

/// Option name for the common options, the number otherwise.
pub fn option_name(o: u8) -> String {
    match o {
        0 => "binary".into(),
        1 => "echo".into(),
        3 => "suppress-go-ahead".into(),
        5 => "status".into(),
        24 => "terminal-type".into(),
        31 => "window-size".into(),
        32 => "terminal-speed".into(),
        33 => "remote-flow-control".into(),
        34 => "linemode".into(),
        35 => "x-display-location".into(),
        36 => "environment".into(),
        37 => "authentication".into(),
        38 => "encryption".into(),
        39 => "new-environment".into(),
        n => n.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum IacState {
    #[default]
    Data,
    Command,
    Opt,
    Sb(usize),
    SbEscape(usize),
}

/// Telnet dissector.
#[derive(Debug, Default)]
pub struct TelnetDissector {
    state: [IacState; 2],
    options: Vec<u8>,
    prompt_tail: Vec<u8>,
    awaiting_user: bool,
    typed: Vec<u8>,
    user: Option<String>,
    emitted: bool,
    counters: Counters,
}

impl TelnetDissector {
    /// Counters of dropped input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn data_byte(&mut self, dir: Dir, b: u8) {
        match dir {
            Dir::ToClient => {
                if self.prompt_tail.len() >= PROMPT_TAIL {
                    self.prompt_tail.remove(0);
                }
                self.prompt_tail.push(b);
                let t = trim(&self.prompt_tail);
                if self.user.is_none()
                    && (t.ends_with(b"login:")
                        || t.ends_with(b"Username:")
                        || contains_ci(
                            t.get(t.len().saturating_sub(10)..).unwrap_or(&[]),
                            b"username:",
                        ))
                {
                    self.awaiting_user = true;
                    self.prompt_tail.clear();
                }
            }
            Dir::ToServer => {
                if !self.awaiting_user {
                    return;
                }
                match b {
                    b'\r' | b'\n' | 0 if !self.typed.is_empty() => {
                        self.user = Some(bounded_str(&self.typed, MAX_USER));
                        self.awaiting_user = false;
                    }
                    b'\r' | b'\n' | 0 => {}
                    8 | 127 => {
                        self.typed.pop();
                    }
                    _ if self.typed.len() < MAX_USER => self.typed.push(b),
                    _ => {}
                }
            }
        }
    }
}

impl Dissector for TelnetDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], _ts: Timestamp, _out: &mut Vec<Record>) -> Progress {
        let i = usize::from(dir == Dir::ToClient);
        let mut st = self.state.get(i).copied().unwrap_or_default();
        for &b in data {
            st = match st {
                IacState::Data if b == IAC => IacState::Command,
                IacState::Data => {
                    self.data_byte(dir, b);
                    IacState::Data
                }
                IacState::Command => match b {
                    WILL..=DONT => IacState::Opt,
                    SB => IacState::Sb(0),
                    IAC => {
                        self.data_byte(dir, b);
                        IacState::Data
                    }
                    _ => IacState::Data,
                },
                IacState::Opt => {
                    if !self.options.contains(&b) {
                        if self.options.len() < MAX_OPTIONS {
                            self.options.push(b);
                        } else {
                            self.counters.incr("telnet_options_over_limit");
                        }
                    }
                    IacState::Data
                }
                IacState::Sb(n) if n > MAX_SB => {
                    self.counters.incr("telnet_subnegotiation_too_long");
                    IacState::Data
                }
                IacState::Sb(n) if b == IAC => IacState::SbEscape(n + 1),
                IacState::Sb(n) => IacState::Sb(n + 1),
                IacState::SbEscape(_) if b == SE => IacState::Data,
                IacState::SbEscape(n) => IacState::Sb(n + 1),
            };
        }
        if let Some(s) = self.state.get_mut(i) {
            *s = st;
        }
        Progress::Continue
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Record>) {
        if self.emitted {
            return;
        }
        self.emitted = true;
        let mut f = Fields::new();
        self.flow_fields(&mut f);
        out.push(Record {
            dataset: "telnet",
            ts,
            fields: f,
        });
    }

    fn flow_fields(&self, fields: &mut Fields) {
        if !self.options.is_empty() {
            fields.insert(
                "mamori.telnet.options".into(),
                Value::List(
                    self.options
                        .iter()
                        .map(|&o| Value::from(option_name(o)))
                        .collect(),
                ),
            );
        }
        if let Some(u) = &self.user {
            fields.insert("user.name".into(), Value::from(u.clone()));
        }
    }
}
