//! Event time: nanoseconds since the Unix epoch, UTC.
//!
//! mamori never reads the wall clock in its core; every timestamp comes in with the data
//! (packet headers, log lines) and watermarks are derived from these values.

use std::fmt;
use std::ops::{Add, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A point in time, nanoseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

/// A span of event time in nanoseconds (may be negative when subtracting out-of-order times).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(i64);

/// Error parsing an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid RFC 3339 timestamp {input:?}: {reason}")]
pub struct TimeParseError {
    /// The text that was rejected.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

const NANOS_PER_SEC: i64 = 1_000_000_000;

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);
    /// The smallest representable time (used as "no watermark yet").
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The largest representable time.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From nanoseconds since the epoch.
    pub const fn from_unix_nanos(ns: i64) -> Self {
        Timestamp(ns)
    }
    /// From seconds and a sub-second nanosecond part (saturating).
    pub const fn from_unix_parts(secs: i64, nanos: u32) -> Self {
        Timestamp(
            secs.saturating_mul(NANOS_PER_SEC)
                .saturating_add(nanos as i64),
        )
    }
    /// From whole seconds since the epoch.
    pub const fn from_unix_secs(secs: i64) -> Self {
        Timestamp(secs.saturating_mul(NANOS_PER_SEC))
    }
    /// From milliseconds since the epoch.
    pub const fn from_unix_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }
    /// Nanoseconds since the epoch.
    pub const fn unix_nanos(self) -> i64 {
        self.0
    }
    /// Whole seconds since the epoch (floor).
    pub const fn unix_secs(self) -> i64 {
        self.0.div_euclid(NANOS_PER_SEC)
    }
    /// Sub-second nanoseconds (0..1e9).
    pub const fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(NANOS_PER_SEC) as u32
    }
    /// Truncate to a multiple of `step` (e.g. the start of the minute).
    pub fn floor_to(self, step: Duration) -> Timestamp {
        if step.0 <= 0 {
            return self;
        }
        // Saturates at the low end instead of overflowing (times near Timestamp::MIN).
        Timestamp(
            self.0
                .checked_sub(self.0.rem_euclid(step.0))
                .unwrap_or(i64::MIN),
        )
    }
    /// Build from a UTC calendar date and time; `None` if a field is out of range.
    pub fn from_civil(
        year: i32,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
        nanos: u32,
    ) -> Option<Timestamp> {
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || min > 59
            || sec > 60
            || nanos >= 1_000_000_000
        {
            return None;
        }
        let days = days_from_civil(year, month, day);
        let secs = days * 86_400 + i64::from(hour) * 3600 + i64::from(min) * 60 + i64::from(sec);
        Some(Timestamp::from_unix_parts(secs, nanos))
    }
    /// The UTC calendar fields: (year, month, day, hour, minute, second, nanos).
    pub fn to_civil(self) -> (i32, u32, u32, u32, u32, u32, u32) {
        let secs = self.unix_secs();
        let days = secs.div_euclid(86_400);
        let sod = secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (sod / 3600) as u32,
            ((sod % 3600) / 60) as u32,
            (sod % 60) as u32,
            self.subsec_nanos(),
        )
    }
    /// `YYYY-MM-DD` of the UTC day (used for segment directories).
    pub fn date_string(self) -> String {
        let (y, m, d, ..) = self.to_civil();
        format!("{y:04}-{m:02}-{d:02}")
    }
    /// RFC 3339 with nanosecond precision, e.g. `2026-11-23T01:02:03.000000456Z`.
    pub fn to_rfc3339(self) -> String {
        let mut s = String::with_capacity(30);
        self.write_rfc3339(&mut s);
        s
    }
    /// Append the RFC 3339 form to `out` without intermediate allocation.
    pub fn write_rfc3339(self, out: &mut String) {
        let (y, mo, d, h, mi, s, ns) = self.to_civil();
        let mut buf = [0u8; 30];
        let mut n = 0;
        let push_num = |v: u32, width: usize, buf: &mut [u8; 30], n: &mut usize| {
            let mut v = v;
            for i in (0..width).rev() {
                buf[*n + i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
            *n += width;
        };
        if !(0..=9999).contains(&y) {
            // Out of the four-digit range: fall back to the slow path (rare, still valid text).
            out.push_str(&format!(
                "{y:+05}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ns:09}Z"
            ));
            return;
        }
        push_num(y as u32, 4, &mut buf, &mut n);
        buf[n] = b'-';
        n += 1;
        push_num(mo, 2, &mut buf, &mut n);
        buf[n] = b'-';
        n += 1;
        push_num(d, 2, &mut buf, &mut n);
        buf[n] = b'T';
        n += 1;
        push_num(h, 2, &mut buf, &mut n);
        buf[n] = b':';
        n += 1;
        push_num(mi, 2, &mut buf, &mut n);
        buf[n] = b':';
        n += 1;
        push_num(s, 2, &mut buf, &mut n);
        buf[n] = b'.';
        n += 1;
        push_num(ns, 9, &mut buf, &mut n);
        buf[n] = b'Z';
        n += 1;
        // All bytes written above are ASCII digits or punctuation.
        out.push_str(std::str::from_utf8(&buf[..n]).unwrap_or_default());
    }
    /// Parse RFC 3339 / ISO 8601 (`2026-11-23T01:02:03.5Z`, `...+09:00`, space instead of `T`).
    pub fn parse_rfc3339(input: &str) -> Result<Timestamp, TimeParseError> {
        let err = |reason| TimeParseError {
            input: input.chars().take(64).collect(),
            reason,
        };
        let b = input.trim().as_bytes();
        if b.len() < 19 {
            return Err(err("too short"));
        }
        let num = |r: std::ops::Range<usize>| -> Result<u32, TimeParseError> {
            let mut v = 0u32;
            for &c in &b[r] {
                if !c.is_ascii_digit() {
                    return Err(err("expected a digit"));
                }
                v = v * 10 + u32::from(c - b'0');
            }
            Ok(v)
        };
        if b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
            return Err(err("expected YYYY-MM-DDTHH:MM:SS"));
        }
        if b[16] != b':' {
            return Err(err("expected seconds"));
        }
        let (year, month, day) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut i = 19;
        let mut nanos = 0u32;
        if i < b.len() && (b[i] == b'.' || b[i] == b',') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let digits = i - start;
            if digits == 0 {
                return Err(err("empty fraction"));
            }
            for _ in digits..9 {
                nanos *= 10;
            }
        }
        let offset_secs: i64 = if i == b.len() {
            0 // no zone: caller decides; we read it as UTC
        } else if b[i] == b'Z' || b[i] == b'z' {
            i += 1;
            0
        } else if b[i] == b'+' || b[i] == b'-' {
            let sign = if b[i] == b'-' { -1 } else { 1 };
            let rest = &input.trim()[i + 1..];
            let digits: String = rest.chars().filter(|c| c.is_ascii_digit()).collect();
            if digits.len() != 4 || !(rest.len() == 4 || rest.len() == 5) {
                return Err(err("bad zone offset"));
            }
            let hh: i64 = digits[..2].parse().map_err(|_| err("bad zone offset"))?;
            let mm: i64 = digits[2..].parse().map_err(|_| err("bad zone offset"))?;
            i = b.len();
            sign * (hh * 3600 + mm * 60)
        } else {
            return Err(err("unexpected text after time"));
        };
        if i != b.len() {
            return Err(err("unexpected text after zone"));
        }
        let t = Timestamp::from_civil(year, month, day, hour, min, sec.min(59), nanos)
            .ok_or_else(|| err("field out of range"))?;
        Ok(t - Duration::from_secs(offset_secs))
    }
}

