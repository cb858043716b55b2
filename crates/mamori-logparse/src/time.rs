//! Source timestamps: zone-less times read in a per-source zone (IANA name, bundled tz
//! database), year inference for RFC 3164 `Mmm dd hh:mm:ss`, and per-source clock skew.

use std::collections::HashMap;

use jiff::tz::TimeZone;
use mamori_core::{Duration, Timestamp};

/// Zone applied to times without an offset when none is configured.
pub const DEFAULT_ZONE: &str = "Asia/Tokyo";
/// Sources tracked by a [`SkewTracker`]; further sources are counted, not tracked.
pub const MAX_SKEW_SOURCES: usize = 4096;

/// A time zone by IANA name, or a fixed offset.
#[derive(Debug, Clone)]
pub struct Zone {
    tz: TimeZone,
    name: String,
}

/// A zone name that the bundled database does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown time zone {name:?}")]
pub struct UnknownZone {
    /// The offending name.
    pub name: String,
}

impl Zone {
    /// Look a zone up by IANA name (`Asia/Tokyo`, `UTC`, `Europe/Berlin`).
    pub fn get(name: &str) -> Result<Zone, UnknownZone> {
        let tz = TimeZone::get(name).map_err(|_| UnknownZone {
            name: name.to_owned(),
        })?;
        Ok(Zone {
            tz,
            name: name.to_owned(),
        })
    }
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            tz: TimeZone::UTC,
            name: "UTC".into(),
        }
    }
    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Civil time in this zone to a timestamp (gaps and folds resolved the "compatible" way);
    /// `None` when a field is out of range.
    #[allow(clippy::too_many_arguments)] // reason: the seven calendar fields, like `from_civil`
    pub fn civil(
        &self,
        y: i32,
        mo: u32,
        d: u32,
        h: u32,
        mi: u32,
        s: u32,
        ns: u32,
    ) -> Option<Timestamp> {
        let dt = jiff::civil::DateTime::new(
            i16::try_from(y).ok()?,
            i8::try_from(mo).ok()?,
            i8::try_from(d).ok()?,
            i8::try_from(h).ok()?,
            i8::try_from(mi).ok()?,
            i8::try_from(s.min(59)).ok()?,
            i32::try_from(ns).ok()?,
        )
        .ok()?;
        let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
        let nanos = i64::try_from(ts.as_nanosecond()).ok()?;
        Some(Timestamp::from_unix_nanos(nanos))
    }
    /// The calendar year and month at `t` in this zone.
    pub fn year_month_at(&self, t: Timestamp) -> (i32, u32) {
        match jiff::Timestamp::from_nanosecond(i128::from(t.unix_nanos())) {
            Ok(ts) => {
                let z = ts.to_zoned(self.tz.clone());
                (i32::from(z.year()), u32::try_from(z.month()).unwrap_or(1))
            }
            Err(_) => {
                let c = t.to_civil();
                (c.0, c.1)
            }
        }
    }
    /// A time without a year (`Mmm dd hh:mm:ss`): the year of `reference` (the receive time)
    /// in this zone, the one before for December lines received in January, the one after
    /// for January lines received in December (New Year rollover either way).
    #[allow(clippy::too_many_arguments)] // reason: a civil time plus the reference
    pub fn civil_near(
        &self,
        reference: Timestamp,
        mo: u32,
        d: u32,
        h: u32,
        mi: u32,
        s: u32,
        ns: u32,
    ) -> Option<Timestamp> {
        let (y, rm) = self.year_month_at(reference);
        let year = match (mo, rm) {
            (12, 1) => y - 1,
            (1, 12) => y + 1,
            _ => y,
        };
        // Feb 29 in a non-leap inferred year: try the nearest leap year instead of failing.
        self.civil(year, mo, d, h, mi, s, ns)
            .or_else(|| self.civil(year - 1, mo, d, h, mi, s, ns))
    }
}

