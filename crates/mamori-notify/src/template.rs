//! `{{field}}` templates over alert fields.
//!
//! Known fields: see [`FIELDS`]. Unknown names are rejected when the config is built, so a typo
//! never reaches a recipient as an empty string. `{{{{` is not special; there is no logic.

/// Largest template accepted.
pub const MAX_TEMPLATE_LEN: usize = 16 * 1024;
/// Most placeholders in one template.
pub const MAX_PLACEHOLDERS: usize = 256;

/// Field names a template may use.
pub const FIELDS: &[&str] = &[
    "rule_id",
    "rule_name",
    "rule_name_en",
    "rule_name_ja",
    "ruleset",
    "severity",
    "severity_en",
    "severity_ja",
    "severity_number",
    "message",
    "message_en",
    "message_ja",
    "source_ip",
    "destination_ip",
    "destination_port",
    "user_name",
    "host_name",
    "entities",
    "techniques",
    "tactics",
    "controls",
    "count",
    "first_seen",
    "last_seen",
    "state",
    "alert_count",
    "recipient",
];

/// Fields whose value is a number (or absent), usable bare in JSON templates.
pub const NUMERIC_FIELDS: &[&str] = &[
    "severity_number",
    "count",
    "alert_count",
    "destination_port",
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Field(&'static str),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

/// How substituted values are escaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// As is.
    None,
    /// Inside a JSON string literal.
    Json,
}

impl Template {
    /// Parse; errors name the problem.
    pub fn parse(src: &str) -> Result<Template, String> {
        if src.len() > MAX_TEMPLATE_LEN {
            return Err(format!("longer than {MAX_TEMPLATE_LEN} bytes"));
        }
        let mut parts = Vec::new();
        let mut rest = src;
        let mut fields = 0usize;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Lit(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| "unclosed `{{`".to_owned())?;
            let name = after[..end].trim();
            let known = FIELDS
                .iter()
                .find(|f| **f == name)
                .ok_or_else(|| format!("unknown field `{name}`"))?;
            fields += 1;
            if fields > MAX_PLACEHOLDERS {
                return Err(format!("more than {MAX_PLACEHOLDERS} placeholders"));
            }
            parts.push(Part::Field(known));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// The template text again (for error messages).
    pub fn source(&self) -> String {
        let mut s = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => s.push_str(l),
                Part::Field(f) => {
                    s.push_str("{{");
                    s.push_str(f);
                    s.push_str("}}");
                }
            }
        }
        s
    }

    /// Render with `lookup` giving each field's text.
    pub fn render(&self, lookup: &dyn Fn(&str) -> String, escape: Escape) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(l) => out.push_str(l),
                Part::Field(f) => {
                    let v = lookup(f);
                    match escape {
                        Escape::None => out.push_str(&v),
                        // A number field that is absent renders as `null` so bare use in a
                        // JSON template stays valid.
                        Escape::Json if NUMERIC_FIELDS.contains(f) && v.parse::<f64>().is_err() => {
                            out.push_str("null")
                        }
                        Escape::Json => json_escape_into(&v, &mut out),
                    }
                }
            }
        }
        out
    }

    /// Check that the template renders to valid JSON for awkward values (quotes, backslashes,
    /// newlines, Japanese text).
    pub fn check_json(&self) -> Result<(), String> {
        // Numbers both present and absent (`null`) must give valid JSON.
        for number in ["12", "-"] {
            let rendered = self.render(
                &|f| {
                    if NUMERIC_FIELDS.contains(&f) {
                        number.to_owned()
                    } else {
                        "a\"b\\c\nd 日本".to_owned()
                    }
                },
                Escape::Json,
            );
            serde_json::from_str::<serde_json::Value>(&rendered)
                .map_err(|e| format!("does not render to JSON: {e}"))?;
        }
        Ok(())
    }
}

/// Append `s` escaped for the inside of a JSON string.
pub fn json_escape_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_known_fields_and_rejects_unknown() {
        let t = Template::parse("[{{ severity }}] {{rule_name}}!").unwrap();
        let out = t.render(&|f| f.to_uppercase(), Escape::None);
        assert_eq!(out, "[SEVERITY] RULE_NAME!");
        assert!(Template::parse("{{nope}}").unwrap_err().contains("nope"));
        assert!(Template::parse("{{rule_id").is_err());
        assert!(Template::parse(&"x".repeat(MAX_TEMPLATE_LEN + 1)).is_err());
    }

    #[test]
    fn json_escaping_keeps_json_valid() {
        let t = Template::parse(r#"{"m": "{{message}}"}"#).unwrap();
        t.check_json().unwrap();
        let out = t.render(&|_| "q\"\\\u{1}".into(), Escape::Json);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["m"], "q\"\\\u{1}");
        assert!(Template::parse("{{message}}")
            .unwrap()
            .check_json()
            .is_err());
    }
}
