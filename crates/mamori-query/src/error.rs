//! Errors: [`QueryError`] for text that is not a valid query (with the 1-based column of the
//! mistake and a caret line), [`ExecError`] for a query that went over a named limit while
//! running.

use std::fmt;

/// A query that could not be parsed or typed. Nothing runs when one is returned.
///
/// `Display` gives one line (`expected a value after ':' at column 14`);
/// [`QueryError::render`] adds the query and a caret under the column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong.
    pub kind: QueryErrorKind,
    /// 1-based column (in characters) of the mistake.
    pub column: usize,
    /// The query text (kept so that the caret line can be drawn).
    pub query: String,
}

impl QueryError {
    /// The message, the query and a caret under the offending column, e.g.
    ///
    /// ```text
    /// expected a value after ':' at column 14
    ///   event.outcome: AND x
    ///                ^
    /// ```
    pub fn render(&self) -> String {
        format!("{self}\n{}", self.caret_lines())
    }

    /// Only the two lines: the query (tabs and newlines shown as spaces) and the caret.
    pub fn caret_lines(&self) -> String {
        let shown: String = self
            .query
            .chars()
            .take(crate::MAX_QUERY_CHARS)
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        // Full-width characters (Japanese, Chinese, Korean) take two terminal cells.
        let pad: usize = shown
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if is_wide(c) { 2 } else { 1 })
            .sum::<usize>()
            + self
                .column
                .saturating_sub(1)
                .saturating_sub(shown.chars().count());
        format!("  {shown}\n  {}^", " ".repeat(pad))
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at column {}", self.kind, self.column)
    }
}

impl std::error::Error for QueryError {}

/// Whether a character is East Asian wide or full-width (two terminal cells).
fn is_wide(c: char) -> bool {
    matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD)
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// The reasons a query is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryErrorKind {
    /// The query is longer than [`crate::MAX_QUERY_CHARS`].
    #[error("query is {len} characters long, more than the limit of {max}")]
    TooLong {
        /// Length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Parentheses or `NOT`s nested deeper than [`crate::MAX_DEPTH`].
    #[error("expression nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// An operator with nothing after it.
    #[error("expected a value after '{after}'")]
    ExpectedValue {
        /// The operator text.
        after: String,
    },
    /// Something else was expected.
    #[error("expected {expected}, found {found}")]
    Expected {
        /// What the grammar wanted.
        expected: &'static str,
        /// What was there (`end of query` at the end).
        found: String,
    },
    /// A `"` without its closing `"`.
    #[error("unterminated quoted string")]
    UnterminatedQuote,
    /// A `/regex/` without its closing `/`.
    #[error("unterminated regular expression (missing closing '/')")]
    UnterminatedRegex,
    /// A field the schema does not know.
    #[error("unknown field `{field}`{}", did_you_mean(.suggestion))]
    UnknownField {
        /// The name as typed.
        field: String,
        /// The closest known name, when one is close.
        suggestion: Option<String>,
    },
    /// A value that does not fit the field's type.
    #[error("`{field}` expects {expected}, got `{value}`")]
    BadValue {
        /// Field name.
        field: String,
        /// What the type wants (`a number`, `an IP address or CIDR`, …).
        expected: &'static str,
        /// The value as typed.
        value: String,
    },
    /// A regular expression that does not compile (or is over the size limit).
    #[error("invalid regular expression /{pattern}/: {reason}")]
    BadRegex {
        /// The pattern.
        pattern: String,
        /// The compiler's reason (first line).
        reason: String,
    },
    /// An operator that the field's type cannot do.
    #[error("`{field}` is a {ty} field: operator '{op}' is not supported{hint}")]
    UnsupportedOperator {
        /// Field name.
        field: String,
        /// Field type name.
        ty: &'static str,
        /// The operator (or `regex`, `wildcard`).
        op: String,
        /// Extra advice (starts with `; ` when present).
        hint: &'static str,
    },
    /// `now-…` without a reference time from the caller.
    #[error("relative time `{value}` needs a reference time ('now') from the caller")]
    NoReferenceTime {
        /// The value as typed.
        value: String,
    },
    /// `| name` where `name` is not a command.
    #[error("unknown command `{name}` after '|' (expected one of: stats, sort, head, tail, fields, timechart, where, top)")]
    UnknownCommand {
        /// The name as typed.
        name: String,
    },
    /// An aggregation function that does not exist.
    #[error("unknown function `{name}` (expected one of: count, dc, sum, avg, min, max, values)")]
    UnknownFunction {
        /// The name as typed.
        name: String,
    },
    /// An aggregation function that needs a field and got none.
    #[error("`{name}` needs a field, e.g. {name}(network.bytes)")]
    FunctionNeedsField {
        /// Function name.
        name: &'static str,
    },
    /// A column that the previous stage does not produce.
    #[error("unknown column `{name}` (columns here: {columns})")]
    UnknownColumn {
        /// The name as typed.
        name: String,
        /// The available columns, comma separated.
        columns: String,
    },
    /// A count or span that is not a valid positive number.
    #[error("`{value}` is not a valid {what}")]
    BadArgument {
        /// What was wanted (`row count`, `span`, …).
        what: &'static str,
        /// The value as typed.
        value: String,
    },
    /// Free text where no `message` exists (after `stats`).
    #[error("free text `{text}` can only search events, not the rows of a previous stats/timechart/fields; name a column instead")]
    FreeTextOnRows {
        /// The text.
        text: String,
    },
    /// More pipeline stages than [`crate::MAX_STAGES`], or more items in a list than allowed.
    #[error("too many {what} (limit {max})")]
    TooMany {
        /// What is counted (`pipeline stages`, `aggregations`, …).
        what: &'static str,
        /// The limit.
        max: usize,
    },
}

/// A query that went over a limit while running. Results are not returned partially: the
/// caller is told which limit and can narrow the query.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// A `stats`/`timechart`/`top` produced more groups than allowed.
    #[error(
        "`{stage}` produced more than {limit} groups; narrow the query or group by fewer fields"
    )]
    TooManyGroups {
        /// The stage (canonical text).
        stage: String,
        /// The limit in force.
        limit: usize,
    },
    /// A blocking stage (`sort`, `tail`) or the result had to hold more rows than allowed.
    #[error("`{stage}` would hold more than {limit} rows; add `| head N` or narrow the query")]
    TooManyRows {
        /// The stage (canonical text, or `result`).
        stage: String,
        /// The limit in force.
        limit: usize,
    },
    /// `dc()` tracked more distinct values than allowed in total.
    #[error("`{stage}` tracked more than {limit} distinct values")]
    TooManyDistinct {
        /// The stage (canonical text).
        stage: String,
        /// The limit in force.
        limit: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_counts_full_width_characters_twice() {
        let e = QueryError {
            kind: QueryErrorKind::UnterminatedQuote,
            column: 4,
            query: "山田 \"x".into(),
        };
        // 山 and 田 are two cells each, then a space: the caret is under the quote.
        assert_eq!(e.caret_lines(), "  山田 \"x\n       ^");
        let e = QueryError {
            kind: QueryErrorKind::UnterminatedQuote,
            column: 3,
            query: "ab".into(),
        };
        assert_eq!(e.caret_lines(), "  ab\n    ^");
    }
}
