//! Compliance controls an alert or record can evidence: sections of the
//! 防衛産業サイバーセキュリティ基準 (`JP-DISCS-5` … `JP-DISCS-11`) and the NIST SP 800-171 r2
//! requirements they are modelled on (`NIST-800-171-3.14.6`). Numbering of the JP annex is
//! not verified; NIST ids are the anchor (see the design notes).

/// One control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Control {
    /// Stable id.
    pub id: &'static str,
    /// English title.
    pub title: &'static str,
    /// Japanese title.
    pub title_ja: &'static str,
}

/// The catalogue.
pub const CONTROLS: &[Control] = &[
    Control {
        id: "JP-DISCS-5",
        title: "Access control",
        title_ja: "第5 アクセス制御",
    },
    Control {
        id: "JP-DISCS-6",
        title: "Identification and authentication",
        title_ja: "第6 識別及び認証",
    },
    Control {
        id: "JP-DISCS-8",
        title: "System monitoring",
        title_ja: "第8 システム監視",
    },
    Control {
        id: "JP-DISCS-9",
        title: "System logs",
        title_ja: "第9 システムログ",
    },
    Control {
        id: "JP-DISCS-10",
        title: "Vulnerability scanning",
        title_ja: "第10 脆弱性スキャン等",
    },
    Control {
        id: "JP-DISCS-11",
        title: "Backup",
        title_ja: "第11 バックアップ",
    },
    Control {
        id: "NIST-800-171-3.1.8",
        title: "Limit unsuccessful logon attempts",
        title_ja: "ログオン失敗回数の制限",
    },
    Control {
        id: "NIST-800-171-3.1.12",
        title: "Monitor and control remote access sessions",
        title_ja: "リモートアクセスの監視・制御",
    },
    Control {
        id: "NIST-800-171-3.3.1",
        title: "Create and retain system audit logs",
        title_ja: "監査ログの取得・保存",
    },
    Control {
        id: "NIST-800-171-3.3.4",
        title: "Alert on audit logging process failure",
        title_ja: "ログ取得障害の通知",
    },
    Control {
        id: "NIST-800-171-3.3.5",
        title: "Correlate audit record review and analysis",
        title_ja: "ログの相関分析",
    },
    Control {
        id: "NIST-800-171-3.3.7",
        title: "Synchronise clocks with an authoritative source",
        title_ja: "時刻同期",
    },
    Control {
        id: "NIST-800-171-3.3.8",
        title: "Protect audit information",
        title_ja: "ログの保護",
    },
    Control {
        id: "NIST-800-171-3.5.3",
        title: "Multifactor authentication",
        title_ja: "多要素認証",
    },
    Control {
        id: "NIST-800-171-3.11.2",
        title: "Scan for vulnerabilities",
        title_ja: "脆弱性スキャン",
    },
    Control {
        id: "NIST-800-171-3.11.3",
        title: "Remediate vulnerabilities",
        title_ja: "脆弱性の是正",
    },
    Control {
        id: "NIST-800-171-3.13.1",
        title: "Monitor communications at boundaries",
        title_ja: "境界での通信監視",
    },
    Control {
        id: "NIST-800-171-3.13.8",
        title: "Protect CUI in transit (cryptography)",
        title_ja: "通信の暗号化",
    },
    Control {
        id: "NIST-800-171-3.14.2",
        title: "Protection from malicious code",
        title_ja: "悪性コードからの保護",
    },
    Control {
        id: "NIST-800-171-3.14.6",
        title: "Monitor inbound and outbound traffic for attacks",
        title_ja: "内向き・外向き通信の監視",
    },
    Control {
        id: "NIST-800-171-3.14.7",
        title: "Identify unauthorised use",
        title_ja: "不正使用の特定",
    },
];

/// Look a control up by id.
pub fn control(id: &str) -> Option<&'static Control> {
    CONTROLS.iter().find(|c| c.id == id)
}

/// Controls implied by a JP section: each section's evidence also counts for the NIST
/// requirements it is built on.
pub fn implied(id: &str) -> &'static [&'static str] {
    match id {
        "JP-DISCS-8" => &["NIST-800-171-3.14.6", "NIST-800-171-3.14.7"],
        "JP-DISCS-9" => &["NIST-800-171-3.3.1"],
        "JP-DISCS-10" => &["NIST-800-171-3.11.2"],
        "JP-DISCS-5" => &["NIST-800-171-3.1.12"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_implied_control_is_in_the_catalogue() {
        for c in super::CONTROLS {
            for i in super::implied(c.id) {
                assert!(super::control(i).is_some(), "{i}");
            }
        }
    }
}
