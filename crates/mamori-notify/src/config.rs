//! Notification configuration: **endpoints** (how to reach a server) and **recipients** (an
//! endpoint plus filters, language, mode and rate limit), as in ntopng.
//!
//! The raw structs deserialize with `deny_unknown_fields`; [`NotifyConfig::validate_and_build`]
//! resolves secrets (`env:VAR`, `file:/path` or inline), checks every reference and template
//! once, and returns the typed [`Config`] the [`crate::Dispatcher`] runs on.

use std::collections::BTreeMap;
use std::fmt;

use ipnet::IpNet;
use mamori_core::{AlertState, Severity};
use serde::{Deserialize, Serialize};

use crate::template::Template;

/// Current configuration format version.
pub const CONFIG_VERSION: u32 = 1;
/// Default delivery attempts before a message goes to the dead-letter list.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Default first retry delay.
pub const DEFAULT_BACKOFF_INITIAL_MS: u64 = 1_000;
/// Default ceiling of the retry delay.
pub const DEFAULT_BACKOFF_MAX_MS: u64 = 300_000;
/// Default network timeout per connection step.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Upper bound accepted for `max_attempts`.
pub const MAX_ATTEMPTS_LIMIT: u32 = 100;
/// Upper bound accepted for `digest_minutes` (one week).
pub const MAX_DIGEST_MINUTES: u32 = 7 * 24 * 60;
/// Largest secret file read for `file:/path`.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;
/// Default webhook signature header.
pub const DEFAULT_SIGNATURE_HEADER: &str = "X-Mamori-Signature";
/// Default webhook timestamp header.
pub const DEFAULT_TIMESTAMP_HEADER: &str = "X-Mamori-Timestamp";

/// Errors found while building the configuration.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// Version field is not supported.
    #[error("unsupported notifications config version {0} (expected {CONFIG_VERSION})")]
    Version(u32),
    /// Two endpoints or recipients share an id.
    #[error("duplicate {what} id `{id}`")]
    Duplicate {
        /// `endpoint` or `recipient`.
        what: &'static str,
        /// The id.
        id: String,
    },
    /// A recipient names an endpoint that does not exist.
    #[error("recipient `{recipient}`: unknown endpoint `{endpoint}`")]
    UnknownEndpoint {
        /// Recipient id.
        recipient: String,
        /// Endpoint id it names.
        endpoint: String,
    },
    /// A secret could not be resolved.
    #[error("{location}: secret {source_desc} could not be read: {reason}")]
    Secret {
        /// Where the secret is configured.
        location: String,
        /// `env:VAR` or `file:/path` (never the secret itself).
        source_desc: String,
        /// Why.
        reason: String,
    },
    /// A field has an invalid value.
    #[error("{location}: invalid {field} `{value}`: {reason}")]
    Invalid {
        /// Endpoint or recipient.
        location: String,
        /// Field name.
        field: &'static str,
        /// Offending value (never a secret).
        value: String,
        /// Why.
        reason: String,
    },
}

/// A secret: inline text, `env:VAR` or `file:/path`. Debug output never shows it.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct SecretSpec(pub String);

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.starts_with("env:") || self.0.starts_with("file:") {
            write!(f, "SecretSpec({:?})", self.0)
        } else {
            f.write_str("SecretSpec(<inline>)")
        }
    }
}

