//! # mamori-query
//!
//! The mamori query language: what an analyst types (Splunk/Kibana-like) → a typed [`Plan`] →
//! results over [`mamori_core::Event`]s.
//!
//! ```text
//! event.dataset:sshd AND event.outcome:failure NOT source.ip:10.0.0.0/8
//!     | stats count() as n, dc(user.name) by source.ip | sort -n | head 10
//! ```
//!
//! * Terms: `field:value`, `field=value`, `!=`, `<`, `<=`, `>`, `>=`; quoted values with
//!   `\"`, `\\`, `\n`, `\t` escapes; wildcards `*`/`?` in unquoted values (`user.name:adm*`);
//!   CIDR on IP fields (`source.ip:10.0.0.0/8`, `2001:db8::/32`); regex `field:/pattern/`
//!   (unanchored, `i` flag for case-insensitive); `field:*` (exists); free text (bare words and
//!   `"quoted phrases"`) matched case-insensitively against `message` and `event.original`.
//! * `field:(a OR b OR "c d")` lists alternatives of one field; whitespace around an operator
//!   is allowed (`destination.port > 1024`).
//! * Logic: `NOT`/`!`/`-` binds tighter than `AND`/`&&` (also implied between terms), which
//!   binds tighter than `OR`/`||`; parentheses; keywords are case-insensitive.
//! * Values are typed by the [`Schema`]: IP/CIDR for ip fields, integers for long, RFC 3339,
//!   `YYYY-MM-DD` or `now-7d` for dates. Keyword equality is exact and case-sensitive; text
//!   fields (`message`) match a case-insensitive substring (the literal is kept case-folded).
//!   Regexes are unanchored (add `^…$`). Date-only values are midnight UTC. `a!=b` means `NOT a:b` (it also
//!   matches events without `a`).
//! * Time: the caller passes a [`TimeRange`] (`--since 7d`) in [`ParseOptions`]; top-level
//!   `@timestamp` comparisons narrow it ([`Plan::time`]).
//! * Pipes: `stats`, `timechart`, `sort`, `head`, `tail`, `fields`, `where`, `top`.
//! * A store pushes [`Plan::prune_hints`] and [`Plan::fields_needed`] down into its segments
//!   and runs [`Plan::matches`] / [`Plan::execute`] on what it reads.
//!
//! ```
//! use mamori_core::{Event, Timestamp};
//! use mamori_query::{parse, ParseOptions, QueryResult, Schema};
//!
//! let t = Timestamp::from_unix_secs(1_700_000_000);
//! let events: Vec<Event> = ["10.0.0.5", "10.0.0.5", "192.0.2.9"]
//!     .iter()
//!     .map(|ip| {
//!         Event::new(t, "sshd")
//!             .with("event.outcome", "failure")
//!             .with("source.ip", ip.parse::<std::net::IpAddr>().unwrap())
//!     })
//!     .collect();
//!
//! let plan = parse(
//!     "event.dataset:sshd AND event.outcome:failure | stats count() by source.ip | sort -count | head 1",
//!     &Schema::ecs(),
//!     &ParseOptions::default(),
//! )
//! .unwrap();
//! let out = plan.execute(&events).unwrap();
//! let QueryResult::Table { columns, rows } = out.result else { panic!("a table") };
//! assert_eq!(columns, ["source.ip", "count"]);
//! assert_eq!(rows[0][0].as_ref().unwrap().to_string(), "10.0.0.5");
//! assert_eq!(rows[0][1], Some(mamori_core::Value::Int(2)));
//!
//! // Mistakes point at their column.
//! let err = parse("sorce.ip:10.0.0.1", &Schema::ecs(), &ParseOptions::default()).unwrap_err();
//! assert_eq!(err.to_string(), "unknown field `sorce.ip` (did you mean `source.ip`?) at column 1");
//! ```

pub mod error;
pub mod exec;
pub mod expr;
pub mod parse;
pub mod plan;
pub mod schema;

pub use error::{ExecError, QueryError, QueryErrorKind};
pub use exec::{Limits, OutputItem, QueryOutput, QueryResult, RunStats};
pub use expr::{CmpOp, Expr, Field, FreeText, Glob, GlobTok, Lit, Op, Pattern, Predicate, Record};
pub use parse::{parse, parse_filter, ParseOptions};
pub use plan::{Agg, AggFunc, Constraint, FieldHint, Plan, PruneHints, SortKey, Stage, TimeRange};
pub use schema::{FieldType, Schema};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 64 * 1024;
/// Deepest nesting of parentheses and `NOT`s.
pub const MAX_DEPTH: usize = 64;
/// Most pipeline stages.
pub const MAX_STAGES: usize = 32;
/// Most items in one list (terms of one AND/OR, values of a `field:(a OR b)` group,
/// aggregations, group-by fields, sort keys); room for an indicator list of a few thousand.
pub const MAX_LIST_ITEMS: usize = 8192;
/// Compiled size limit of one regular expression, in bytes.
pub const MAX_REGEX_BYTES: usize = 1 << 20;
/// Rows of `head`/`tail`/`top` when no number is given.
pub const DEFAULT_HEAD: usize = 10;
/// `timechart` bucket width when no `span=` is given (one hour).
pub const DEFAULT_SPAN: mamori_core::Duration = mamori_core::Duration::from_secs(3600);
/// Groups one `stats`/`timechart`/`top` may hold.
pub const MAX_GROUPS: usize = 100_000;
/// Rows one `sort`/`tail` may hold.
pub const MAX_BUFFERED_ROWS: usize = 1_000_000;
/// Rows [`Plan::execute`] collects before it reports [`ExecError::TooManyRows`].
pub const MAX_OUTPUT_ROWS: usize = 1_000_000;
/// Distinct values all `dc()`s of one stage may track together.
pub const MAX_DISTINCT_VALUES: usize = 2_000_000;
/// Distinct values one `values(field)` keeps (more are counted as `values_truncated`).
pub const MAX_VALUES: usize = 100;