/// Month number from an English abbreviation (`Jan` → 1), case-insensitive.
pub fn month_from_abbr(s: &[u8]) -> Option<u32> {
    if s.len() < 3 {
        return None;
    }
    let m = [
        s[0].to_ascii_lowercase(),
        s[1].to_ascii_lowercase(),
        s[2].to_ascii_lowercase(),
    ];
    Some(match &m {
        b"jan" => 1,
        b"feb" => 2,
        b"mar" => 3,
        b"apr" => 4,
        b"may" => 5,
        b"jun" => 6,
        b"jul" => 7,
        b"aug" => 8,
        b"sep" => 9,
        b"oct" => 10,
        b"nov" => 11,
        b"dec" => 12,
        _ => return None,
    })
}

/// Parse `HH:MM:SS[.frac]` at the start of `b`; returns (h, m, s, nanos, bytes used).
pub fn parse_hms(b: &[u8]) -> Option<(u32, u32, u32, u32, usize)> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = num(&b[0..2])?;
    let mi = num(&b[3..5])?;
    let s = num(&b[6..8])?;
    if h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 8;
    let mut ns = 0u32;
    if i + 1 < b.len() && (b[i] == b'.' || b[i] == b',') && b[i + 1].is_ascii_digit() {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                ns = ns * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        for _ in (i - start).min(9)..9 {
            ns *= 10;
        }
    }
    Some((h, mi, s, ns, i))
}

/// Parse an all-digit byte string (at most 9 digits).
pub fn num(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 9 {
        return None;
    }
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parse an ISO 8601 date-time at the start of `s` (`2026-11-23T10:00:00[.f][Z|±hh:mm]`, space
/// or `T`); a time without offset is read in `zone`. Returns the time and bytes used.
pub fn parse_iso_prefix(s: &str, zone: &Zone) -> Option<(Timestamp, usize)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b' ') {
        return None;
    }
    let y = num(&b[0..4])? as i32;
    let mo = num(&b[5..7])?;
    let d = num(&b[8..10])?;
    let (h, mi, sec, ns, used) = parse_hms(&b[11..])?;
    let mut i = 11 + used;
    let utc = Timestamp::from_civil(y, mo, d, h, mi, sec.min(59), ns)?;
    match b.get(i) {
        Some(b'Z' | b'z') => Some((utc, i + 1)),
        Some(&c @ (b'+' | b'-')) => {
            let sign: i64 = if c == b'-' { -1 } else { 1 };
            i += 1;
            let hh = num(b.get(i..i + 2)?)?;
            i += 2;
            if b.get(i) == Some(&b':') {
                i += 1;
            }
            let mm = b.get(i..i + 2).and_then(num).unwrap_or(0);
            if b.get(i..i + 2).and_then(num).is_some() {
                i += 2;
            }
            let off = sign * (i64::from(hh) * 3600 + i64::from(mm) * 60);
            Some((utc - Duration::from_secs(off), i))
        }
        _ => Some((zone.civil(y, mo, d, h, mi, sec, ns)?, i)),
    }
}

/// Per-source clock skew: receive time minus source time.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SkewStats {
    /// Samples seen.
    pub samples: u64,
    /// Last skew in milliseconds (positive: the source clock is behind).
    pub last_ms: i64,
    /// Mean skew in milliseconds.
    pub mean_ms: f64,
    /// Largest absolute skew in milliseconds (sign kept).
    pub max_abs_ms: i64,
}

/// Tracks [`SkewStats`] per source name (bounded by [`MAX_SKEW_SOURCES`]).
#[derive(Debug, Clone, Default)]
pub struct SkewTracker {
    sources: HashMap<String, SkewStats>,
    untracked: u64,
}