impl SecretSpec {
    /// Resolve to the secret value; `location` names the config place for errors.
    pub fn resolve(&self, location: &str) -> Result<Secret, ConfigError> {
        let err = |desc: &str, reason: String| ConfigError::Secret {
            location: location.to_owned(),
            source_desc: desc.to_owned(),
            reason,
        };
        if let Some(var) = self.0.strip_prefix("env:") {
            let v = std::env::var(var).map_err(|e| err(&self.0, e.to_string()))?;
            if v.is_empty() {
                return Err(err(&self.0, "variable is empty".into()));
            }
            Ok(Secret(v))
        } else if let Some(path) = self.0.strip_prefix("file:") {
            use std::io::Read;
            let f = std::fs::File::open(path).map_err(|e| err(&self.0, e.to_string()))?;
            let mut s = String::new();
            f.take(MAX_SECRET_FILE + 1)
                .read_to_string(&mut s)
                .map_err(|e| err(&self.0, e.to_string()))?;
            if s.len() as u64 > MAX_SECRET_FILE {
                return Err(err(&self.0, format!("larger than {MAX_SECRET_FILE} bytes")));
            }
            let t = s.trim_end_matches(['\r', '\n']).to_owned();
            if t.is_empty() {
                return Err(err(&self.0, "file is empty".into()));
            }
            Ok(Secret(t))
        } else if self.0.is_empty() {
            Err(err("<inline>", "empty".into()))
        } else {
            Ok(Secret(self.0.clone()))
        }
    }
}

/// A resolved secret value. Debug output never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Root of the `[notifications]` configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Format version, currently 1.
    #[serde(default = "default_version")]
    pub version: u32,
    /// Retry and queue settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Server configurations.
    #[serde(default)]
    pub endpoints: Vec<EndpointConfig>,
    /// Destinations with filters.
    #[serde(default)]
    pub recipients: Vec<RecipientConfig>,
}

fn default_version() -> u32 {
    CONFIG_VERSION
}

/// Retry policy shared by all endpoints.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Attempts per message before it becomes a dead letter (1 = no retry).
    pub max_attempts: u32,
    /// First retry delay in milliseconds; doubles each attempt with jitter.
    pub backoff_initial_ms: u64,
    /// Largest retry delay in milliseconds.
    pub backoff_max_ms: u64,
    /// Timeout for each network step in milliseconds.
    pub timeout_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_initial_ms: DEFAULT_BACKOFF_INITIAL_MS,
            backoff_max_ms: DEFAULT_BACKOFF_MAX_MS,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

/// One endpoint, selected by `kind = "email" | "slack" | "teams" | "webhook" | "syslog"`;
/// every kind has an `id` that recipients refer to.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum EndpointConfig {
    /// SMTP server.
    Email(EmailEndpointConfig),
    /// Slack incoming webhook.
    Slack(ChatWebhookConfig),
    /// Microsoft Teams webhook (Adaptive Card).
    Teams(ChatWebhookConfig),
    /// Generic JSON webhook.
    Webhook(WebhookConfig),
    /// RFC 5424 syslog forward.
    Syslog(SyslogConfig),
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain text (only for a local relay).
    None,
    /// Plain connection upgraded with STARTTLS (required, never silently skipped).
    Starttls,
    /// Implicit TLS from the first byte (port 465).
    Tls,
}

/// SMTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailEndpointConfig {
    /// Unique id that recipients refer to.
    pub id: String,
    /// Server host name or IP.
    pub host: String,
    /// Server port (25, 465, 587).
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// SMTP AUTH user name.
    #[serde(default)]
    pub username: Option<String>,
    /// SMTP AUTH password (inline, `env:VAR` or `file:/path`).
    #[serde(default)]
    pub password: Option<SecretSpec>,
    /// Envelope and header sender address.
    pub from: String,
    /// Name sent in EHLO (default `mamori`).
    #[serde(default)]
    pub helo_name: Option<String>,
    /// PEM file with extra CA certificates to trust (private CA).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Allow AUTH over an unencrypted connection (`tls = "none"`); off by default.
    #[serde(default)]
    pub allow_plaintext_auth: bool,
}

/// Slack / Teams webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChatWebhookConfig {
    /// Unique id that recipients refer to.
    pub id: String,
    /// Webhook URL (contains a token: may be `env:VAR` / `file:/path`).
    pub url: SecretSpec,
}

