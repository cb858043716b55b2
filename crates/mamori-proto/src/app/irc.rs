//! IRC (RFC 2812): nick, user name, joined channels and the number of private messages.

use mamori_core::{Counters, Fields, Timestamp, Value};

use super::http::text::{bounded_str, push_bounded, split_word, starts_with_ci, str_list, LineBuf};
use super::{Dir, Dissector, FlowMeta, Probe, Progress, Record};

/// Channels kept per flow.
pub const MAX_CHANNELS: usize = 64;
/// Longest nick/channel kept.
pub const MAX_NAME_LEN: usize = 64;

fn first_line(data: &[u8]) -> Option<&[u8]> {
    let nl = data.iter().position(|&b| b == b'\n')?;
    let l = data.get(..nl)?;
    Some(l.strip_suffix(b"\r").unwrap_or(l))
}

/// Probe: client `NICK x`, `CAP LS`, `USER u m * :real` (four parameters), or a server
/// line `:prefix NOTICE|<3 digits> …`.
pub fn probe(_meta: &FlowMeta, dir: Dir, data: &[u8]) -> Probe {
    let Some(line) = first_line(data) else {
        return if !data.is_empty()
            && data.len() < 64
            && data.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
        {
            Probe::Maybe
        } else {
            Probe::No
        };
    };
    match dir {
        Dir::ToServer => {
            let (cmd, args) = split_word(line);
            let nick =
                cmd.eq_ignore_ascii_case(b"NICK") && !args.is_empty() && !args.contains(&b' ');
            if nick || starts_with_ci(line, b"CAP LS") {
                Probe::Yes
            } else if cmd.eq_ignore_ascii_case(b"USER") {
                let (_u, r) = split_word(args);
                let (_m, r) = split_word(r);
                let (_x, r) = split_word(r);
                if r.starts_with(b":") {
                    Probe::Yes
                } else {
                    Probe::No
                }
            } else if cmd.eq_ignore_ascii_case(b"PASS") {
                Probe::Maybe
            } else {
                Probe::No
            }
        }
        Dir::ToClient => {
            let Some(rest) = line.strip_prefix(b":") else {
                return Probe::No;
            };
            let (_prefix, rest) = split_word(rest);
            let (cmd, _) = split_word(rest);
            let numeric = cmd.len() == 3 && cmd.iter().all(u8::is_ascii_digit);
            if numeric || cmd == b"NOTICE" {
                Probe::Yes
            } else {
                Probe::No
            }
        }
    }
}

/// A fresh IRC dissector.
pub fn new_dissector(_meta: &FlowMeta) -> Box<dyn Dissector> {
    Box::new(IrcDissector::default())
}

/// IRC dissector: one record per session.
#[derive(Debug, Default)]
pub struct IrcDissector {
    client: LineBuf,
    server: LineBuf,
    nick: Option<String>,
    user: Option<String>,
    channels: Vec<String>,
    privmsgs: u64,
    emitted: bool,
    counters: Counters,
}

impl IrcDissector {
    /// Counters of dropped input.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    fn client_line(&mut self, line: &[u8]) {
        let line = if line.starts_with(b":") {
            split_word(line).1
        } else {
            line
        };
        let (cmd, args) = split_word(line);
        if cmd.eq_ignore_ascii_case(b"NICK") {
            let n = args.strip_prefix(b":").unwrap_or(args);
            self.nick = Some(bounded_str(split_word(n).0, MAX_NAME_LEN));
        } else if cmd.eq_ignore_ascii_case(b"USER") {
            self.user = Some(bounded_str(split_word(args).0, MAX_NAME_LEN));
        } else if cmd.eq_ignore_ascii_case(b"JOIN") {
            for ch in split_word(args).0.split(|&b| b == b',') {
                if !ch.is_empty() && ch != b"0" {
                    push_bounded(
                        &mut self.channels,
                        bounded_str(ch, MAX_NAME_LEN),
                        MAX_CHANNELS,
                        &mut self.counters,
                        "irc_channels_over_limit",
                    );
                }
            }
        } else if cmd.eq_ignore_ascii_case(b"PRIVMSG") {
            self.privmsgs += 1;
        }
    }
}

impl Dissector for IrcDissector {
    fn counters(&self) -> Option<&Counters> {
        Some(&self.counters)
    }
    fn feed(&mut self, dir: Dir, data: &[u8], _ts: Timestamp, _out: &mut Vec<Record>) -> Progress {
        let mut lines = Vec::new();
        let lb = match dir {
            Dir::ToServer => &mut self.client,
            Dir::ToClient => &mut self.server,
        };
        lb.feed(data, &mut self.counters, |l| {
            if dir == Dir::ToServer {
                lines.push(l.to_vec());
            }
            true
        });
        for l in lines {
            self.client_line(&l);
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
        f.insert(
            "mamori.irc.privmsg_count".into(),
            Value::from(self.privmsgs),
        );
        out.push(Record {
            dataset: "irc",
            ts,
            fields: f,
        });
    }

    fn flow_fields(&self, f: &mut Fields) {
        if let Some(n) = &self.nick {
            f.insert("mamori.irc.nick".into(), Value::from(n.clone()));
        }
        if let Some(u) = &self.user {
            f.insert("user.name".into(), Value::from(u.clone()));
        }
        if !self.channels.is_empty() {
            f.insert("mamori.irc.channels".into(), str_list(&self.channels));
        }
    }
}
