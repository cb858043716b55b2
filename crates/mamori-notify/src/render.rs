//! Message rendering: email (text + HTML), Slack blocks, Teams Adaptive Card, webhook JSON,
//! and syslog RFC 5424 lines with JSON, CEF or ECS payloads. Japanese first, English fallback.

use mamori_core::{attack, compliance, Alert, AlertState, Severity, Timestamp};
use serde_json::{json, Value as Json};

use crate::config::{Endpoint, EndpointKind, Language, Recipient, SyslogEndpoint, SyslogFormat};
use crate::template::{json_escape_into, Escape, Template};

/// Most alerts listed in one digest or summary message; the rest are counted.
pub const MAX_LISTED_ALERTS: usize = 50;
/// Slack section text limit (Slack rejects longer).
pub const SLACK_TEXT_MAX: usize = 2900;
/// Slack header text limit.
pub const SLACK_HEADER_MAX: usize = 150;
/// Longest value placed in a CEF extension or syslog SD parameter.
pub const MAX_FIELD_CHARS: usize = 1024;
/// Private enterprise number used in the RFC 5424 SD-ID (RFC 5612 documentation number).
pub const SD_ENTERPRISE: u32 = 32473;
/// Product version written into CEF headers.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteKind {
    /// One alert, immediately.
    Alert,
    /// Alerts collected over a digest window.
    Digest,
    /// Alerts suppressed by the rate limit, summarised.
    RateLimited,
    /// A test message from `test_send`.
    Test,
}

impl NoteKind {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Alert => "alert",
            NoteKind::Digest => "digest",
            NoteKind::RateLimited => "rate_limited",
            NoteKind::Test => "test",
        }
    }
}

/// Alerts going to one recipient in one message.
#[derive(Debug, Clone)]
pub struct Notification {
    /// Why.
    pub kind: NoteKind,
    /// The alerts listed (at most [`MAX_LISTED_ALERTS`] are shown in chat and email).
    pub alerts: Vec<Alert>,
    /// Further alerts counted but not kept.
    pub omitted: u64,
}

impl Notification {
    /// Total alerts represented.
    pub fn total(&self) -> u64 {
        self.alerts.len() as u64 + self.omitted
    }
}

/// A message rendered for an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    /// Mail with a text and an HTML alternative.
    Email {
        /// Subject (UTF-8; encoded on the wire).
        subject: String,
        /// Plain text body.
        text: String,
        /// HTML body.
        html: String,
    },
    /// JSON body for Slack, Teams or a webhook.
    Http {
        /// One-line summary (for dead-letter listings).
        summary: String,
        /// JSON text.
        body: String,
    },
    /// Syslog messages (RFC 5424, without transport framing).
    Syslog {
        /// One message per alert.
        lines: Vec<String>,
    },
}

impl Payload {
    /// One-line summary for listings.
    pub fn summary(&self) -> String {
        match self {
            Payload::Email { subject, .. } => subject.clone(),
            Payload::Http { summary, .. } => summary.clone(),
            Payload::Syslog { lines } => format!("{} syslog message(s)", lines.len()),
        }
    }
}

fn rule_name(a: &Alert, lang: Language) -> &str {
    match lang {
        Language::Ja if !a.rule_name_ja.is_empty() => &a.rule_name_ja,
        _ => &a.rule_name,
    }
}

fn message(a: &Alert, lang: Language) -> &str {
    match (lang, &a.message_ja) {
        (Language::Ja, Some(m)) if !m.is_empty() => m,
        _ => &a.message,
    }
}

fn severity(s: Severity, lang: Language) -> &'static str {
    match lang {
        Language::Ja => s.as_ja(),
        Language::En => s.as_str(),
    }
}

fn tactics(a: &Alert) -> Vec<&'static str> {
    let mut t: Vec<&'static str> = a
        .techniques
        .iter()
        .filter_map(|t| attack::technique(t))
        .flat_map(|t| t.tactics.iter().copied())
        .collect();
    t.sort_unstable();
    t.dedup();
    t
}

fn controls(a: &Alert) -> Vec<String> {
    let mut all: Vec<String> = a.controls.iter().map(|c| c.to_string()).collect();
    for c in &a.controls {
        for extra in compliance::implied(c) {
            if !all.iter().any(|x| x == extra) {
                all.push((*extra).to_owned());
            }
        }
    }
    all
}