/// Generic webhook.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique id that recipients refer to.
    pub id: String,
    /// Target URL (`http://` or `https://`; may be `env:VAR` / `file:/path`).
    pub url: SecretSpec,
    /// `POST` (default) or `PUT`.
    #[serde(default)]
    pub method: Option<String>,
    /// Extra request headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// JSON body template with `{{field}}` placeholders (JSON-escaped on substitution; absent
    /// number fields render as `null`). A single alert renders the template once; digests and
    /// rate-limit summaries send a JSON array with the template rendered per alert.
    /// Default: `{"source": "mamori", "kind", "recipient", "alert_count", "omitted",
    /// "alerts": [ECS alert documents]}`.
    #[serde(default)]
    pub body_template: Option<String>,
    /// HMAC-SHA256 key; when set, requests carry the signature and timestamp headers.
    #[serde(default)]
    pub secret: Option<SecretSpec>,
    /// Signature header name (value `sha256=<hex>` over `<timestamp>.<body>`).
    #[serde(default)]
    pub signature_header: Option<String>,
    /// Timestamp header name (Unix seconds at send time; receivers reject old ones).
    #[serde(default)]
    pub timestamp_header: Option<String>,
    /// PEM file with extra CA certificates to trust for `https://` (private CA).
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// Syslog transport.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogTransport {
    /// One datagram per message.
    Udp,
    /// Octet-counted frames (RFC 6587).
    Tcp,
    /// Octet-counted frames over TLS (RFC 5425).
    Tls,
}

/// Syslog payload format.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    /// Compact mamori alert JSON.
    Json,
    /// ArcSight Common Event Format.
    Cef,
    /// The alert as an ECS document (EVENTS.md).
    Ecs,
}

/// Syslog forward settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyslogConfig {
    /// Unique id that recipients refer to.
    pub id: String,
    /// `host:port` of the collector.
    pub address: String,
    /// UDP, TCP or TLS.
    pub transport: SyslogTransport,
    /// Payload format.
    pub format: SyslogFormat,
    /// Facility number 0–23 (default 16, local0).
    #[serde(default)]
    pub facility: Option<u8>,
    /// HOSTNAME field (default `-`).
    #[serde(default)]
    pub hostname: Option<String>,
    /// APP-NAME field (default `mamori`).
    #[serde(default)]
    pub app_name: Option<String>,
    /// TLS server name when it differs from the address host.
    #[serde(default)]
    pub server_name: Option<String>,
    /// PEM file with extra CA certificates to trust.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// Language of a recipient's messages.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// Japanese, falling back to English where a rule has no Japanese text.
    #[default]
    Ja,
    /// English.
    En,
}

/// Immediate delivery or a digest.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// One message per alert.
    #[default]
    Immediate,
    /// One message per `digest_minutes` with all alerts of the window.
    Digest,
}

/// A destination with filters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecipientConfig {
    /// Unique id.
    pub id: String,
    /// Endpoint id.
    pub endpoint: String,
    /// Mail addresses (email endpoints only).
    #[serde(default)]
    pub to: Vec<String>,
    /// Message language (default `ja`).
    #[serde(default)]
    pub language: Language,
    /// Lowest severity delivered (default all).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Rule ids; an entry ending in `*` is a prefix (`mamori.net.*`). Empty = all.
    #[serde(default)]
    pub rules: Vec<String>,
    /// ATT&CK tactic names (`Discovery`, `command-and-control`). Empty = all.
    #[serde(default)]
    pub tactics: Vec<String>,
    /// Host groups as CIDR lists: an alert matches when its source or destination IP is in one.
    #[serde(default)]
    pub host_groups: Vec<IpNet>,
    /// Alert states delivered (`engaged`, `past`). Empty = all.
    #[serde(default)]
    pub states: Vec<AlertState>,
    /// Immediate (default) or digest.
    #[serde(default)]
    pub mode: Mode,
    /// Digest window in minutes (digest mode).
    #[serde(default)]
    pub digest_minutes: Option<u32>,
    /// Messages per minute at most; the rest is summarised in one message per minute.
    #[serde(default)]
    pub rate_limit_per_minute: Option<u32>,
    /// Subject / title template (email, Slack, Teams), `{{field}}` placeholders; used for
    /// single alerts and tests, digests and summaries use a fixed localised subject.
    #[serde(default)]
    pub subject_template: Option<String>,
    /// Body template (email text, Slack, Teams), `{{field}}` placeholders, rendered per alert
    /// (the email HTML part keeps the standard layout).
    #[serde(default)]
    pub body_template: Option<String>,
}

