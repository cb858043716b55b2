//! Why a rule could not be loaded.

use crate::pattern::PatternError;

/// A rule (or correlation/filter) that could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The YAML itself is malformed.
    #[error("yaml syntax: {reason}")]
    Yaml {
        /// The parser's message.
        reason: String,
    },
    /// A required key is missing or has the wrong type.
    #[error("missing or invalid '{key}'")]
    Missing {
        /// The key.
        key: String,
    },
    /// A modifier this engine does not know.
    #[error("unknown modifier '{modifier}' in '{key}'")]
    UnknownModifier {
        /// The modifier.
        modifier: String,
        /// The detection key it appears in.
        key: String,
    },
    /// A value that does not suit its modifier.
    #[error("bad value for '{key}': {reason}")]
    BadValue {
        /// The detection key.
        key: String,
        /// Why.
        reason: String,
    },
    /// The condition does not parse or names unknown selections.
    #[error("condition '{condition}': {reason}")]
    Condition {
        /// The condition text.
        condition: String,
        /// Why.
        reason: String,
    },
    /// An `expand` placeholder with no configured values.
    #[error("unresolved placeholder '%{name}%'")]
    UnresolvedPlaceholder {
        /// The placeholder name.
        name: String,
    },
    /// A regex that does not compile (or is too large).
    #[error(transparent)]
    Pattern(#[from] PatternError),
    /// A correlation or filter names rules that are not loaded.
    #[error("unknown rule reference '{reference}'")]
    UnknownReference {
        /// The id or name.
        reference: String,
    },
    /// A construct the engine deliberately does not support.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What.
        what: String,
    },
    /// A size limit was exceeded.
    #[error("limit exceeded: {what}")]
    Limit {
        /// Which limit.
        what: String,
    },
}

impl RuleError {
    /// A stable snake_case reason name (for counters and reports).
    pub fn reason(&self) -> &'static str {
        match self {
            RuleError::Yaml { .. } => "yaml_syntax",
            RuleError::Missing { .. } => "missing_key",
            RuleError::UnknownModifier { .. } => "unknown_modifier",
            RuleError::BadValue { .. } => "bad_value",
            RuleError::Condition { .. } => "bad_condition",
            RuleError::UnresolvedPlaceholder { .. } => "unresolved_placeholder",
            RuleError::Pattern(_) => "bad_regex",
            RuleError::UnknownReference { .. } => "unknown_reference",
            RuleError::Unsupported { .. } => "unsupported_feature",
            RuleError::Limit { .. } => "limit_exceeded",
        }
    }

    /// Text to search for in the rule to locate the error (a key or value).
    pub(crate) fn locator(&self) -> Option<String> {
        match self {
            RuleError::Missing { key } => Some(format!("{key}:")),
            RuleError::UnknownModifier { key, .. } | RuleError::BadValue { key, .. } => {
                Some(key.clone())
            }
            RuleError::Condition { .. } => Some("condition:".to_owned()),
            RuleError::UnresolvedPlaceholder { name } => Some(format!("%{name}%")),
            RuleError::Pattern(p) => Some(p.pattern.clone()),
            RuleError::UnknownReference { reference } => Some(reference.clone()),
            _ => None,
        }
    }
}