fn entities(a: &Alert) -> String {
    let mut parts = Vec::new();
    if let Some(ip) = a.source_ip {
        parts.push(format!("src={ip}"));
    }
    if let Some(ip) = a.destination_ip {
        match a.destination_port {
            Some(p) => parts.push(format!("dst={ip}:{p}")),
            None => parts.push(format!("dst={ip}")),
        }
    }
    if let Some(u) = &a.user_name {
        parts.push(format!("user={u}"));
    }
    if let Some(h) = &a.host_name {
        parts.push(format!("host={h}"));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(" ")
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

/// The text of template field `name` for `a`.
pub fn field(a: &Alert, lang: Language, recipient: &str, total: u64, name: &str) -> String {
    match name {
        "rule_id" => a.rule_id.to_string(),
        "rule_name" => rule_name(a, lang).to_owned(),
        "rule_name_en" => a.rule_name.to_string(),
        "rule_name_ja" => a.rule_name_ja.to_string(),
        "ruleset" => a.ruleset.as_str().to_owned(),
        "severity" => severity(a.severity, lang).to_owned(),
        "severity_en" => a.severity.as_str().to_owned(),
        "severity_ja" => a.severity.as_ja().to_owned(),
        "severity_number" => a.severity.number().to_string(),
        "message" => message(a, lang).to_owned(),
        "message_en" => a.message.clone(),
        "message_ja" => a.message_ja.clone().unwrap_or_else(|| a.message.clone()),
        "source_ip" => opt(a.source_ip),
        "destination_ip" => opt(a.destination_ip),
        "destination_port" => opt(a.destination_port),
        "user_name" => opt(a.user_name.as_deref()),
        "host_name" => opt(a.host_name.as_deref()),
        "entities" => entities(a),
        "techniques" => a.techniques.join(", "),
        "tactics" => tactics(a).join(", "),
        "controls" => controls(a).join(", "),
        "count" => a.count.to_string(),
        "first_seen" => a.first_seen.to_rfc3339(),
        "last_seen" => a.last_seen.to_rfc3339(),
        "state" => match a.state {
            AlertState::Engaged => "engaged".into(),
            AlertState::Past => "past".into(),
        },
        "alert_count" => total.to_string(),
        "recipient" => recipient.to_owned(),
        _ => String::new(),
    }
}

struct Labels {
    rule: &'static str,
    severity: &'static str,
    entities: &'static str,
    attack: &'static str,
    controls: &'static str,
    count: &'static str,
    first: &'static str,
    last: &'static str,
}

fn labels(lang: Language) -> Labels {
    match lang {
        Language::Ja => Labels {
            rule: "ルール",
            severity: "重大度",
            entities: "対象",
            attack: "ATT&CK",
            controls: "管理策",
            count: "件数",
            first: "初回検知",
            last: "最終検知",
        },
        Language::En => Labels {
            rule: "Rule",
            severity: "Severity",
            entities: "Entities",
            attack: "ATT&CK",
            controls: "Controls",
            count: "Count",
            first: "First seen",
            last: "Last seen",
        },
    }
}

/// Offset of Japan Standard Time (no daylight saving).
const JST_OFFSET_SECS: i64 = 9 * 3600;

/// Time for people: JST for Japanese readers, UTC for English ones, to the second.
pub fn human_time(t: Timestamp, lang: Language) -> String {
    let (shifted, zone) = match lang {
        Language::Ja => (t + mamori_core::Duration::from_secs(JST_OFFSET_SECS), "JST"),
        Language::En => (t, "UTC"),
    };
    let (y, mo, d, h, mi, s, _) = shifted.to_civil();
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} {zone}")
}

/// (label, value) facts for one alert.
fn facts(a: &Alert, lang: Language) -> Vec<(&'static str, String)> {
    let l = labels(lang);
    let mut attack_text = a.techniques.join(", ");
    let t = tactics(a);
    if !t.is_empty() {
        attack_text.push_str(&format!(" ({})", t.join(", ")));
    }
    let mut v = vec![
        (l.rule, format!("{} ({})", rule_name(a, lang), a.rule_id)),
        (l.severity, severity(a.severity, lang).to_owned()),
        (l.entities, entities(a)),
    ];
    if !attack_text.is_empty() {
        v.push((l.attack, attack_text));
    }
    let c = controls(a);
    if !c.is_empty() {
        v.push((l.controls, c.join(", ")));
    }
    v.push((l.count, a.count.to_string()));
    v.push((l.first, human_time(a.first_seen, lang)));
    v.push((l.last, human_time(a.last_seen, lang)));
    v
}

fn title(n: &Notification, r: &Recipient) -> String {
    let lang = r.language;
    let total = n.total();
    match (n.kind, n.alerts.first()) {
        (NoteKind::Alert | NoteKind::Test, Some(a)) => match &r.subject_template {
            Some(t) => t.render(&|f| field(a, lang, &r.id, total, f), Escape::None),
            None => {
                let prefix = if n.kind == NoteKind::Test {
                    match lang {
                        Language::Ja => "[mamori][テスト]",
                        Language::En => "[mamori][test]",
                    }
                } else {
                    "[mamori]"
                };
                format!(
                    "{prefix}[{}] {}",
                    severity(a.severity, lang),
                    rule_name(a, lang)
                )
            }
        },
        (NoteKind::RateLimited, _) => match lang {
            Language::Ja => format!("[mamori] 送信数制限により {total} 件のアラートをまとめました"),
            Language::En => format!("[mamori] rate limit: {total} alerts summarised"),
        },
        _ => match lang {
            Language::Ja => format!("[mamori] ダイジェスト: {total} 件のアラート"),
            Language::En => format!("[mamori] digest: {total} alerts"),
        },
    }
}

/// Plain text for one alert (the recipient's body template or the default layout).
fn alert_text(a: &Alert, r: &Recipient, total: u64) -> String {
    if let Some(t) = &r.body_template {
        return t.render(&|f| field(a, r.language, &r.id, total, f), Escape::None);
    }
    let mut s = String::new();
    s.push_str(message(a, r.language));
    s.push('\n');
    for (k, v) in facts(a, r.language) {
        s.push_str(&format!("{k}: {v}\n"));
    }
    s
}

fn omitted_line(n: &Notification, lang: Language) -> Option<String> {
    let hidden = n.omitted;
    (hidden > 0).then(|| match lang {
        Language::Ja => format!("ほか {hidden} 件は省略しました。"),
        Language::En => format!("{hidden} more not listed."),
    })
}

fn text_body(n: &Notification, r: &Recipient) -> String {
    let total = n.total();
    let mut s = String::new();
    if n.kind == NoteKind::Test {
        s.push_str(match r.language {
            Language::Ja => "これは mamori の通知テストです。\n\n",
            Language::En => "This is a mamori test notification.\n\n",
        });
    }
    for (i, a) in n.alerts.iter().take(MAX_LISTED_ALERTS).enumerate() {
        if i > 0 {
            s.push_str("\n----\n");
        }
        s.push_str(&alert_text(a, r, total));
    }
    let hidden = n.omitted + n.alerts.len().saturating_sub(MAX_LISTED_ALERTS) as u64;
    if hidden > 0 {
        let n2 = Notification {
            kind: n.kind,
            alerts: Vec::new(),
            omitted: hidden,
        };
        if let Some(l) = omitted_line(&n2, r.language) {
            s.push('\n');
            s.push_str(&l);
            s.push('\n');
        }
    }
    s
}

/// Escape text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn html_body(n: &Notification, r: &Recipient, subject: &str) -> String {
    let lang = r.language;
    let mut s = String::new();
    s.push_str("<!DOCTYPE html><html lang=\"");
    s.push_str(if lang == Language::Ja { "ja" } else { "en" });
    s.push_str("\"><head><meta charset=\"utf-8\"><title>");
    s.push_str(&html_escape(subject));
    s.push_str("</title></head><body>");
    for a in n.alerts.iter().take(MAX_LISTED_ALERTS) {
        s.push_str("<h3>");
        s.push_str(&html_escape(message(a, lang)));
        s.push_str("</h3><table>");
        for (k, v) in facts(a, lang) {
            s.push_str("<tr><th align=\"left\">");
            s.push_str(&html_escape(k));
            s.push_str("</th><td>");
            s.push_str(&html_escape(&v));
            s.push_str("</td></tr>");
        }
        s.push_str("</table>");
    }
    let hidden = n.omitted + n.alerts.len().saturating_sub(MAX_LISTED_ALERTS) as u64;
    if hidden > 0 {
        let line = match lang {
            Language::Ja => format!("ほか {hidden} 件は省略しました。"),
            Language::En => format!("{hidden} more not listed."),
        };
        s.push_str("<p>");
        s.push_str(&html_escape(&line));
        s.push_str("</p>");
    }
    s.push_str("</body></html>");
    s
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Slack mrkdwn escaping (`&`, `<`, `>`).
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_body(n: &Notification, r: &Recipient) -> Json {
    let subject = title(n, r);
    let body = truncate_chars(&slack_escape(&text_body(n, r)), SLACK_TEXT_MAX);
    let rule = n
        .alerts
        .first()
        .map_or_else(String::new, |a| a.rule_id.to_string());
    json!({
        "text": subject,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": truncate_chars(&subject, SLACK_HEADER_MAX)}},
            {"type": "section", "text": {"type": "mrkdwn", "text": body}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": slack_escape(&format!("mamori · {} · {rule}", n.kind.as_str()))}
            ]}
        ]
    })
}