/// Typed, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Retry policy.
    pub delivery: DeliveryConfig,
    /// Endpoints by position.
    pub endpoints: Vec<Endpoint>,
    /// Recipients by position.
    pub recipients: Vec<Recipient>,
}

/// A validated endpoint.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Id.
    pub id: String,
    /// Settings.
    pub kind: EndpointKind,
}

/// Validated endpoint settings.
#[derive(Debug, Clone)]
pub enum EndpointKind {
    /// SMTP.
    Email(EmailEndpoint),
    /// Slack webhook URL.
    Slack(HttpTarget),
    /// Teams webhook URL.
    Teams(HttpTarget),
    /// Generic webhook.
    Webhook(WebhookEndpoint),
    /// Syslog forward.
    Syslog(SyslogEndpoint),
}

impl EndpointConfig {
    /// The endpoint id.
    pub fn id(&self) -> &str {
        match self {
            EndpointConfig::Email(c) => &c.id,
            EndpointConfig::Slack(c) | EndpointConfig::Teams(c) => &c.id,
            EndpointConfig::Webhook(c) => &c.id,
            EndpointConfig::Syslog(c) => &c.id,
        }
    }
}

impl EndpointKind {
    /// Kind name as in the config.
    pub fn name(&self) -> &'static str {
        match self {
            EndpointKind::Email(_) => "email",
            EndpointKind::Slack(_) => "slack",
            EndpointKind::Teams(_) => "teams",
            EndpointKind::Webhook(_) => "webhook",
            EndpointKind::Syslog(_) => "syslog",
        }
    }
}

/// Validated SMTP settings.
#[derive(Debug, Clone)]
pub struct EmailEndpoint {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Security.
    pub tls: SmtpTls,
    /// User and password for AUTH.
    pub credentials: Option<(String, Secret)>,
    /// Sender address.
    pub from: String,
    /// EHLO name.
    pub helo_name: String,
    /// Extra CA file.
    pub ca_file: Option<String>,
}

/// A parsed `http://` or `https://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// TLS or not.
    pub https: bool,
    /// Host (IPv6 without brackets).
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl fmt::Debug for HttpTarget {
    // The path of Slack/Teams URLs is a bearer token: never print it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}/<redacted>",
            if self.https { "https" } else { "http" },
            self.host,
            self.port
        )
    }
}

impl HttpTarget {
    /// Parse a URL; only `http` and `https` with a host are accepted.
    pub fn parse(url: &str) -> Result<HttpTarget, String> {
        let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err("scheme must be http:// or https://".into());
        };
        if url.chars().any(|c| c.is_control() || c == ' ') {
            return Err("contains spaces or control characters".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err("user info in URLs is not supported".into());
        }
        let default_port = if https { 443 } else { 80 };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let end = v6.find(']').ok_or("unclosed [ in host")?;
            let host = &v6[..end];
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?,
                None if after.is_empty() => default_port,
                None => return Err("garbage after ]".into()),
            };
            (host, port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port `{p}`"))?),
                None => (authority, default_port),
            }
        };
        if host.is_empty() {
            return Err("missing host".into());
        }
        let path = path.split('#').next().unwrap_or("/");
        Ok(HttpTarget {
            https,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// Validated webhook settings.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    /// Target.
    pub target: HttpTarget,
    /// `POST` or `PUT`.
    pub method: String,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body template.
    pub body_template: Option<Template>,
    /// HMAC key.
    pub secret: Option<Secret>,
    /// Signature header.
    pub signature_header: String,
    /// Timestamp header.
    pub timestamp_header: String,
    /// Extra CA file.
    pub ca_file: Option<String>,
}

/// Validated syslog settings.
#[derive(Debug, Clone)]
pub struct SyslogEndpoint {
    /// `host:port`.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport.
    pub transport: SyslogTransport,
    /// Payload format.
    pub format: SyslogFormat,
    /// Facility 0–23.
    pub facility: u8,
    /// HOSTNAME.
    pub hostname: String,
    /// APP-NAME.
    pub app_name: String,
    /// TLS server name.
    pub server_name: String,
    /// Extra CA file.
    pub ca_file: Option<String>,
}

/// A validated recipient.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// Id.
    pub id: String,
    /// Index into [`Config::endpoints`].
    pub endpoint: usize,
    /// Mail addresses.
    pub to: Vec<String>,
    /// Language.
    pub language: Language,
    /// Filters.
    pub filter: crate::filter::Filter,
    /// Digest window in milliseconds when in digest mode.
    pub digest_ms: Option<u64>,
    /// Messages per minute at most.
    pub rate_limit_per_minute: Option<u32>,
    /// Subject template.
    pub subject_template: Option<Template>,
    /// Body template.
    pub body_template: Option<Template>,
}

