//! Aligned text tables for the terminal (CJK-aware column widths).

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A simple table: a header row and data rows, rendered with two-space gutters.
pub struct Table {
    headers: Vec<String>,
    aligns: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[(&str, Align)]) -> Table {
        Table {
            headers: headers.iter().map(|(h, _)| (*h).to_owned()).collect(),
            aligns: headers.iter().map(|(_, a)| *a).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, indent: usize) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.width()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.width());
            }
        }
        let mut out = String::new();
        let pad = " ".repeat(indent);
        let line = |cells: &[String], out: &mut String| {
            out.push_str(&pad);
            for (i, c) in cells.iter().enumerate().take(n) {
                let w = c.width();
                let fill = widths[i].saturating_sub(w);
                let last = i + 1 == n;
                match self.aligns[i] {
                    Align::Left => {
                        out.push_str(c);
                        if !last {
                            out.push_str(&" ".repeat(fill));
                        }
                    }
                    Align::Right => {
                        out.push_str(&" ".repeat(fill));
                        out.push_str(c);
                    }
                }
                if !last {
                    out.push_str("  ");
                }
            }
            out.push('\n');
        };
        line(&self.headers, &mut out);
        let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
        line(&rule, &mut out);
        for r in &self.rows {
            line(r, &mut out);
        }
        out
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Human byte size: `1.5 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    let mut s = String::new();
    if u == 0 {
        let _ = write!(s, "{n} B");
    } else {
        let _ = write!(s, "{v:.1} {}", UNITS[u]);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_wide_characters() {
        let mut t = Table::new(&[("name", Align::Left), ("n", Align::Right)]);
        t.row(vec!["ポートスキャン".into(), "3".into()]);
        t.row(vec!["dns".into(), "12".into()]);
        let r = t.render(0);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[2].width(), lines[3].width());
        assert!(lines[3].ends_with("12"));
    }

    #[test]
    fn number_formats() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
    }
}
