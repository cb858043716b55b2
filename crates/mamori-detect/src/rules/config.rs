//! The `[rules]` config section: knobs the rule files refer to with `${name}` placeholders
//! (trap accounts, allowed sudoers, proxy addresses, business hours …).

use std::collections::BTreeMap;

use mamori_core::Timestamp;
use serde::Deserialize;

/// Most entries accepted in one configured list.
pub const MAX_CONFIG_LIST: usize = 10_000;

/// Business hours: local time of day and week days during which admin logons are expected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHours {
    /// Start, `HH:MM` local time (inclusive). Default `08:00`.
    pub start: String,
    /// End, `HH:MM` local time (exclusive). Default `20:00`.
    pub end: String,
    /// Working days (`mon` … `sun`). Default Monday to Friday.
    pub days: Vec<String>,
    /// Local offset from UTC in minutes. Default 540 (Japan, UTC+9).
    pub utc_offset_minutes: i32,
    /// Holidays (`YYYY-MM-DD`, local), treated as outside business hours.
    pub holidays: Vec<String>,
}

impl Default for BusinessHours {
    fn default() -> Self {
        BusinessHours {
            start: "08:00".into(),
            end: "20:00".into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| (*d).to_owned())
                .collect(),
            utc_offset_minutes: 540,
            holidays: Vec::new(),
        }
    }
}

/// The `[rules]` section of the config file (`deny_unknown_fields`).
///
/// ```
/// let cfg = mamori_detect::rules::RulesConfig::from_toml_str(
///     "trap_accounts = [\"decoy-admin\"]\nproxy_addresses = [\"10.0.0.3\"]\n",
///     "mamori.toml",
/// ).unwrap();
/// assert_eq!(cfg.trap_accounts, vec!["decoy-admin"]);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// Decoy accounts (おとりアカウント): any logon attempt with one is critical (`${trap_accounts}`).
    pub trap_accounts: Vec<String>,
    /// Users allowed to run sudo (`${allowed_sudoers}`).
    pub allowed_sudoers: Vec<String>,
    /// Administrative account names (`${admin_accounts}`), default root and Administrator.
    pub admin_accounts: Vec<String>,
    /// Hosts from which admin logons are expected (`${admin_hosts}`, IPs or CIDRs).
    pub admin_hosts: Vec<String>,
    /// Web proxy addresses (`${proxy_addresses}`); rules about bypassing the proxy need it.
    pub proxy_addresses: Vec<String>,
    /// Client networks (`${client_networks}`, CIDRs); default the RFC 1918 ranges.
    pub client_networks: Vec<String>,
    /// Business hours for `outside_business_hours`.
    pub business_hours: BusinessHours,
    /// Further named lists usable as `${name}` in rules.
    pub lists: BTreeMap<String, Vec<String>>,
    /// Rule ids switched off.
    pub disabled: Vec<String>,
    /// How far behind the newest event of a group an event may arrive and still count (s).
    pub allowed_lateness_secs: u64,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            trap_accounts: Vec::new(),
            allowed_sudoers: Vec::new(),
            admin_accounts: vec!["root".into(), "administrator".into()],
            admin_hosts: Vec::new(),
            proxy_addresses: Vec::new(),
            client_networks: vec![
                "10.0.0.0/8".into(),
                "172.16.0.0/12".into(),
                "192.168.0.0/16".into(),
            ],
            business_hours: BusinessHours::default(),
            lists: BTreeMap::new(),
            disabled: Vec::new(),
            allowed_lateness_secs: super::DEFAULT_LATENESS_SECS,
        }
    }
}

/// A `[rules]` section that does not parse or holds an invalid value.
#[derive(Debug, thiserror::Error)]
pub enum RulesConfigError {
    /// TOML syntax or an unknown key.
    #[error("{origin}: {reason}")]
    Toml {
        /// File name.
        origin: String,
        /// The parser's message (with line and column).
        reason: String,
    },
    /// A value out of range.
    #[error("{origin}: rules.{key}: invalid value {value:?}: {reason}")]
    Invalid {
        /// File name.
        origin: String,
        /// Key.
        key: String,
        /// Offending value.
        value: String,
        /// Why.
        reason: &'static str,
    },
}

/// Business hours compiled to minutes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Hours {
    start_min: u32,
    end_min: u32,
    days: [bool; 7],
    offset_secs: i64,
    holidays: Vec<(i32, u32, u32)>,
}

