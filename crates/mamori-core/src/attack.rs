//! The MITRE ATT&CK techniques mamori's detections refer to (Enterprise matrix), with their
//! tactics, so alerts carry `threat.technique.name` and `threat.tactic.name` without a
//! network lookup. Unknown ids are still accepted on alerts; they just get no names.

/// One technique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Technique {
    /// `T1046` or `T1071.004`.
    pub id: &'static str,
    /// English name.
    pub name: &'static str,
    /// Tactic names.
    pub tactics: &'static [&'static str],
}

const DISC: &[&str] = &["Discovery"];
const RECON: &[&str] = &["Reconnaissance"];
const C2: &[&str] = &["Command and Control"];
const EXFIL: &[&str] = &["Exfiltration"];
const CRED: &[&str] = &["Credential Access"];
const LAT: &[&str] = &["Lateral Movement"];
const IMPACT: &[&str] = &["Impact"];
const INIT: &[&str] = &["Initial Access"];
const EXEC: &[&str] = &["Execution"];
const PERSIST_PRIV: &[&str] = &["Persistence", "Privilege Escalation"];
const DEF: &[&str] = &["Defense Evasion"];
const IA_PERSIST: &[&str] = &[
    "Initial Access",
    "Persistence",
    "Privilege Escalation",
    "Defense Evasion",
];

/// The catalogue.
pub const TECHNIQUES: &[Technique] = &[
    Technique {
        id: "T1046",
        name: "Network Service Discovery",
        tactics: DISC,
    },
    Technique {
        id: "T1018",
        name: "Remote System Discovery",
        tactics: DISC,
    },
    Technique {
        id: "T1595",
        name: "Active Scanning",
        tactics: RECON,
    },
    Technique {
        id: "T1595.001",
        name: "Scanning IP Blocks",
        tactics: RECON,
    },
    Technique {
        id: "T1595.002",
        name: "Vulnerability Scanning",
        tactics: RECON,
    },
    Technique {
        id: "T1071",
        name: "Application Layer Protocol",
        tactics: C2,
    },
    Technique {
        id: "T1071.001",
        name: "Web Protocols",
        tactics: C2,
    },
    Technique {
        id: "T1071.004",
        name: "DNS",
        tactics: C2,
    },
    Technique {
        id: "T1095",
        name: "Non-Application Layer Protocol",
        tactics: C2,
    },
    Technique {
        id: "T1090.003",
        name: "Multi-hop Proxy",
        tactics: C2,
    },
    Technique {
        id: "T1568.002",
        name: "Domain Generation Algorithms",
        tactics: C2,
    },
    Technique {
        id: "T1571",
        name: "Non-Standard Port",
        tactics: C2,
    },
    Technique {
        id: "T1572",
        name: "Protocol Tunneling",
        tactics: C2,
    },
    Technique {
        id: "T1573",
        name: "Encrypted Channel",
        tactics: C2,
    },
    Technique {
        id: "T1219",
        name: "Remote Access Software",
        tactics: C2,
    },
    Technique {
        id: "T1105",
        name: "Ingress Tool Transfer",
        tactics: C2,
    },
    Technique {
        id: "T1048",
        name: "Exfiltration Over Alternative Protocol",
        tactics: EXFIL,
    },
    Technique {
        id: "T1041",
        name: "Exfiltration Over C2 Channel",
        tactics: EXFIL,
    },
    Technique {
        id: "T1110",
        name: "Brute Force",
        tactics: CRED,
    },
    Technique {
        id: "T1110.001",
        name: "Password Guessing",
        tactics: CRED,
    },
    Technique {
        id: "T1110.003",
        name: "Password Spraying",
        tactics: CRED,
    },
    Technique {
        id: "T1040",
        name: "Network Sniffing",
        tactics: &["Credential Access", "Discovery"],
    },
    Technique {
        id: "T1557",
        name: "Adversary-in-the-Middle",
        tactics: &["Credential Access", "Collection"],
    },
    Technique {
        id: "T1552.001",
        name: "Credentials In Files",
        tactics: CRED,
    },
    Technique {
        id: "T1558",
        name: "Steal or Forge Kerberos Tickets",
        tactics: CRED,
    },
    Technique {
        id: "T1021",
        name: "Remote Services",
        tactics: LAT,
    },
    Technique {
        id: "T1021.001",
        name: "Remote Desktop Protocol",
        tactics: LAT,
    },
    Technique {
        id: "T1021.002",
        name: "SMB/Windows Admin Shares",
        tactics: LAT,
    },
    Technique {
        id: "T1021.004",
        name: "SSH",
        tactics: LAT,
    },
    Technique {
        id: "T1021.006",
        name: "Windows Remote Management",
        tactics: LAT,
    },
    Technique {
        id: "T1210",
        name: "Exploitation of Remote Services",
        tactics: LAT,
    },
    Technique {
        id: "T1498",
        name: "Network Denial of Service",
        tactics: IMPACT,
    },
    Technique {
        id: "T1499",
        name: "Endpoint Denial of Service",
        tactics: IMPACT,
    },
    Technique {
        id: "T1486",
        name: "Data Encrypted for Impact",
        tactics: IMPACT,
    },
    Technique {
        id: "T1190",
        name: "Exploit Public-Facing Application",
        tactics: INIT,
    },
    Technique {
        id: "T1133",
        name: "External Remote Services",
        tactics: &["Initial Access", "Persistence"],
    },
    Technique {
        id: "T1078",
        name: "Valid Accounts",
        tactics: IA_PERSIST,
    },
    Technique {
        id: "T1059",
        name: "Command and Scripting Interpreter",
        tactics: EXEC,
    },
    Technique {
        id: "T1136",
        name: "Create Account",
        tactics: &["Persistence"],
    },
    Technique {
        id: "T1098",
        name: "Account Manipulation",
        tactics: PERSIST_PRIV,
    },
    Technique {
        id: "T1543.003",
        name: "Windows Service",
        tactics: PERSIST_PRIV,
    },
    Technique {
        id: "T1548.003",
        name: "Sudo and Sudo Caching",
        tactics: &["Privilege Escalation", "Defense Evasion"],
    },
    Technique {
        id: "T1070.001",
        name: "Clear Windows Event Logs",
        tactics: DEF,
    },
    Technique {
        id: "T1562",
        name: "Impair Defenses",
        tactics: DEF,
    },
    Technique {
        id: "T1565",
        name: "Data Manipulation",
        tactics: IMPACT,
    },
    Technique {
        id: "T1030",
        name: "Data Transfer Size Limits",
        tactics: EXFIL,
    },
    Technique {
        id: "T1189",
        name: "Drive-by Compromise",
        tactics: INIT,
    },
    Technique {
        id: "T1566",
        name: "Phishing",
        tactics: INIT,
    },
    Technique {
        id: "T1204",
        name: "User Execution",
        tactics: EXEC,
    },
];

/// Look a technique up by id.
pub fn technique(id: &str) -> Option<&'static Technique> {
    TECHNIQUES.iter().find(|t| t.id.eq_ignore_ascii_case(id))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lookup() {
        assert_eq!(super::technique("t1046").unwrap().tactics, &["Discovery"]);
        assert!(super::technique("T9999").is_none());
    }
}
