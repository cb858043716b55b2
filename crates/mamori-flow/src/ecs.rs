//! ECS categorisation of protocol records: `event.category` and `event.type`.
//!
//! One table, by `event.dataset`, applied when a dissector's [`mamori_proto::app::Record`]
//! becomes an [`mamori_core::Event`]. A dissector that knows better sets the fields itself;
//! they are then left alone (the same holds for `event.outcome`, which only dissectors set).
//!
//! | dataset | `event.category` | `event.type` |
//! |---|---|---|
//! | `http` | `network`, `web` | `access` (a request was seen), else `protocol` |
//! | `dhcp`, `dhcpv6` | `network` | `protocol`, `info` |
//! | every other protocol | `network` | `protocol` |
//!
//! Records that carry a login attempt add `authentication` to the categories and `start` to
//! the types: every `kerberos` record, an `ldap` bind, an SMB session setup (NTLM or SMB1
//! basic), FTP/SMTP/IMAP/POP3 records that name a user or an authentication mechanism, a
//! Telnet login (user name seen), an
//! HTTP request with Basic credentials, and an RDP connection request with a user cookie.
//!
//! ```
//! use mamori_core::{Event, Timestamp, Value};
//!
//! let mut ev = Event::new(Timestamp::EPOCH, "ldap");
//! ev.set("mamori.ldap.operation", "bind").set("event.outcome", "failure");
//! mamori_flow::ecs::categorise(&mut ev);
//! assert_eq!(
//!     ev.get("event.category").unwrap().into_owned(),
//!     Value::from(vec!["network", "authentication"])
//! );
//! assert_eq!(
//!     ev.get("event.type").unwrap().into_owned(),
//!     Value::from(vec!["protocol", "start"])
//! );
//! assert_eq!(ev.get_str("event.outcome"), Some("failure"));
//! ```

use mamori_core::{Event, Value};

/// `event.category` and `event.type` for a record of `dataset` with the fields of `ev`.
pub fn categories(ev: &Event) -> (Vec<&'static str>, Vec<&'static str>) {
    let dataset: &str = &ev.dataset;
    let (mut cat, mut ty) = match dataset {
        "http" => {
            let ty = if ev.fields.contains_key("http.request.method") {
                "access"
            } else {
                "protocol"
            };
            (vec!["network", "web"], vec![ty])
        }
        "dhcp" | "dhcpv6" => (vec!["network"], vec!["protocol", "info"]),
        _ => (vec!["network"], vec!["protocol"]),
    };
    if is_authentication(ev) {
        cat.push("authentication");
        ty.push("start");
    }
    (cat, ty)
}

/// Whether the record carries a login attempt.
fn is_authentication(ev: &Event) -> bool {
    let has = |k: &str| ev.fields.contains_key(k);
    match &*ev.dataset {
        "kerberos" => true,
        "ldap" => ev.get_str("mamori.ldap.operation") == Some("bind"),
        "smb" => has("mamori.smb.auth"),
        "ftp" | "telnet" => has("user.name"),
        "smtp" | "imap" | "pop3" => has("user.name") || has("mamori.mail.auth_mechanism"),
        "http" => has("user.name"),
        "rdp" => has("mamori.rdp.cookie") || has("user.name"),
        _ => false,
    }
}

/// Set `event.category` and `event.type` from [`categories`] unless the record has them.
pub fn categorise(ev: &mut Event) {
    let has_cat = ev.fields.contains_key("event.category");
    let has_type = ev.fields.contains_key("event.type");
    if has_cat && has_type {
        return;
    }
    let (cat, ty) = categories(ev);
    let list = |v: Vec<&'static str>| Value::List(v.into_iter().map(Value::from).collect());
    if !has_cat {
        ev.set("event.category", list(cat));
    }
    if !has_type {
        ev.set("event.type", list(ty));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mamori_core::Timestamp;

    fn cats(ev: &Event) -> (Vec<String>, Vec<String>) {
        let l = |k: &str| -> Vec<String> {
            ev.get(k)
                .map(|v| {
                    v.items()
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        (l("event.category"), l("event.type"))
    }

    #[test]
    fn table_by_dataset() {
        let mut dns = Event::new(Timestamp::EPOCH, "dns");
        categorise(&mut dns);
        assert_eq!(
            cats(&dns),
            (vec!["network".into()], vec!["protocol".into()])
        );

        let mut req = Event::new(Timestamp::EPOCH, "http");
        req.set("http.request.method", "GET");
        categorise(&mut req);
        assert_eq!(
            cats(&req),
            (vec!["network".into(), "web".into()], vec!["access".into()])
        );
        let mut resp_only = Event::new(Timestamp::EPOCH, "http");
        resp_only.set("http.response.status_code", 200);
        categorise(&mut resp_only);
        assert_eq!(cats(&resp_only).1, vec!["protocol".to_owned()]);

        let mut dhcp = Event::new(Timestamp::EPOCH, "dhcp");
        categorise(&mut dhcp);
        assert_eq!(cats(&dhcp).1, vec!["protocol".to_owned(), "info".into()]);
    }

    #[test]
    fn logins_are_authentication() {
        for (ds, k, v) in [
            ("kerberos", "mamori.kerberos.msg_type", "AS-REQ"),
            ("ldap", "mamori.ldap.operation", "bind"),
            ("smb", "mamori.smb.auth", "ntlm"),
            ("ftp", "user.name", "anonymous"),
            ("telnet", "user.name", "admin"),
            ("smtp", "mamori.mail.auth_mechanism", "PLAIN"),
            ("rdp", "mamori.rdp.cookie", "admin"),
        ] {
            let mut ev = Event::new(Timestamp::EPOCH, ds);
            ev.set(k, v);
            categorise(&mut ev);
            let (c, t) = cats(&ev);
            assert!(c.contains(&"authentication".to_owned()), "{ds}: {c:?}");
            assert!(t.contains(&"start".to_owned()), "{ds}: {t:?}");
        }
        let mut search = Event::new(Timestamp::EPOCH, "ldap");
        search.set("mamori.ldap.operation", "search");
        categorise(&mut search);
        assert!(!cats(&search).0.contains(&"authentication".to_owned()));
        let mut ssh = Event::new(Timestamp::EPOCH, "ssh");
        categorise(&mut ssh);
        assert_eq!(cats(&ssh).0, vec!["network".to_owned()]);
    }

    #[test]
    fn dissector_values_are_not_overwritten() {
        let mut ev = Event::new(Timestamp::EPOCH, "dns");
        ev.set("event.category", vec!["network", "intrusion_detection"]);
        categorise(&mut ev);
        let (c, t) = cats(&ev);
        assert_eq!(c, vec!["network".to_owned(), "intrusion_detection".into()]);
        // The missing one is still filled in.
        assert_eq!(t, vec!["protocol".to_owned()]);
    }
}