fn teams_body(n: &Notification, r: &Recipient) -> Json {
    let lang = r.language;
    let subject = title(n, r);
    let top = n.alerts.iter().map(|a| a.severity).max();
    let color = match top {
        Some(Severity::Critical | Severity::High) => "Attention",
        Some(Severity::Medium) => "Warning",
        _ => "Default",
    };
    let mut body = vec![json!({
        "type": "TextBlock", "text": subject, "weight": "Bolder", "size": "Medium",
        "wrap": true, "color": color
    })];
    for a in n.alerts.iter().take(MAX_LISTED_ALERTS) {
        let text = match &r.body_template {
            Some(t) => t.render(&|f| field(a, lang, &r.id, n.total(), f), Escape::None),
            None => message(a, lang).to_owned(),
        };
        body.push(json!({"type": "TextBlock", "text": text, "wrap": true}));
        let facts: Vec<Json> = facts(a, lang)
            .into_iter()
            .map(|(k, v)| json!({"title": k, "value": v}))
            .collect();
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    let hidden = n.omitted + n.alerts.len().saturating_sub(MAX_LISTED_ALERTS) as u64;
    if hidden > 0 {
        let n2 = Notification {
            kind: n.kind,
            alerts: Vec::new(),
            omitted: hidden,
        };
        if let Some(l) = omitted_line(&n2, lang) {
            body.push(json!({"type": "TextBlock", "text": l, "wrap": true, "isSubtle": true}));
        }
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body
            }
        }]
    })
}