impl SkewTracker {
    /// Empty.
    pub fn new() -> SkewTracker {
        SkewTracker::default()
    }
    /// Record one sample; returns the skew in milliseconds.
    pub fn observe(&mut self, source: &str, source_time: Timestamp, received: Timestamp) -> i64 {
        let ms = (received - source_time).as_nanos() / 1_000_000;
        if !self.sources.contains_key(source) {
            if self.sources.len() >= MAX_SKEW_SOURCES {
                self.untracked += 1;
                return ms;
            }
            self.sources.insert(source.to_owned(), SkewStats::default());
        }
        let Some(st) = self.sources.get_mut(source) else {
            return ms;
        };
        st.samples += 1;
        st.last_ms = ms;
        st.mean_ms += (ms as f64 - st.mean_ms) / st.samples as f64;
        if ms.saturating_abs() > st.max_abs_ms.saturating_abs() {
            st.max_abs_ms = ms;
        }
        ms
    }
    /// Stats for one source.
    pub fn get(&self, source: &str) -> Option<&SkewStats> {
        self.sources.get(source)
    }
    /// All tracked sources.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SkewStats)> {
        self.sources.iter().map(|(k, v)| (k.as_str(), v))
    }
    /// Samples from sources beyond the tracking limit.
    pub fn untracked(&self) -> u64 {
        self.untracked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokyo_is_nine_hours_ahead() {
        let z = Zone::get("Asia/Tokyo").unwrap();
        let t = z.civil(2026, 11, 23, 9, 0, 0, 0).unwrap();
        assert_eq!(t, Timestamp::from_civil(2026, 11, 23, 0, 0, 0, 0).unwrap());
    }

    #[test]
    fn dst_zone_applies_summer_offset() {
        let z = Zone::get("Europe/Berlin").unwrap();
        let summer = z.civil(2026, 7, 1, 12, 0, 0, 0).unwrap();
        let winter = z.civil(2026, 1, 1, 12, 0, 0, 0).unwrap();
        assert_eq!(
            summer,
            Timestamp::from_civil(2026, 7, 1, 10, 0, 0, 0).unwrap()
        );
        assert_eq!(
            winter,
            Timestamp::from_civil(2026, 1, 1, 11, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn unknown_zone_is_an_error() {
        assert_eq!(
            Zone::get("Mars/Olympus").unwrap_err().to_string(),
            "unknown time zone \"Mars/Olympus\""
        );
    }

    #[test]
    fn year_inference_across_new_year() {
        let z = Zone::get("Asia/Tokyo").unwrap();
        // Received 2027-01-01 00:00:05 JST, logged "Dec 31 23:59:58" → 2026.
        let recv = z.civil(2027, 1, 1, 0, 0, 5, 0).unwrap();
        let t = z.civil_near(recv, 12, 31, 23, 59, 58, 0).unwrap();
        assert_eq!(t, z.civil(2026, 12, 31, 23, 59, 58, 0).unwrap());
        // Received 2026-12-31 23:59:59 JST, logged "Jan  1 00:00:01" (fast clock) → 2027.
        let recv = z.civil(2026, 12, 31, 23, 59, 59, 0).unwrap();
        let t = z.civil_near(recv, 1, 1, 0, 0, 1, 0).unwrap();
        assert_eq!(t, z.civil(2027, 1, 1, 0, 0, 1, 0).unwrap());
    }

    #[test]
    fn iso_with_and_without_offset() {
        let z = Zone::get("Asia/Tokyo").unwrap();
        let (a, n) = parse_iso_prefix("2026-11-23T10:00:00.5+09:00 x", &z).unwrap();
        assert_eq!(n, 27);
        let (b, _) = parse_iso_prefix("2026-11-23 10:00:00.5", &z).unwrap();
        assert_eq!(a, b);
        let (c, _) = parse_iso_prefix("2026-11-23T01:00:00.5Z", &z).unwrap();
        assert_eq!(a, c);
        assert!(parse_iso_prefix("2026-13-23T01:00:00Z", &z).is_none());
    }

    #[test]
    fn skew_tracker_keeps_last_mean_max() {
        let mut s = SkewTracker::new();
        let r = Timestamp::from_unix_secs(1000);
        assert_eq!(s.observe("fw", Timestamp::from_unix_secs(998), r), 2000);
        s.observe("fw", Timestamp::from_unix_secs(1004), r);
        let st = s.get("fw").unwrap();
        assert_eq!(st.samples, 2);
        assert_eq!(st.last_ms, -4000);
        assert_eq!(st.max_abs_ms, -4000);
        assert!((st.mean_ms + 1000.0).abs() < 1e-9);
    }
}
