//! Protocol registry (this file lists the dissectors of one group of protocol modules).

use super::ProtocolDef;

/// Protocols of this group.
pub(crate) static PROTOCOLS: &[ProtocolDef] = &[];
