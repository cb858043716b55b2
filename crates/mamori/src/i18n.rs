//! Terminal text in Japanese and English. Japanese is chosen by `--lang ja`, or when
//! `MAMORI_LANG`, `LC_ALL`, `LC_MESSAGES` or `LANG` starts with `ja`.

/// Output language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// English.
    En,
    /// 日本語.
    Ja,
}

impl Lang {
    /// From the environment (`MAMORI_LANG`, then the POSIX locale variables).
    pub fn from_env() -> Lang {
        for var in ["MAMORI_LANG", "LC_ALL", "LC_MESSAGES", "LANG"] {
            if let Ok(v) = std::env::var(var) {
                if v.is_empty() {
                    continue;
                }
                return if v.to_ascii_lowercase().starts_with("ja") {
                    Lang::Ja
                } else {
                    Lang::En
                };
            }
        }
        Lang::En
    }

    pub fn msgs(self) -> &'static Msgs {
        match self {
            Lang::En => &EN,
            Lang::Ja => &JA,
        }
    }
}

/// Every phrase of the terminal summary.
pub struct Msgs {
    /// Japanese: prefer `*_ja` fields of alerts.
    pub ja: bool,
    pub inputs: &'static str,
    pub file: &'static str,
    pub format: &'static str,
    pub read: &'static str,
    pub size: &'static str,
    pub status: &'static str,
    pub ok: &'static str,
    pub packets: &'static str,
    pub events_in: &'static str,
    pub per_sec_packets: &'static str,
    pub flows_title: &'static str,
    pub protocol: &'static str,
    pub flows: &'static str,
    pub bytes: &'static str,
    pub pct_bytes: &'static str,
    pub top_talkers: &'static str,
    pub address: &'static str,
    pub top_conversations: &'static str,
    pub client_server: &'static str,
    pub top_dns: &'static str,
    pub top_tls: &'static str,
    pub top_http: &'static str,
    pub name: &'static str,
    pub count: &'static str,
    pub by_dataset: &'static str,
    pub dataset: &'static str,
    pub records: &'static str,
    pub alerts: &'static str,
    pub severity: &'static str,
    pub rule: &'static str,
    pub example: &'static str,
    pub hits: &'static str,
    pub detection_notes: &'static str,
    pub not_used: &'static str,
    pub nothing_unused: &'static str,
    pub reason: &'static str,
    pub first_example: &'static str,
}

static EN: Msgs = Msgs {
    ja: false,
    inputs: "Inputs",
    file: "file",
    format: "format",
    read: "read",
    size: "size",
    status: "status",
    ok: "ok",
    packets: "packets",
    events_in: "events in",
    per_sec_packets: "packets/s",
    flows_title: "Flows",
    protocol: "protocol",
    flows: "flows",
    bytes: "bytes",
    pct_bytes: "% bytes",
    top_talkers: "Top talkers (by bytes)",
    address: "address",
    top_conversations: "Top conversations (by bytes)",
    client_server: "client → server",
    top_dns: "Top DNS queries",
    top_tls: "Top TLS server names",
    top_http: "Top HTTP hosts",
    name: "name",
    count: "count",
    by_dataset: "Records by dataset",
    dataset: "dataset",
    records: "records",
    alerts: "Alerts",
    severity: "severity",
    rule: "rule",
    example: "example",
    hits: "hits",
    detection_notes: "Detection notes (events used, but a detector could not count all of them)",
    not_used: "Not used (per reason)",
    nothing_unused: "nothing: every input unit was read and decoded",
    reason: "reason",
    first_example: "first example",
};

static JA: Msgs = Msgs {
    ja: true,
    inputs: "入力",
    file: "ファイル",
    format: "形式",
    read: "読込",
    size: "サイズ",
    status: "状態",
    ok: "正常",
    packets: "パケット",
    events_in: "件のイベント、処理時間",
    per_sec_packets: "パケット/秒",
    flows_title: "フロー",
    protocol: "プロトコル",
    flows: "フロー数",
    bytes: "バイト",
    pct_bytes: "バイト比率%",
    top_talkers: "通信量上位ホスト（バイト順）",
    address: "アドレス",
    top_conversations: "通信量上位の通信ペア（バイト順）",
    client_server: "クライアント → サーバ",
    top_dns: "DNS 問い合わせ上位",
    top_tls: "TLS サーバ名上位",
    top_http: "HTTP ホスト上位",
    name: "名前",
    count: "件数",
    by_dataset: "データセット別レコード数",
    dataset: "データセット",
    records: "レコード",
    alerts: "アラート",
    severity: "重大度",
    rule: "ルール",
    example: "例",
    hits: "検知回数",
    detection_notes: "検知の注記（イベントは利用済み、ただし一部を検知器が計数できなかった）",
    not_used: "利用できなかった入力（理由別）",
    nothing_unused: "なし：すべての入力を読み込み、解析しました",
    reason: "理由",
    first_example: "最初の例",
};