impl Duration {
    /// Zero.
    pub const ZERO: Duration = Duration(0);
    /// From nanoseconds.
    pub const fn from_nanos(ns: i64) -> Self {
        Duration(ns)
    }
    /// From microseconds.
    pub const fn from_micros(us: i64) -> Self {
        Duration(us.saturating_mul(1_000))
    }
    /// From milliseconds.
    pub const fn from_millis(ms: i64) -> Self {
        Duration(ms.saturating_mul(1_000_000))
    }
    /// From seconds.
    pub const fn from_secs(s: i64) -> Self {
        Duration(s.saturating_mul(NANOS_PER_SEC))
    }
    /// From minutes.
    pub const fn from_mins(m: i64) -> Self {
        Duration::from_secs(m.saturating_mul(60))
    }
    /// Nanoseconds.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }
    /// Seconds as a float (for messages and rates).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / NANOS_PER_SEC as f64
    }
    /// Parse a human duration: `30s`, `5m`, `1h`, `7d`, `250ms`, `2w`, or bare seconds.
    pub fn parse_human(s: &str) -> Option<Duration> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (n, unit) = s.split_at(split);
        let n: i64 = n.parse().ok()?;
        let mult = match unit.trim() {
            "" | "s" | "sec" | "secs" => NANOS_PER_SEC,
            "ms" => 1_000_000,
            "us" => 1_000,
            "ns" => 1,
            "m" | "min" | "mins" => 60 * NANOS_PER_SEC,
            "h" | "hr" | "hours" => 3600 * NANOS_PER_SEC,
            "d" | "days" => 86_400 * NANOS_PER_SEC,
            "w" => 7 * 86_400 * NANOS_PER_SEC,
            _ => return None,
        };
        n.checked_mul(mult).map(Duration)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.as_secs_f64();
        if s.abs() >= 1.0 {
            write!(f, "{s:.1} s")
        } else {
            write!(f, "{:.1} ms", s * 1000.0)
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.0))
    }
}
impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(d.0))
    }
}
impl Sub for Timestamp {
    type Output = Duration;
    fn sub(self, o: Timestamp) -> Duration {
        Duration(self.0.saturating_sub(o.0))
    }
}
impl Add for Duration {
    type Output = Duration;
    fn add(self, o: Duration) -> Duration {
        Duration(self.0.saturating_add(o.0))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((y + i64::from(m <= 2)) as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        let t = Timestamp::from_unix_parts(1_700_000_000, 123_456_789);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.123456789Z");
        assert_eq!(t.date_string(), "2023-11-14");
    }

    #[test]
    fn parses_zones_and_fractions() {
        let a = Timestamp::parse_rfc3339("2023-11-15T07:13:20.5+09:00").unwrap();
        assert_eq!(a, Timestamp::from_unix_parts(1_700_000_000, 500_000_000));
        let b = Timestamp::parse_rfc3339("2023-11-14 22:13:20Z").unwrap();
        assert_eq!(b.unix_secs(), 1_700_000_000);
        assert!(Timestamp::parse_rfc3339("2023-13-14T22:13:20Z").is_err());
        assert!(Timestamp::parse_rfc3339("not a time at all!!").is_err());
    }

    #[test]
    fn civil_round_trip_over_centuries() {
        for days in (-100_000i64..100_000).step_by(97) {
            let t = Timestamp::from_unix_secs(days * 86_400 + 3_723);
            let (y, m, d, h, mi, s, ns) = t.to_civil();
            assert_eq!(Timestamp::from_civil(y, m, d, h, mi, s, ns), Some(t));
        }
    }

    #[test]
    fn negative_times_floor_correctly() {
        let t = Timestamp::from_unix_nanos(-1);
        assert_eq!(t.to_rfc3339(), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            t.floor_to(Duration::from_secs(60)),
            Timestamp::from_unix_secs(-60)
        );
    }

    #[test]
    fn floor_near_min_saturates_instead_of_overflowing() {
        let t = Timestamp::MIN + Duration::from_nanos(5);
        assert_eq!(t.floor_to(Duration::from_secs(3600)), Timestamp::MIN);
    }

    #[test]
    fn human_durations() {
        assert_eq!(Duration::parse_human("30s"), Some(Duration::from_secs(30)));
        assert_eq!(Duration::parse_human("5m"), Some(Duration::from_mins(5)));
        assert_eq!(
            Duration::parse_human("7d"),
            Some(Duration::from_secs(7 * 86400))
        );
        assert_eq!(Duration::parse_human("5x"), None);
    }
}
