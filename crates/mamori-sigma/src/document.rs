//! The view of an event that rules evaluate: fields by name and full-text keywords.

use std::borrow::Cow;

use mamori_core::{Event, Value};

/// A field value as rules see it (borrowed from the document where possible).
pub type FieldValue<'a> = Cow<'a, Value>;

/// Anything Sigma rules can be evaluated over.
///
/// [`Event`] implements it; tests and other engines can supply their own documents.
pub trait Document {
    /// The value of a field by its (already mapped) name.
    fn get(&self, field: &str) -> Option<FieldValue<'_>>;
    /// Calls `f` with every text a keyword search looks at, stopping when `f` returns `true`;
    /// returns whether it did.
    fn any_keyword(&self, f: &mut dyn FnMut(&str) -> bool) -> bool;
    /// The dataset (`event.dataset`) used to pick candidate rules.
    fn dataset(&self) -> &str;
    /// The Windows channel (`winlog.channel`), when the document has one.
    fn channel(&self) -> Option<&str> {
        None
    }
    /// The event code (`event.code`, Windows EventID), when the document has one.
    fn event_code(&self) -> Option<i64> {
        None
    }
    /// A field under `prefix` whose name equals `name` ignoring spaces and ASCII case
    /// (Windows Defender writes `Source Name` where Sigma writes `SourceName`).
    fn get_loose(&self, prefix: &str, name: &str) -> Option<FieldValue<'_>> {
        let _ = (prefix, name);
        None
    }
}

/// Whether `have` equals `want` when spaces are ignored and ASCII case folded.
pub fn loose_eq(have: &str, want: &str) -> bool {
    let mut a = have.bytes().filter(|b| *b != b' ');
    let mut b = want.bytes().filter(|b| *b != b' ');
    loop {
        match (a.next(), b.next()) {
            (None, None) => return true,
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(&y) => {}
            _ => return false,
        }
    }
}

impl Document for Event {
    fn get(&self, field: &str) -> Option<FieldValue<'_>> {
        Event::get(self, field)
    }

    fn any_keyword(&self, f: &mut dyn FnMut(&str) -> bool) -> bool {
        fn walk(v: &Value, f: &mut dyn FnMut(&str) -> bool) -> bool {
            match v {
                Value::Str(s) => f(s),
                Value::List(items) => items.iter().any(|i| walk(i, f)),
                _ => false,
            }
        }
        self.fields.values().any(|v| walk(v, f))
    }

    fn dataset(&self) -> &str {
        &self.dataset
    }

    fn channel(&self) -> Option<&str> {
        self.get_str("winlog.channel")
    }

    fn get_loose(&self, prefix: &str, name: &str) -> Option<FieldValue<'_>> {
        use std::ops::Bound;
        self.fields
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .find(|(k, _)| {
                k.get(prefix.len()..)
                    .is_some_and(|rest| loose_eq(rest, name))
            })
            .map(|(_, v)| Cow::Borrowed(v))
    }

    fn event_code(&self) -> Option<i64> {
        self.fields
            .get("event.code")
            .or_else(|| self.fields.get("winlog.event_id"))
            .and_then(Value::as_i64)
    }
}
