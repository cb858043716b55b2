//! Home networks and `network.direction`.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;

/// The networks an organisation calls its own (`--home-net 10.0.0.0/8,192.168.0.0/16`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HomeNets {
    nets: Vec<IpNet>,
}

/// A home-network list entry that is not a CIDR or address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid network {entry:?} (expected an address or CIDR such as 10.0.0.0/8)")]
pub struct NetParseError {
    /// The rejected entry.
    pub entry: String,
}

/// ECS `network.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From outside into a home network.
    Inbound,
    /// From a home network out.
    Outbound,
    /// Both ends in home networks.
    Internal,
    /// Neither end in a home network.
    External,
}

impl Direction {
    /// The ECS text.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
            Direction::External => "external",
        }
    }
}

/// Parse `a.b.c.d`, `a.b.c.d/nn` or an IPv6 form into a network.
pub fn parse_net(s: &str) -> Result<IpNet, NetParseError> {
    let s = s.trim();
    IpNet::from_str(s)
        .or_else(|_| IpAddr::from_str(s).map(IpNet::from))
        .map(|n| n.trunc())
        .map_err(|_| NetParseError {
            entry: s.to_owned(),
        })
}

impl HomeNets {
    /// The RFC 1918, RFC 4193 and link-local ranges: a sensible default for a company LAN.
    pub fn private_defaults() -> HomeNets {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "fc00::/7",
            "fe80::/10",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
        HomeNets { nets }
    }
    /// From a list of networks.
    pub fn new(nets: Vec<IpNet>) -> HomeNets {
        HomeNets { nets }
    }
    /// Parse a comma-separated list.
    pub fn parse_list(s: &str) -> Result<HomeNets, NetParseError> {
        let nets = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(parse_net)
            .collect::<Result<_, _>>()?;
        Ok(HomeNets { nets })
    }
    /// Add more networks.
    pub fn extend(&mut self, other: &HomeNets) {
        self.nets.extend(other.nets.iter().copied());
    }
    /// The networks.
    pub fn nets(&self) -> &[IpNet] {
        &self.nets
    }
    /// Whether an address is inside a home network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }
    /// Direction of traffic from `src` to `dst`.
    pub fn direction(&self, src: IpAddr, dst: IpAddr) -> Direction {
        match (self.contains(src), self.contains(dst)) {
            (true, true) => Direction::Internal,
            (true, false) => Direction::Outbound,
            (false, true) => Direction::Inbound,
            (false, false) => Direction::External,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directions() {
        let h = HomeNets::parse_list("10.0.0.0/8, 192.168.0.0/16").unwrap();
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        let b: IpAddr = "192.168.9.9".parse().unwrap();
        let x: IpAddr = "8.8.8.8".parse().unwrap();
        assert_eq!(h.direction(a, b), Direction::Internal);
        assert_eq!(h.direction(a, x), Direction::Outbound);
        assert_eq!(h.direction(x, a), Direction::Inbound);
        assert_eq!(h.direction(x, x), Direction::External);
    }

    #[test]
    fn rejects_garbage_with_the_entry() {
        let e = HomeNets::parse_list("10.0.0.0/8,nonsense").unwrap_err();
        assert_eq!(e.entry, "nonsense");
        assert!(parse_net("10.0.0.1").is_ok());
    }
}