fn valid_header_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn valid_mail_address(s: &str) -> bool {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && s.len() <= 254
        && !s
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"".contains(c))
}

impl NotifyConfig {
    /// Parse from JSON text (the binary may equally deserialize from TOML).
    pub fn from_json(text: &str) -> Result<NotifyConfig, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Resolve secrets, check references and templates, and build the typed config.
    pub fn validate_and_build(&self) -> Result<Config, ConfigError> {
        if self.version != CONFIG_VERSION {
            return Err(ConfigError::Version(self.version));
        }
        let d = self.delivery;
        let inv = |location: &str, field: &'static str, value: String, reason: &str| {
            ConfigError::Invalid {
                location: location.to_owned(),
                field,
                value,
                reason: reason.to_owned(),
            }
        };
        if d.max_attempts == 0 || d.max_attempts > MAX_ATTEMPTS_LIMIT {
            return Err(inv(
                "delivery",
                "max_attempts",
                d.max_attempts.to_string(),
                "must be 1..=100",
            ));
        }
        if d.backoff_initial_ms == 0 || d.backoff_max_ms < d.backoff_initial_ms {
            return Err(inv(
                "delivery",
                "backoff_initial_ms",
                d.backoff_initial_ms.to_string(),
                "must be > 0 and <= backoff_max_ms",
            ));
        }
        if d.timeout_ms == 0 {
            return Err(inv("delivery", "timeout_ms", "0".into(), "must be > 0"));
        }
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for e in &self.endpoints {
            let id = e.id().to_owned();
            if endpoints.iter().any(|x: &Endpoint| x.id == id) {
                return Err(ConfigError::Duplicate {
                    what: "endpoint",
                    id,
                });
            }
            let loc = format!("endpoint `{id}`");
            let target = |spec: &SecretSpec| -> Result<HttpTarget, ConfigError> {
                let url = spec.resolve(&loc)?;
                HttpTarget::parse(url.expose()).map_err(|r| inv(&loc, "url", "<hidden>".into(), &r))
            };
            let kind = match e {
                EndpointConfig::Email(c) => {
                    if !valid_mail_address(&c.from) {
                        return Err(inv(&loc, "from", c.from.clone(), "not a mail address"));
                    }
                    if c.host.is_empty() || c.host.chars().any(|ch| ch.is_whitespace()) {
                        return Err(inv(&loc, "host", c.host.clone(), "empty or has spaces"));
                    }
                    let credentials = match (&c.username, &c.password) {
                        (Some(u), Some(p)) => Some((u.clone(), p.resolve(&loc)?)),
                        (None, None) => None,
                        _ => {
                            return Err(inv(
                                &loc,
                                "username",
                                c.username.clone().unwrap_or_default(),
                                "username and password go together",
                            ))
                        }
                    };
                    if credentials.is_some() && c.tls == SmtpTls::None && !c.allow_plaintext_auth {
                        return Err(inv(
                            &loc,
                            "tls",
                            "none".into(),
                            "AUTH over plain text needs allow_plaintext_auth = true",
                        ));
                    }
                    let helo = c.helo_name.clone().unwrap_or_else(|| "mamori".into());
                    if helo.is_empty() || helo.chars().any(|ch| ch.is_control() || ch == ' ') {
                        return Err(inv(&loc, "helo_name", helo, "empty or has spaces"));
                    }
                    EndpointKind::Email(EmailEndpoint {
                        host: c.host.clone(),
                        port: c.port,
                        tls: c.tls,
                        credentials,
                        from: c.from.clone(),
                        helo_name: helo,
                        ca_file: c.ca_file.clone(),
                    })
                }
                EndpointConfig::Slack(c) => EndpointKind::Slack(target(&c.url)?),
                EndpointConfig::Teams(c) => EndpointKind::Teams(target(&c.url)?),
                EndpointConfig::Webhook(c) => {
                    let method = c.method.clone().unwrap_or_else(|| "POST".into());
                    let method = method.to_ascii_uppercase();
                    if method != "POST" && method != "PUT" {
                        return Err(inv(&loc, "method", method, "must be POST or PUT"));
                    }
                    let mut headers = Vec::new();
                    for (k, v) in &c.headers {
                        if !valid_header_token(k) {
                            return Err(inv(&loc, "headers", k.clone(), "not a header name"));
                        }
                        if v.chars().any(|ch| ch == '\r' || ch == '\n' || ch == '\0') {
                            return Err(inv(&loc, "headers", k.clone(), "value has CR/LF"));
                        }
                        headers.push((k.clone(), v.clone()));
                    }
                    let body_template = match &c.body_template {
                        Some(t) => {
                            let t = Template::parse(t)
                                .map_err(|r| inv(&loc, "body_template", t.clone(), &r))?;
                            t.check_json()
                                .map_err(|r| inv(&loc, "body_template", t.source(), &r))?;
                            Some(t)
                        }
                        None => None,
                    };
                    let sig = c
                        .signature_header
                        .clone()
                        .unwrap_or_else(|| DEFAULT_SIGNATURE_HEADER.into());
                    let ts = c
                        .timestamp_header
                        .clone()
                        .unwrap_or_else(|| DEFAULT_TIMESTAMP_HEADER.into());
                    for h in [&sig, &ts] {
                        if !valid_header_token(h) {
                            return Err(inv(&loc, "signature_header", h.clone(), "bad name"));
                        }
                    }
                    EndpointKind::Webhook(WebhookEndpoint {
                        target: target(&c.url)?,
                        method,
                        headers,
                        body_template,
                        secret: match &c.secret {
                            Some(s) => Some(s.resolve(&loc)?),
                            None => None,
                        },
                        signature_header: sig,
                        timestamp_header: ts,
                        ca_file: c.ca_file.clone(),
                    })
                }
                EndpointConfig::Syslog(c) => {
                    let (host, port) = split_host_port(&c.address)
                        .ok_or_else(|| inv(&loc, "address", c.address.clone(), "need host:port"))?;
                    let facility = c.facility.unwrap_or(16);
                    if facility > 23 {
                        return Err(inv(
                            &loc,
                            "facility",
                            facility.to_string(),
                            "must be 0..=23",
                        ));
                    }
                    let field = |name: &'static str, v: Option<&String>, dflt: &str, max: usize| {
                        let v = v.cloned().unwrap_or_else(|| dflt.to_owned());
                        if v.is_empty()
                            || v.len() > max
                            || !v.bytes().all(|b| (33..=126).contains(&b))
                        {
                            Err(inv(&loc, name, v, "must be 1..max printable ASCII"))
                        } else {
                            Ok(v)
                        }
                    };
                    EndpointKind::Syslog(SyslogEndpoint {
                        server_name: c.server_name.clone().unwrap_or_else(|| host.clone()),
                        host,
                        port,
                        transport: c.transport,
                        format: c.format,
                        facility,
                        hostname: field("hostname", c.hostname.as_ref(), "-", 255)?,
                        app_name: field("app_name", c.app_name.as_ref(), "mamori", 48)?,
                        ca_file: c.ca_file.clone(),
                    })
                }
            };
            endpoints.push(Endpoint { id, kind });
        }
        let mut recipients: Vec<Recipient> = Vec::with_capacity(self.recipients.len());
        for r in &self.recipients {
            if recipients.iter().any(|x| x.id == r.id) {
                return Err(ConfigError::Duplicate {
                    what: "recipient",
                    id: r.id.clone(),
                });
            }
            let loc = format!("recipient `{}`", r.id);
            let endpoint = endpoints
                .iter()
                .position(|e| e.id == r.endpoint)
                .ok_or_else(|| ConfigError::UnknownEndpoint {
                    recipient: r.id.clone(),
                    endpoint: r.endpoint.clone(),
                })?;
            let is_email = matches!(
                endpoints.get(endpoint).map(|e| &e.kind),
                Some(EndpointKind::Email(_))
            );
            if is_email && r.to.is_empty() {
                return Err(inv(&loc, "to", String::new(), "email recipients need `to`"));
            }
            if !is_email && !r.to.is_empty() {
                return Err(inv(&loc, "to", r.to.join(","), "only for email endpoints"));
            }
            for a in &r.to {
                if !valid_mail_address(a) {
                    return Err(inv(&loc, "to", a.clone(), "not a mail address"));
                }
            }
            let digest_ms = match (r.mode, r.digest_minutes) {
                (Mode::Digest, Some(m)) if (1..=MAX_DIGEST_MINUTES).contains(&m) => {
                    Some(u64::from(m) * 60_000)
                }
                (Mode::Digest, m) => {
                    return Err(inv(
                        &loc,
                        "digest_minutes",
                        format!("{m:?}"),
                        "digest mode needs digest_minutes 1..=10080",
                    ))
                }
                (Mode::Immediate, Some(m)) => {
                    return Err(inv(
                        &loc,
                        "digest_minutes",
                        m.to_string(),
                        "only with mode = \"digest\"",
                    ))
                }
                (Mode::Immediate, None) => None,
            };
            if r.rate_limit_per_minute == Some(0) {
                return Err(inv(
                    &loc,
                    "rate_limit_per_minute",
                    "0".into(),
                    "must be > 0",
                ));
            }
            let tpl = |t: &Option<String>, field: &'static str| match t {
                Some(s) => Template::parse(s)
                    .map(Some)
                    .map_err(|reason| inv(&loc, field, s.clone(), &reason)),
                None => Ok(None),
            };
            let filter = crate::filter::Filter::new(
                r.min_severity,
                &r.rules,
                &r.tactics,
                r.host_groups.clone(),
                r.states.clone(),
            )
            .map_err(|(field, value, reason)| inv(&loc, field, value, &reason))?;
            recipients.push(Recipient {
                id: r.id.clone(),
                endpoint,
                to: r.to.clone(),
                language: r.language,
                filter,
                digest_ms,
                rate_limit_per_minute: r.rate_limit_per_minute,
                subject_template: tpl(&r.subject_template, "subject_template")?,
                body_template: tpl(&r.body_template, "body_template")?,
            });
        }
        Ok(Config {
            delivery: d,
            endpoints,
            recipients,
        })
    }
}

/// Split `host:port` / `[v6]:port`.
pub(crate) fn split_host_port(s: &str) -> Option<(String, u16)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, p) = rest.split_once("]:")?;
        return Some((h.to_owned(), p.parse().ok()?));
    }
    let (h, p) = s.rsplit_once(':')?;
    if h.is_empty() || h.contains(':') {
        return None;
    }
    Some((h.to_owned(), p.parse().ok()?))
}
