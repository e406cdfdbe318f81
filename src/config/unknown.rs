//! Unknown keys: where they are in the document (`key_span`), which keys
//! the table allows (`known_keys`), and the one a typo most likely meant
//! (`closest`).

/// One step of a path into the TOML document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Segment {
    Key(String),
    Index(usize),
}

pub(super) fn segments(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut out = match path {
        serde_ignored::Path::Root => return Vec::new(),
        serde_ignored::Path::Seq { parent, .. }
        | serde_ignored::Path::Map { parent, .. }
        | serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => segments(parent),
    };
    match path {
        serde_ignored::Path::Seq { index, .. } => out.push(Segment::Index(*index)),
        // `toml::Spanned` (a `[[source]]` read with its span) reads its
        // value under a key of its own: not a key of the file.
        serde_ignored::Path::Map { key, .. } if key == "$__serde_spanned_private_value" => {}
        serde_ignored::Path::Map { key, .. } => out.push(Segment::Key(key.clone())),
        _ => {}
    }
    out
}

/// The span of the key at `path`, and the path as `source[1].colour`.
pub(super) fn key_span(
    root: &toml::de::DeTable<'_>,
    path: &[Segment],
) -> (std::ops::Range<usize>, String) {
    let mut shown = String::new();
    let mut span = 0..0;
    let mut table = Some(root);
    let mut value: Option<&toml::de::DeValue<'_>> = None;
    for seg in path {
        match seg {
            Segment::Key(k) => {
                if !shown.is_empty() {
                    shown.push('.');
                }
                shown.push_str(k);
                let entry = table.and_then(|t| {
                    t.iter()
                        .find(|(key, _)| key.get_ref().as_ref() == k.as_str())
                });
                if let Some((key, v)) = entry {
                    span = key.span();
                    value = Some(v.get_ref());
                } else {
                    value = None;
                }
            }
            Segment::Index(i) => {
                shown.push_str(&format!("[{i}]"));
                value = match value {
                    Some(toml::de::DeValue::Array(items)) => items.get(*i).map(|v| {
                        span = v.span();
                        v.get_ref()
                    }),
                    _ => None,
                };
            }
        }
        table = match value {
            Some(toml::de::DeValue::Table(t)) => Some(t),
            _ => None,
        };
    }
    (span, shown)
}

const TOP_KEYS: &[&str] = &[
    "storage",
    "fetch",
    "schedule",
    "server",
    "normalize",
    "log",
    "dedupe",
    "display",
    "source",
    "topic",
];
const FETCH_KEYS: &[&str] = &[
    "concurrency",
    "per_host",
    "timeout_secs",
    "max_body_bytes",
    "max_bytes_in_flight",
    "user_agent",
    "allow_private_addresses",
    "allow_file_urls",
    "host_interval_ms",
    "max_backoff_secs",
    "full_text",
    "max_pages_per_poll",
];
pub(super) const SOURCE_KEYS: &[&str] = &[
    "id",
    "name",
    "url",
    "tags",
    "enabled",
    "schedule",
    "encoding",
    "allow_private_addresses",
    "timezone",
    "full_text",
    "full_text_selector",
    "trust",
    "link_hosts",
];
pub(super) const TOPIC_KEYS: &[&str] = &["slug", "title", "query", "tags", "language", "script"];

/// The keys allowed in the table at `parent`.
pub(super) fn known_keys(parent: &[Segment]) -> &'static [&'static str] {
    let first = match parent.first() {
        Some(Segment::Key(k)) => k.as_str(),
        _ => return TOP_KEYS,
    };
    match first {
        "storage" => &[
            "path",
            "url",
            "lease_secs",
            "placement",
            "compression",
            "retention_days",
        ],
        "fetch" => FETCH_KEYS,
        "schedule" => &["default"],
        "server" => &[
            "listen",
            "base_url",
            "output_dir",
            "items_per_feed",
            "max_connections",
            "header_timeout_secs",
            "idle_timeout_secs",
            "max_connections_per_client",
            "max_requests_per_connection",
            "connection_lifetime_secs",
            "language",
            "timezone",
        ],
        "normalize" => &["strip_lines", "strip_title", "footer_headings"],
        "log" => &["level"],
        "display" => &["timezone"],
        "dedupe" => &[
            "enabled",
            "jaccard",
            "containment",
            "min_chars",
            "max_days_apart",
        ],
        "source" => SOURCE_KEYS,
        "topic" => TOPIC_KEYS,
        _ => &[],
    }
}

/// The known key a typo most likely meant.
pub(super) fn closest<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(typo, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}
