//! Sigma log sources and field names → mamori datasets, Windows channels/EventIDs and ECS
//! field names, from data files embedded at build time (`mappings/*.yml`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The embedded mapping files, by name.
pub const MAPPING_FILES: &[(&str, &str)] = &[
    ("windows.yml", include_str!("../mappings/windows.yml")),
    ("linux.yml", include_str!("../mappings/linux.yml")),
    ("generic.yml", include_str!("../mappings/generic.yml")),
    ("zeek.yml", include_str!("../mappings/zeek.yml")),
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    channel: String,
    #[serde(default)]
    event_ids: Vec<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Part {
    #[serde(default)]
    datasets: Option<Vec<String>>,
    #[serde(default)]
    channels: Vec<String>,
    #[serde(default)]
    sources: Vec<SourceSpec>,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    loose_names: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductFile {
    product: Option<String>,
    #[serde(default)]
    datasets: Vec<String>,
    #[serde(default)]
    raw_prefix: Option<String>,
    #[serde(default)]
    raw_first: bool,
    #[serde(default)]
    fields: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    services: BTreeMap<String, Part>,
    #[serde(default)]
    categories: BTreeMap<String, Part>,
}

/// One alternative place an event of a log source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Windows channel (lowercase), if the source is one.
    pub channel: Option<String>,
    /// EventIDs within the channel (empty: any).
    pub event_ids: Vec<i64>,
}

/// What a rule's `logsource` resolves to.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Dataset patterns (`windows.*` or exact names).
    pub datasets: Vec<String>,
    /// Alternative channel/EventID sources (empty: any event of the datasets).
    pub sources: Vec<Source>,
    /// Sigma field name → ECS names to try.
    pub fields: BTreeMap<String, Vec<String>>,
    /// Prefix under which raw source fields live (`winlog.event_data.`).
    pub raw_prefix: Option<String>,
    /// Whether the raw name is tried before the mapped ECS names.
    pub raw_first: bool,
    /// Whether raw names may differ from Sigma's by spaces and case (Defender EventData).
    pub loose_names: bool,
}

impl Scope {
    /// Whether an event of `dataset` is in scope (ignoring channel/EventID).
    pub fn dataset_matches(&self, dataset: &str) -> bool {
        self.datasets
            .iter()
            .any(|p| dataset_pattern_matches(p, dataset))
    }

    /// The field names to try, in order, for a Sigma field name.
    pub fn resolve_field(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut push = |s: String| {
            if !out.contains(&s) {
                out.push(s);
            }
        };
        let mapped = self.fields.get(name);
        let raw = self.raw_prefix.as_ref().map(|p| format!("{p}{name}"));
        let system = matches!(name, "EventID" | "Channel" | "Provider_Name");
        if self.raw_first && !system {
            if let Some(r) = &raw {
                push(r.clone());
            }
        }
        if let Some(m) = mapped {
            for f in m {
                push(f.clone());
            }
        }
        if !self.raw_first || system {
            if let Some(r) = raw {
                push(r);
            }
        }
        push(name.to_owned());
        out
    }
}

/// Whether `dataset` matches a pattern (`windows.*` is a prefix, else exact).
pub fn dataset_pattern_matches(pattern: &str, dataset: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => dataset.starts_with(prefix),
        None => pattern == dataset,
    }
}

/// Why a log source is not supported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The log source as `product/category/service`.
    pub logsource: String,
}

/// The log-source tables.
#[derive(Debug, Clone)]
pub struct Mappings {
    products: Vec<ProductFile>,
    /// Embedded files that failed to parse (name, reason); empty in a correct build.
    pub broken: Vec<(String, String)>,
}

impl Default for Mappings {
    fn default() -> Mappings {
        Mappings::builtin()
    }
}

fn merge_fields(into: &mut BTreeMap<String, Vec<String>>, from: &BTreeMap<String, Vec<String>>) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

impl Mappings {
    /// The built-in tables from `mappings/*.yml`.
    pub fn builtin() -> Mappings {
        let mut products = Vec::new();
        let mut broken = Vec::new();
        for (name, text) in MAPPING_FILES {
            match yaml_serde::from_str::<ProductFile>(text) {
                Ok(p) => products.push(p),
                Err(e) => broken.push(((*name).to_owned(), e.to_string())),
            }
        }
        Mappings { products, broken }
    }