fn webhook_body(n: &Notification, r: &Recipient, template: Option<&Template>) -> String {
    let total = n.total();
    match template {
        Some(t) if n.alerts.len() == 1 && n.omitted == 0 => match n.alerts.first() {
            Some(a) => t.render(&|f| field(a, r.language, &r.id, total, f), Escape::Json),
            None => "null".to_owned(),
        },
        Some(t) => {
            let mut s = String::from("[");
            for (i, a) in n.alerts.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                s.push_str(&t.render(&|f| field(a, r.language, &r.id, total, f), Escape::Json));
            }
            s.push(']');
            s
        }
        None => {
            let alerts: Vec<Json> = n.alerts.iter().map(|a| a.to_event().to_json()).collect();
            json!({
                "source": "mamori",
                "kind": n.kind.as_str(),
                "recipient": r.id,
                "alert_count": total,
                "omitted": n.omitted,
                "alerts": alerts,
            })
            .to_string()
        }
    }
}

/// Compact mamori alert JSON (syslog `json` format).
pub fn alert_json(a: &Alert) -> Json {
    json!({
        "rule": {"id": a.rule_id, "name": a.rule_name, "name_ja": a.rule_name_ja, "ruleset": a.ruleset.as_str()},
        "severity": a.severity.as_str(),
        "severity_number": a.severity.number(),
        "message": a.message,
        "message_ja": a.message_ja,
        "count": a.count,
        "first_seen": a.first_seen.to_rfc3339(),
        "last_seen": a.last_seen.to_rfc3339(),
        "state": match a.state { AlertState::Engaged => "engaged", AlertState::Past => "past" },
        "source_ip": a.source_ip,
        "destination_ip": a.destination_ip,
        "destination_port": a.destination_port,
        "user_name": a.user_name,
        "host_name": a.host_name,
        "techniques": a.techniques,
        "tactics": tactics(a),
        "controls": controls(a),
    })
}