impl Hours {
    /// Whether `ts` lies outside business hours.
    pub(crate) fn outside(&self, ts: Timestamp) -> bool {
        let local = Timestamp::from_unix_nanos(
            ts.unix_nanos()
                .saturating_add(self.offset_secs.saturating_mul(1_000_000_000)),
        );
        let (y, mo, d, h, mi, _, _) = local.to_civil();
        // 1970-01-01 was a Thursday; index 0 = Monday.
        let days = local.unix_nanos().div_euclid(86_400 * 1_000_000_000);
        let wd = (days + 3).rem_euclid(7) as usize;
        if !self.days.get(wd).copied().unwrap_or(false) || self.holidays.contains(&(y, mo, d)) {
            return true;
        }
        let m = h * 60 + mi;
        if self.start_min <= self.end_min {
            !(self.start_min..self.end_min).contains(&m)
        } else {
            // Night shift spanning midnight.
            !(m >= self.start_min || m < self.end_min)
        }
    }
}

fn hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

impl RulesConfig {
    /// Parse the body of a `[rules]` section (keys at top level).
    pub fn from_toml_str(s: &str, origin: &str) -> Result<RulesConfig, RulesConfigError> {
        let cfg: RulesConfig = toml::from_str(s).map_err(|e| RulesConfigError::Toml {
            origin: origin.to_owned(),
            reason: e.to_string(),
        })?;
        cfg.validate(origin)?;
        Ok(cfg)
    }

    /// Check every value (lists bounded, hours and days well-formed).
    pub fn validate(&self, origin: &str) -> Result<(), RulesConfigError> {
        self.hours(origin).map(|_| ())?;
        let lists = [
            ("trap_accounts", &self.trap_accounts),
            ("allowed_sudoers", &self.allowed_sudoers),
            ("admin_accounts", &self.admin_accounts),
            ("admin_hosts", &self.admin_hosts),
            ("proxy_addresses", &self.proxy_addresses),
            ("client_networks", &self.client_networks),
        ];
        for (k, l) in lists
            .into_iter()
            .chain(self.lists.iter().map(|(k, v)| (k.as_str(), v)))
        {
            if l.len() > MAX_CONFIG_LIST {
                return Err(RulesConfigError::Invalid {
                    origin: origin.to_owned(),
                    key: k.to_owned(),
                    value: format!("{} entries", l.len()),
                    reason: "more entries than MAX_CONFIG_LIST",
                });
            }
        }
        Ok(())
    }

    pub(crate) fn hours(&self, origin: &str) -> Result<Hours, RulesConfigError> {
        let bh = &self.business_hours;
        let bad = |key: &str, value: &str, reason: &'static str| RulesConfigError::Invalid {
            origin: origin.to_owned(),
            key: format!("business_hours.{key}"),
            value: value.to_owned(),
            reason,
        };
        let start_min = hhmm(&bh.start).ok_or_else(|| bad("start", &bh.start, "expected HH:MM"))?;
        let end_min = hhmm(&bh.end).ok_or_else(|| bad("end", &bh.end, "expected HH:MM"))?;
        let mut days = [false; 7];
        for d in &bh.days {
            let i = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
                .iter()
                .position(|x| d.to_ascii_lowercase().starts_with(x))
                .ok_or_else(|| bad("days", d, "expected mon … sun"))?;
            if let Some(slot) = days.get_mut(i) {
                *slot = true;
            }
        }
        if !(-14 * 60..=14 * 60).contains(&bh.utc_offset_minutes) {
            return Err(bad(
                "utc_offset_minutes",
                &bh.utc_offset_minutes.to_string(),
                "must lie within ±840",
            ));
        }
        let mut holidays = Vec::new();
        for h in &bh.holidays {
            let mut it = h.trim().splitn(3, '-');
            let parsed = (|| {
                let y: i32 = it.next()?.parse().ok()?;
                let m: u32 = it.next()?.parse().ok()?;
                let d: u32 = it.next()?.parse().ok()?;
                ((1..=12).contains(&m) && (1..=31).contains(&d)).then_some((y, m, d))
            })();
            holidays.push(parsed.ok_or_else(|| bad("holidays", h, "expected YYYY-MM-DD"))?);
        }
        Ok(Hours {
            start_min,
            end_min,
            days,
            offset_secs: i64::from(bh.utc_offset_minutes) * 60,
            holidays,
        })
    }

    /// The list a `${name}` placeholder stands for.
    pub fn list(&self, name: &str) -> Option<&[String]> {
        Some(match name {
            "trap_accounts" => &self.trap_accounts,
            "allowed_sudoers" => &self.allowed_sudoers,
            "admin_accounts" => &self.admin_accounts,
            "admin_hosts" => &self.admin_hosts,
            "proxy_addresses" => &self.proxy_addresses,
            "client_networks" => &self.client_networks,
            other => self.lists.get(other)?,
        })
    }
}
