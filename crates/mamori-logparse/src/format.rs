//! File format detection for `mamori analyze FILE…`: magic bytes first, then content, then
//! the file name.

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Windows EVTX (`ElfFile\0`).
    Evtx,
    /// gzip: the caller decompresses and detects again.
    Gzip,
    /// zstd: the caller decompresses and detects again.
    Zstd,
    /// bzip2 (not decompressed by mamori; reported).
    Bzip2,
    /// xz (not decompressed by mamori; reported).
    Xz,
    /// A packet capture (pcap or pcapng), for the packet pipeline.
    Pcap,
    /// JSON lines (Suricata EVE, Zeek JSON, Winlogbeat/NXLog, ECS, generic).
    JsonLines,
    /// Zeek TSV with a `#separator`/`#fields` header.
    ZeekTsv,
    /// CSV with a header row.
    Csv,
    /// Text lines (syslog and product logs): each line goes to [`crate::LogParser`].
    Lines,
    /// Binary or empty: nothing to parse.
    Unknown,
}

/// Bytes of a file's start worth passing to [`detect_format`].
pub const DETECT_PREFIX_LEN: usize = 4096;

/// Detect the format from the first bytes (up to [`DETECT_PREFIX_LEN`]) and the file name.
pub fn detect_format(first_bytes: &[u8], file_name: &str) -> FileFormat {
    let b = first_bytes;
    let name = file_name.to_ascii_lowercase();
    if b.starts_with(b"ElfFile\0") {
        return FileFormat::Evtx;
    }
    if b.starts_with(&[0x1f, 0x8b]) {
        return FileFormat::Gzip;
    }
    if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return FileFormat::Zstd;
    }
    if b.starts_with(b"BZh") && b.len() > 3 && b[3].is_ascii_digit() {
        return FileFormat::Bzip2;
    }
    if b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        return FileFormat::Xz;
    }
    if b.starts_with(&[0xd4, 0xc3, 0xb2, 0xa1])
        || b.starts_with(&[0xa1, 0xb2, 0xc3, 0xd4])
        || b.starts_with(&[0x4d, 0x3c, 0xb2, 0xa1])
        || b.starts_with(&[0xa1, 0xb2, 0x3c, 0x4d])
        || b.starts_with(&[0x0a, 0x0d, 0x0d, 0x0a])
    {
        return FileFormat::Pcap;
    }
    let b = b.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(b);
    let first_line = b
        .split(|&c| c == b'\n')
        .find(|l| !l.iter().all(u8::is_ascii_whitespace))
        .unwrap_or(b"");
    if first_line.is_empty() {
        return if name.ends_with(".evtx") {
            FileFormat::Evtx
        } else {
            FileFormat::Unknown
        };
    }
    // Mostly binary: not a log.
    let sample = &b[..b.len().min(512)];
    let ctrl = sample
        .iter()
        .filter(|&&c| c < 0x09 || (c > 0x0d && c < 0x20))
        .count();
    if ctrl * 10 > sample.len() {
        return FileFormat::Unknown;
    }
    if first_line.starts_with(b"#separator") || first_line.starts_with(b"#fields") {
        return FileFormat::ZeekTsv;
    }
    if first_line.first() == Some(&b'{') {
        return FileFormat::JsonLines;
    }
    if name.ends_with(".csv") {
        return FileFormat::Csv;
    }
    FileFormat::Lines
}

/// A parser hint from a file name (`eve.json` → `suricata`, `conn.log` → `zeek.conn`, …).
pub fn hint_for_file_name(file_name: &str) -> Option<&'static str> {
    let base = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(file_name)
        .to_ascii_lowercase();
    let stem = base
        .trim_end_matches(".gz")
        .trim_end_matches(".zst")
        .trim_end_matches(".1");
    Some(match stem {
        s if s.starts_with("eve") && s.ends_with(".json") => "suricata",
        "conn.log" | "conn.json" => "zeek.conn",
        "dns.log" | "dns.json" => "zeek.dns",
        "http.log" | "http.json" => "zeek.http",
        "ssl.log" | "ssl.json" => "zeek.ssl",
        "notice.log" | "notice.json" => "zeek.notice",
        "weird.log" | "weird.json" => "zeek.weird",
        s if s.contains("squid") => "squid",
        s if s.starts_with("mainlog") || s.starts_with("exim") => "exim",
        s if s.starts_with("vsftpd") => "vsftpd",
        s if s.contains("clamd") || s.contains("freshclam") => "clamav",
        s if s.starts_with("openvpn") => "openvpn",
        s if s.contains("error.log") || s.contains("error_log") => "http-error",
        s if s.contains("access.log") || s.contains("access_log") => "http-access",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win() {
        assert_eq!(detect_format(b"ElfFile\0\0\0", "x.log"), FileFormat::Evtx);
        assert_eq!(
            detect_format(&[0x1f, 0x8b, 8, 0], "auth.log.gz"),
            FileFormat::Gzip
        );
        assert_eq!(
            detect_format(&[0x28, 0xb5, 0x2f, 0xfd, 0], "a.zst"),
            FileFormat::Zstd
        );
        assert_eq!(
            detect_format(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0], "a.bin"),
            FileFormat::Pcap
        );
    }

    #[test]
    fn content_then_name() {
        assert_eq!(
            detect_format(b"\n{\"event_type\":\"dns\"}\n", "eve.json"),
            FileFormat::JsonLines
        );
        assert_eq!(
            detect_format(b"#separator \\x09\n#set_separator\t,\n", "conn.log"),
            FileFormat::ZeekTsv
        );
        assert_eq!(
            detect_format(b"Nov 23 10:00:00 gw sshd[1]: x\n", "auth.log"),
            FileFormat::Lines
        );
        assert_eq!(detect_format(b"a,b,c\n1,2,3\n", "x.csv"), FileFormat::Csv);
        assert_eq!(
            detect_format(&[0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 1], "x"),
            FileFormat::Unknown
        );
        assert_eq!(detect_format(b"", "x.log"), FileFormat::Unknown);
    }

    #[test]
    fn hints_from_names() {
        assert_eq!(
            hint_for_file_name("/var/log/suricata/eve.json"),
            Some("suricata")
        );
        assert_eq!(hint_for_file_name("logs/conn.log.gz"), Some("zeek.conn"));
        assert_eq!(
            hint_for_file_name("/var/log/squid/access.log"),
            Some("http-access")
        );
        assert_eq!(
            hint_for_file_name("/var/log/nginx/error.log"),
            Some("http-error")
        );
        assert_eq!(hint_for_file_name("auth.log"), None);
    }
}
