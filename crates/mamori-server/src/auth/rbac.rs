//! Roles, API actions and the single table that maps one to the other.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user or token role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Everything, including users, configuration and notifications.
    #[serde(rename = "admin")]
    Admin,
    /// SOC work: triage alerts, cases, exclusions, rules, scans, pcap upload.
    #[serde(rename = "analyst")]
    Analyst,
    /// Read-only, including the audit log; may verify log integrity.
    #[serde(rename = "auditor")]
    Auditor,
    /// Log retention and integrity only.
    #[serde(rename = "log-admin")]
    LogAdmin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Analyst, Role::Auditor, Role::LogAdmin];

    /// Stable name (`admin`, `analyst`, `auditor`, `log-admin`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::LogAdmin => "log-admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error parsing a role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (expected admin, analyst, auditor or log-admin)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.chars().take(64).collect()))
    }
}

macro_rules! actions {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, state: $state:literal, roles: [$($role:ident),*]; )*) => {
        /// Every API action. The HTTP layer maps each endpoint to exactly one action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $( $(#[$doc])* $variant, )*
        }

        impl Action {
            /// Every action, in table order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// Stable dotted name, e.g. `alerts.ack`.
            pub const fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// True if the action changes state (and so must be audited by the caller).
            pub const fn changes_state(self) -> bool {
                match self { $(Action::$variant => $state,)* }
            }

            /// Roles allowed to perform the action: the one RBAC table.
            pub const fn allowed_roles(self) -> &'static [Role] {
                match self { $(Action::$variant => &[$(Role::$role),*],)* }
            }
        }
    };
}

actions! {
    /// Search events.
    EventsSearch = "events.search", state: false, roles: [Admin, Analyst, Auditor];
    /// Read alerts.
    AlertsRead = "alerts.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Acknowledge an alert.
    AlertsAck = "alerts.ack", state: true, roles: [Admin, Analyst];
    /// Comment on an alert.
    AlertsComment = "alerts.comment", state: true, roles: [Admin, Analyst];
    /// Assign an alert.
    AlertsAssign = "alerts.assign", state: true, roles: [Admin, Analyst];
    /// Close an alert.
    AlertsClose = "alerts.close", state: true, roles: [Admin, Analyst];
    /// Read cases.
    CasesRead = "cases.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Create or change cases.
    CasesWrite = "cases.write", state: true, roles: [Admin, Analyst];
    /// Read exclusions.
    ExclusionsRead = "exclusions.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Create or change exclusions.
    ExclusionsWrite = "exclusions.write", state: true, roles: [Admin, Analyst];
    /// Read the host inventory.
    HostsRead = "hosts.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Read flows.
    FlowsRead = "flows.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Read log sources and their status.
    SourcesRead = "sources.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Read detection rules.
    RulesRead = "rules.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Create, change or disable detection rules.
    RulesWrite = "rules.write", state: true, roles: [Admin, Analyst];
    /// Read vulnerability / compliance checks.
    ChecksRead = "checks.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Change vulnerability / compliance checks.
    ChecksWrite = "checks.write", state: true, roles: [Admin];
    /// Read notification channels.
    NotificationsRead = "notifications.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Change notification channels.
    NotificationsWrite = "notifications.write", state: true, roles: [Admin];
    /// Send a test notification.
    NotificationsTest = "notifications.test", state: true, roles: [Admin];
    /// List users and API tokens.
    UsersRead = "users.read", state: false, roles: [Admin, Auditor];
    /// Create, disable, change users; create and revoke API tokens; revoke sessions.
    UsersWrite = "users.write", state: true, roles: [Admin];
    /// Read the audit log (itself audited).
    AuditRead = "audit.read", state: false, roles: [Admin, Auditor];
    /// Read the retention policy and usage.
    RetentionRead = "retention.read", state: false, roles: [Admin, Auditor, LogAdmin];
    /// Change or apply the retention policy.
    RetentionApply = "retention.apply", state: true, roles: [Admin, LogAdmin];
    /// Verify log integrity (hash chains).
    IntegrityVerify = "integrity.verify", state: false, roles: [Admin, Auditor, LogAdmin];
    /// Upload a pcap for analysis.
    PcapUpload = "pcap.upload", state: true, roles: [Admin, Analyst];
    /// Read scan results.
    ScansRead = "scans.read", state: false, roles: [Admin, Analyst, Auditor];
    /// Start a scan.
    ScansRun = "scans.run", state: true, roles: [Admin, Analyst];
    /// Read the configuration.
    ConfigRead = "config.read", state: false, roles: [Admin, Auditor];
    /// Change the configuration.
    ConfigWrite = "config.write", state: true, roles: [Admin];
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownAction;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .copied()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.chars().take(64).collect()))
    }
}

/// Error parsing an action name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {0:?}")]
pub struct UnknownAction(pub String);

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An interactive session; `handle` is the stored (hashed) session key.
    Session {
        /// Session handle (SHA-256 of the session id; not a secret).
        handle: String,
    },
    /// An API token.
    Token {
        /// Public token id.
        id: String,
        /// Token name.
        name: String,
    },
    /// mamori itself (first start, CLI on the host).
    System,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// User name (token owner for tokens; `system` for [`PrincipalKind::System`]).
    pub user: String,
    /// Role bound at session/token creation.
    pub role: Role,
    /// How the caller authenticated.
    pub kind: PrincipalKind,
}

impl Principal {
    /// The built-in system principal (role admin), used by the CLI and first start.
    pub fn system() -> Principal {
        Principal {
            user: "system".to_string(),
            role: Role::Admin,
            kind: PrincipalKind::System,
        }
    }

    /// Name recorded as the audit actor (`alice`, `token:ci(alice)`, `system`).
    pub fn audit_name(&self) -> String {
        match &self.kind {
            PrincipalKind::Token { name, .. } => format!("token:{name}({})", self.user),
            _ => self.user.clone(),
        }
    }
}

/// Authorization refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("role {role} may not perform {action}")]
pub struct Denied {
    /// The caller's role.
    pub role: Role,
    /// The refused action.
    pub action: Action,
}

/// Whether `role` may perform `action`, by the table in [`Action::allowed_roles`].
pub fn role_allows(role: Role, action: Action) -> bool {
    action.allowed_roles().contains(&role)
}

/// Authorize `principal` for `action`.
pub fn authorize(principal: &Principal, action: Action) -> Result<(), Denied> {
    if role_allows(principal.role, action) {
        Ok(())
    } else {
        Err(Denied {
            role: principal.role,
            action,
        })
    }
}
