//! The file as written: serde structs of `toml::Spanned` values, so that
//! every problem can name its line. Keys no struct knows are collected by
//! `serde_ignored` (see `config::Config::from_str_at`), not refused here; a
//! value of the wrong type is reported and taken out before reading again
//! (`tolerant::read`), so every key is optional here, required ones too.

use serde::Deserialize;
use toml::Spanned;

#[derive(Deserialize, Default)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) storage: RawStorage,
    #[serde(default)]
    pub(super) fetch: RawFetch,
    #[serde(default)]
    pub(super) schedule: RawSchedule,
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) normalize: RawNormalize,
    #[serde(default)]
    pub(super) log: RawLog,
    #[serde(default)]
    pub(super) dedupe: RawDedupe,
    #[serde(default)]
    pub(super) display: RawDisplay,
    /// Spanned: a missing `id` or `url` names the table's line.
    #[serde(default)]
    pub(super) source: Vec<Spanned<RawSource>>,
    #[serde(default)]
    pub(super) topic: Vec<Spanned<RawTopic>>,
}

/// `[display]`: how the CLI prints times.
#[derive(Deserialize, Default)]
pub(super) struct RawDisplay {
    pub(super) timezone: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawStorage {
    pub(super) path: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) lease_secs: Option<Spanned<i64>>,
    pub(super) placement: Option<Spanned<String>>,
    pub(super) compression: Option<Spanned<String>>,
    pub(super) retention_days: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawFetch {
    pub(super) concurrency: Option<Spanned<i64>>,
    pub(super) per_host: Option<Spanned<i64>>,
    pub(super) timeout_secs: Option<Spanned<i64>>,
    pub(super) max_body_bytes: Option<Spanned<i64>>,
    pub(super) max_bytes_in_flight: Option<Spanned<i64>>,
    pub(super) user_agent: Option<Spanned<String>>,
    pub(super) allow_private_addresses: Option<bool>,
    pub(super) allow_file_urls: Option<bool>,
    pub(super) host_interval_ms: Option<Spanned<i64>>,
    pub(super) max_backoff_secs: Option<Spanned<i64>>,
    pub(super) full_text: Option<bool>,
    pub(super) max_pages_per_poll: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawSchedule {
    pub(super) default: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) base_url: Option<Spanned<String>>,
    pub(super) output_dir: Option<Spanned<String>>,
    pub(super) items_per_feed: Option<Spanned<i64>>,
    pub(super) max_connections: Option<Spanned<i64>>,
    pub(super) header_timeout_secs: Option<Spanned<i64>>,
    pub(super) idle_timeout_secs: Option<Spanned<i64>>,
    pub(super) max_connections_per_client: Option<Spanned<i64>>,
    pub(super) max_requests_per_connection: Option<Spanned<i64>>,
    pub(super) connection_lifetime_secs: Option<Spanned<i64>>,
    pub(super) language: Option<Spanned<String>>,
    pub(super) timezone: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawDedupe {
    pub(super) enabled: Option<bool>,
    pub(super) jaccard: Option<Spanned<f64>>,
    pub(super) containment: Option<Spanned<f64>>,
    pub(super) min_chars: Option<Spanned<i64>>,
    pub(super) max_days_apart: Option<Spanned<i64>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawLog {
    pub(super) level: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
pub(super) struct RawNormalize {
    #[serde(default)]
    pub(super) strip_lines: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) strip_title: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) footer_headings: Vec<String>,
}

#[derive(Deserialize)]
pub(super) struct RawSource {
    /// Required (`validate` says so when missing): optional here so that a
    /// missing or mistyped one is one problem among the others.
    pub(super) id: Option<Spanned<String>>,
    pub(super) name: Option<String>,
    pub(super) url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tags: Vec<Spanned<String>>,
    pub(super) enabled: Option<bool>,
    pub(super) schedule: Option<Spanned<String>>,
    pub(super) encoding: Option<Spanned<String>>,
    pub(super) allow_private_addresses: Option<bool>,
    pub(super) timezone: Option<Spanned<String>>,
    pub(super) full_text: Option<bool>,
    pub(super) full_text_selector: Option<Spanned<String>>,
    pub(super) trust: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) link_hosts: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
pub(super) struct RawTopic {
    /// Required, like the title and the query (see `RawSource::id`).
    pub(super) slug: Option<Spanned<String>>,
    pub(super) title: Option<Spanned<String>>,
    pub(super) query: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) tags: Vec<Spanned<String>>,
    pub(super) language: Option<Spanned<String>>,
    pub(super) script: Option<Spanned<String>>,
}