    /// Resolve a rule's `logsource` (all lowercase names as in SigmaHQ).
    pub fn resolve(
        &self,
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> Result<Scope, Unsupported> {
        let unsupported = || Unsupported {
            logsource: format!(
                "{}/{}/{}",
                product.unwrap_or("-"),
                category.unwrap_or("-"),
                service.unwrap_or("-")
            ),
        };
        let file = self
            .products
            .iter()
            .find(|p| p.product.as_deref() == product)
            .ok_or_else(unsupported)?;
        let generic = self.products.iter().find(|p| p.product.is_none());
        let mut scope = Scope {
            datasets: file.datasets.clone(),
            sources: Vec::new(),
            fields: file.fields.clone(),
            raw_prefix: file.raw_prefix.clone(),
            raw_first: file.raw_first,
            loose_names: false,
        };
        if product.is_none() && category.is_none() && service.is_none() {
            return Err(unsupported());
        }
        if let Some(s) = service {
            let part = file.services.get(s).ok_or_else(unsupported)?;
            if let Some(d) = &part.datasets {
                scope.datasets = d.clone();
            }
            scope.sources = part
                .channels
                .iter()
                .map(|c| Source {
                    channel: Some(c.to_ascii_lowercase()),
                    event_ids: Vec::new(),
                })
                .collect();
            merge_fields(&mut scope.fields, &part.fields);
            scope.loose_names = part.loose_names;
            if let Some(prefix) = &file.raw_prefix {
                scope.raw_prefix = Some(prefix.replace("{service}", s));
            }
        } else if let Some(prefix) = &scope.raw_prefix {
            if prefix.contains("{service}") {
                scope.raw_prefix = None;
            }
        }
        if let Some(c) = category {
            let part = file
                .categories
                .get(c)
                .or_else(|| generic.and_then(|g| g.categories.get(c)))
                .ok_or_else(unsupported)?;
            if let Some(d) = &part.datasets {
                if service.is_none() || scope.datasets.is_empty() {
                    scope.datasets = d.clone();
                }
            }
            let cat_sources: Vec<Source> = part
                .sources
                .iter()
                .map(|s| Source {
                    channel: Some(s.channel.to_ascii_lowercase()),
                    event_ids: s.event_ids.clone(),
                })
                .collect();
            if !cat_sources.is_empty() {
                if scope.sources.is_empty() {
                    scope.sources = cat_sources;
                } else {
                    // Service and category both given: keep the category sources on the
                    // service's channels.
                    let chans: Vec<Option<String>> =
                        scope.sources.iter().map(|s| s.channel.clone()).collect();
                    scope.sources = cat_sources
                        .into_iter()
                        .filter(|s| chans.contains(&s.channel))
                        .collect();
                    if scope.sources.is_empty() {
                        return Err(unsupported());
                    }
                }
            }
            merge_fields(&mut scope.fields, &part.fields);
        }
        if scope.datasets.is_empty() {
            return Err(unsupported());
        }
        Ok(scope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_parse() {
        let m = Mappings::builtin();
        assert!(m.broken.is_empty(), "{:?}", m.broken);
        assert_eq!(m.products.len(), MAPPING_FILES.len());
    }

    #[test]
    fn windows_process_creation_has_sysmon_and_security_sources() {
        let m = Mappings::builtin();
        let s = m
            .resolve(Some("windows"), Some("process_creation"), None)
            .unwrap();
        assert!(s.dataset_matches("windows.sysmon"));
        assert!(!s.dataset_matches("sshd"));
        assert_eq!(s.sources.len(), 2);
        assert_eq!(
            s.resolve_field("Image"),
            vec!["winlog.event_data.Image", "process.executable", "Image"]
        );
        assert_eq!(
            s.resolve_field("EventID"),
            vec![
                "event.code",
                "winlog.event_id",
                "winlog.event_data.EventID",
                "EventID"
            ]
        );
    }

    #[test]
    fn proxy_maps_to_squid_fields() {
        let m = Mappings::builtin();
        let s = m.resolve(None, Some("proxy"), None).unwrap();
        assert!(s.dataset_matches("squid"));
        assert_eq!(s.resolve_field("c-uri")[0], "url.original");
    }

    #[test]
    fn unknown_sources_are_unsupported() {
        let m = Mappings::builtin();
        assert!(m.resolve(Some("aws"), None, Some("cloudtrail")).is_err());
        assert!(m
            .resolve(Some("windows"), Some("file_access"), None)
            .is_err());
        assert!(m.resolve(Some("linux"), None, Some("auditd")).is_err());
        assert!(m.resolve(None, None, None).is_err());
        let z = m.resolve(Some("zeek"), None, Some("dns")).unwrap();
        assert!(z
            .resolve_field("qtype")
            .contains(&"zeek.dns.qtype".to_owned()));
    }
}
