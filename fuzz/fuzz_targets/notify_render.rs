//! Fuzz target: rendering alerts with arbitrary text into CEF, RFC 5424 SD values, MIME
//! headers and HTML, checking the escaping invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mamori_core::{Alert, Severity, Timestamp};
use mamori_notify::render::{cef_line, html_escape, sd_escape};
use mamori_notify::transport::{build_mime, encode_header};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\u{0}');
    let rule: String = parts.next().unwrap_or("").to_owned();
    let name: String = parts.next().unwrap_or("").to_owned();
    let msg: String = parts.next().unwrap_or("").to_owned();
    let user: String = parts.next().unwrap_or("").to_owned();
    let mut a = Alert::new(rule, name, Severity::High, Timestamp::from_unix_secs(0), msg.clone());
    a.user_name = Some(user);
    let cef = cef_line(&a);
    // Exactly 7 unescaped `|` separate the CEF header fields.
    let mut bars = 0;
    let mut esc = false;
    for c in cef.chars() {
        if esc {
            esc = false;
        } else if c == '\\' {
            esc = true;
        } else if c == '|' {
            bars += 1;
        }
        if bars == 7 {
            break;
        }
        assert!(c != '\n' && c != '\r');
    }
    assert_eq!(bars, 7, "{cef}");
    assert!(!cef.contains('\n'));
    let sd = sd_escape(&msg);
    let mut esc = false;
    for c in sd.chars() {
        if !esc {
            assert!(c != '"' && c != ']', "{sd}");
        }
        esc = !esc && c == '\\';
    }
    let h = html_escape(&msg);
    assert!(!h.contains('<') && !h.contains('>'));
    let subj = encode_header(&msg);
    assert!(!subj.contains("\r\n") || subj.split("\r\n").skip(1).all(|l| l.starts_with(' ')));
    let mime = build_mime("a@b.jp", &["c@d.jp".to_owned()], &msg, &msg, &msg, 0, 1);
    for line in mime.split("\r\n") {
        assert!(line.len() <= 998);
        assert!(!line.contains('\n') && !line.contains('\r'));
    }
});