/// CEF severity 0–10 from mamori's 1–4.
pub fn cef_severity(s: Severity) -> u8 {
    match s {
        Severity::Low => 3,
        Severity::Medium => 5,
        Severity::High => 8,
        Severity::Critical => 10,
    }
}

/// Escape a CEF header field (`\` and `|`; line breaks become spaces).
pub fn cef_header_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().take(MAX_FIELD_CHARS) {
        match c {
            '\\' => o.push_str("\\\\"),
            '|' => o.push_str("\\|"),
            '\r' | '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Escape a CEF extension value (`\`, `=`, line breaks as `\n` / `\r`).
pub fn cef_ext_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().take(MAX_FIELD_CHARS) {
        match c {
            '\\' => o.push_str("\\\\"),
            '=' => o.push_str("\\="),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            c => o.push(c),
        }
    }
    o
}

/// One alert as a CEF line.
pub fn cef_line(a: &Alert) -> String {
    let ms = |t: Timestamp| t.unix_nanos().div_euclid(1_000_000);
    let mut ext: Vec<(&str, String)> = vec![
        ("rt", ms(a.last_seen).to_string()),
        ("start", ms(a.first_seen).to_string()),
        ("end", ms(a.last_seen).to_string()),
        ("cnt", a.count.to_string()),
    ];
    if let Some(ip) = a.source_ip {
        ext.push(("src", ip.to_string()));
    }
    if let Some(ip) = a.destination_ip {
        ext.push(("dst", ip.to_string()));
    }
    if let Some(p) = a.destination_port {
        ext.push(("dpt", p.to_string()));
    }
    if let Some(u) = &a.user_name {
        ext.push(("suser", u.clone()));
    }
    if let Some(h) = &a.host_name {
        ext.push(("shost", h.clone()));
    }
    ext.push(("msg", a.message.clone()));
    let mut custom: Vec<(&str, &str, String)> = Vec::new();
    if !a.techniques.is_empty() {
        custom.push(("cs1", "attackTechniques", a.techniques.join(",")));
    }
    let t = tactics(a);
    if !t.is_empty() {
        custom.push(("cs2", "attackTactics", t.join(",")));
    }
    let c = controls(a);
    if !c.is_empty() {
        custom.push(("cs3", "controls", c.join(",")));
    }
    custom.push(("cs4", "ruleNameJa", a.rule_name_ja.to_string()));
    if let Some(m) = &a.message_ja {
        custom.push(("cs5", "messageJa", m.clone()));
    }
    let mut s = format!(
        "CEF:0|mamori|mamori|{}|{}|{}|{}|",
        cef_header_escape(PRODUCT_VERSION),
        cef_header_escape(&a.rule_id),
        cef_header_escape(&a.rule_name),
        cef_severity(a.severity)
    );
    let mut first = true;
    let mut push = |k: &str, v: &str| {
        if !first {
            s.push(' ');
        }
        first = false;
        s.push_str(k);
        s.push('=');
        s.push_str(&cef_ext_escape(v));
    };
    for (k, v) in &ext {
        push(k, v);
    }
    for (k, label, v) in &custom {
        push(&format!("{k}Label"), label);
        push(k, v);
    }
    s
}

/// Syslog severity (RFC 5424) for an alert severity.
pub fn syslog_severity(s: Severity) -> u8 {
    match s {
        Severity::Critical => 2,
        Severity::High => 3,
        Severity::Medium => 4,
        Severity::Low => 5,
    }
}

/// Escape an RFC 5424 SD-PARAM value (`"`, `\`, `]`).
pub fn sd_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars().take(MAX_FIELD_CHARS) {
        match c {
            '"' | '\\' | ']' => {
                o.push('\\');
                o.push(c);
            }
            '\r' | '\n' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// RFC 5424 timestamp with millisecond precision (TIME-SECFRAC allows at most 6 digits).
pub fn rfc5424_time(now_ms: u64) -> String {
    let t = Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(i64::MAX / 1_000_000));
    let (y, mo, d, h, mi, s, ns) = t.to_civil();
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        ns / 1_000_000
    )
}

/// One alert as an RFC 5424 message.
pub fn syslog_line(
    ep: &SyslogEndpoint,
    a: &Alert,
    recipient: &str,
    kind: NoteKind,
    now_ms: u64,
) -> String {
    let sev = if kind == NoteKind::Test {
        6
    } else {
        syslog_severity(a.severity)
    };
    let pri = u16::from(ep.facility) * 8 + u16::from(sev);
    let msg = match ep.format {
        SyslogFormat::Json => alert_json(a).to_string(),
        SyslogFormat::Ecs => a.to_event().to_json().to_string(),
        SyslogFormat::Cef => cef_line(a),
    };
    format!(
        "<{pri}>1 {} {} {} - {} [mamori@{SD_ENTERPRISE} rule_id=\"{}\" severity=\"{}\" count=\"{}\" recipient=\"{}\" kind=\"{}\"] {msg}",
        rfc5424_time(now_ms),
        ep.hostname,
        ep.app_name,
        match ep.format {
            SyslogFormat::Cef => "cef",
            SyslogFormat::Ecs => "ecs",
            SyslogFormat::Json => "json",
        },
        sd_escape(&a.rule_id),
        a.severity.as_str(),
        a.count,
        sd_escape(recipient),
        kind.as_str(),
    )
}

/// Render `n` for recipient `r` on endpoint `ep`.
pub fn render(n: &Notification, r: &Recipient, ep: &Endpoint, now_ms: u64) -> Payload {
    match &ep.kind {
        EndpointKind::Email(_) => {
            let subject = title(n, r);
            Payload::Email {
                text: text_body(n, r),
                html: html_body(n, r, &subject),
                subject,
            }
        }
        EndpointKind::Slack(_) => Payload::Http {
            summary: title(n, r),
            body: slack_body(n, r).to_string(),
        },
        EndpointKind::Teams(_) => Payload::Http {
            summary: title(n, r),
            body: teams_body(n, r).to_string(),
        },
        EndpointKind::Webhook(w) => Payload::Http {
            summary: title(n, r),
            body: webhook_body(n, r, w.body_template.as_ref()),
        },
        EndpointKind::Syslog(s) => {
            let mut lines: Vec<String> = n
                .alerts
                .iter()
                .map(|a| syslog_line(s, a, &r.id, n.kind, now_ms))
                .collect();
            if n.omitted > 0 {
                let mut summary = Alert::new(
                    "mamori.notify.omitted",
                    "Alerts omitted from notification",
                    Severity::Low,
                    Timestamp::from_unix_millis(i64::try_from(now_ms).unwrap_or(0)),
                    format!("{} alerts were not forwarded individually", n.omitted),
                );
                summary.rule_name_ja = "通知から省略されたアラート".into();
                summary.message_ja = Some(format!(
                    "{} 件のアラートを個別に転送しませんでした",
                    n.omitted
                ));
                summary.count = n.omitted;
                lines.push(syslog_line(s, &summary, &r.id, n.kind, now_ms));
            }
            Payload::Syslog { lines }
        }
    }
}

/// Escape `s` for the inside of a JSON string (re-exported helper).
pub fn json_escape(s: &str) -> String {
    let mut o = String::new();
    json_escape_into(s, &mut o);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cef_escaping_and_severity() {
        let mut a = Alert::new(
            "r|1",
            "a\\b|c",
            Severity::Critical,
            Timestamp::from_unix_secs(10),
            "x=y\\z\nw",
        );
        a.source_ip = "10.0.0.1".parse().ok();
        let line = cef_line(&a);
        assert!(line.starts_with("CEF:0|mamori|mamori|"));
        assert!(line.contains("|r\\|1|a\\\\b\\|c|10|"), "{line}");
        assert!(line.contains("msg=x\\=y\\\\z\\nw"), "{line}");
        assert!(line.contains("src=10.0.0.1"));
        assert!(line.contains("rt=10000"));
        assert_eq!(cef_severity(Severity::Low), 3);
        assert_eq!(cef_severity(Severity::Medium), 5);
        assert_eq!(cef_severity(Severity::High), 8);
    }

    #[test]
    fn sd_and_time_formats() {
        assert_eq!(sd_escape("a\"b]c\\"), "a\\\"b\\]c\\\\");
        assert_eq!(rfc5424_time(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(html_escape("<a&'\">"), "&lt;a&amp;&#39;&quot;&gt;");
        assert_eq!(truncate_chars("日本語です", 3), "日本…");
        let t = Timestamp::from_unix_secs(1_795_000_000);
        assert_eq!(human_time(t, Language::Ja), "2026-11-18 20:06:40 JST");
        assert_eq!(human_time(t, Language::En), "2026-11-18 11:06:40 UTC");
    }
}
