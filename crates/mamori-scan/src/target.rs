//! Scan target validation: an IP address, a CIDR network or a host name — never anything an
//! nmap option parser or a shell could interpret.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;

/// Longest host name (RFC 1123).
pub const HOSTNAME_MAX_LEN: usize = 253;
/// Smallest IPv4 prefix accepted (a /16 is 65,536 addresses).
pub const MIN_PREFIX_V4: u8 = 16;
/// Smallest IPv6 prefix accepted.
pub const MIN_PREFIX_V6: u8 = 112;

/// A validated scan target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub enum Target {
    /// A single address.
    Ip(IpAddr),
    /// A network.
    Net(IpNet),
    /// A DNS name.
    Hostname(String),
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Ip(ip) => write!(f, "{ip}"),
            Target::Net(n) => write!(f, "{n}"),
            Target::Hostname(h) => f.write_str(h),
        }
    }
}

/// A rejected target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid scan target {input:?}: {reason}")]
pub struct TargetError {
    /// The rejected text (clipped).
    pub input: String,
    /// Why.
    pub reason: &'static str,
}

impl Target {
    /// Validate one target.
    ///
    /// ```
    /// use mamori_scan::target::Target;
    /// assert!(Target::parse("192.0.2.0/28").is_ok());
    /// assert!(Target::parse("db01.example.co.jp").is_ok());
    /// assert!(Target::parse("-iL/etc/passwd").is_err());
    /// assert!(Target::parse("host;rm -rf /").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Target, TargetError> {
        let err = |reason| TargetError {
            input: s.chars().take(80).collect(),
            reason,
        };
        if s.is_empty() {
            return Err(err("empty"));
        }
        if s.starts_with('-') {
            return Err(err("looks like a command-line option"));
        }
        if s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || "`$;&|<>()'\"\\*?!{}[]~#%=,^".contains(c)
        }) {
            return Err(err("contains whitespace, shell or option metacharacters"));
        }
        if let Ok(ip) = s.parse::<IpAddr>() {
            return Ok(Target::Ip(ip));
        }
        if s.contains('/') {
            let net: IpNet = s.parse().map_err(|_| err("not a valid cidr network"))?;
            let too_wide = match net {
                IpNet::V4(n) => n.prefix_len() < MIN_PREFIX_V4,
                IpNet::V6(n) => n.prefix_len() < MIN_PREFIX_V6,
            };
            if too_wide {
                return Err(err("network too large (ipv4 /16 or ipv6 /112 at most)"));
            }
            return Ok(Target::Net(net.trunc()));
        }
        if s.len() > HOSTNAME_MAX_LEN {
            return Err(err("host name longer than 253 characters"));
        }
        let h = s.strip_suffix('.').unwrap_or(s);
        let labels_ok = h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !labels_ok {
            return Err(err("not an ip address, cidr network or valid host name"));
        }
        if h.split('.').all(|l| l.bytes().all(|b| b.is_ascii_digit())) {
            return Err(err("numeric name that is not a valid ip address"));
        }
        Ok(Target::Hostname(h.to_ascii_lowercase()))
    }

    /// Whether every address of this target is in 127.0.0.0/8 or ::1 (hostnames: only `localhost`).
    pub fn is_loopback(&self) -> bool {
        match self {
            Target::Ip(ip) => ip.is_loopback(),
            Target::Net(n) => n.network().is_loopback() && n.broadcast().is_loopback(),
            Target::Hostname(h) => h == "localhost",
        }
    }
}

/// Validate a list of targets, failing on the first bad one.
pub fn parse_targets<S: AsRef<str>>(items: &[S]) -> Result<Vec<Target>, TargetError> {
    items.iter().map(|s| Target::parse(s.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_rejects() {
        assert_eq!(
            Target::parse("127.0.0.1").unwrap(),
            Target::Ip("127.0.0.1".parse().unwrap())
        );
        assert!(matches!(Target::parse("::1"), Ok(Target::Ip(_))));
        assert_eq!(
            Target::parse("10.0.0.7/24").unwrap().to_string(),
            "10.0.0.0/24"
        );
        assert!(
            matches!(Target::parse("Host-1.Example.JP."), Ok(Target::Hostname(h)) if h == "host-1.example.jp")
        );
        for bad in [
            "",
            "-sV",
            "--script=x",
            "a b",
            "a;b",
            "$(id)",
            "`id`",
            "a|b",
            "a&b",
            "x>y",
            "10.0.0.0/8",
            "::/64",
            "10.0.0.0/33",
            "999.1.1.1",
            "1.2.3",
            "-",
            "a..b",
            "-a.b",
            "a\nb",
            "host\0",
            "a,b",
            "[::1]",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(Target::parse(&"a".repeat(300)).is_err());
    }

    #[test]
    fn loopback() {
        assert!(Target::parse("127.0.0.0/24").unwrap().is_loopback());
        assert!(!Target::parse("192.0.2.1").unwrap().is_loopback());
        assert!(Target::parse("localhost").unwrap().is_loopback());
    }
}
