//! `sources import FILE` and `sources export`: OPML in and out (the mapping
//! itself is `opml_io`'s).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::Path;

use chrono::Utc;

use super::AdminError;
use super::add::{Probe, ProbeError, host_and_port, probe};
use crate::config::Config;
use crate::edit::{ConfigEdit, NewSource};
use crate::fetch::Fetcher;
use crate::opml_io::Entry;

/// `sources import`: every feed outline not already configured, in one edit.
/// With `fetch`, each is tried first: one that fails is added disabled (the
/// reason in a comment above it, so it is not polled forever), or left out
/// with `skip_failed`.
pub async fn sources_import(
    config: &Config,
    file: &Path,
    extra_tags: &[String],
    fetch: bool,
    skip_failed: bool,
) -> Result<String, AdminError> {
    let bytes = std::fs::read(file).map_err(|source| AdminError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let outlines = crate::opml_io::read(&bytes).map_err(|source| AdminError::Opml {
        path: file.to_path_buf(),
        source,
    })?;
    let (mut fresh, mut skipped) = not_configured(config, outlines.entries, extra_tags);
    let mut failed = if fetch && !fresh.is_empty() {
        test_fetch(config, &mut fresh).await?
    } else {
        Vec::new()
    };
    let added = add_all(config, &fresh, &mut failed, skip_failed, &mut skipped)?;
    let disabled = if skip_failed { 0 } else { failed.len() };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "imported {added} source{} ({disabled} disabled) from {} into {}; {} duplicate{} skipped, {} outline{} rejected{}",
        if added == 1 { "" } else { "s" },
        file.display(),
        config.path.display(),
        skipped.len(),
        if skipped.len() == 1 { "" } else { "s" },
        outlines.rejected.len(),
        if outlines.rejected.len() == 1 {
            ""
        } else {
            "s"
        },
        match (fetch, skip_failed) {
            (false, _) => String::new(),
            (true, false) => format!(
                ", {} failed the test fetch (added disabled: `sources enable ID` once fixed)",
                failed.len()
            ),
            (true, true) => format!(", {} failed the test fetch (not added)", failed.len()),
        }
    );
    for s in &skipped {
        let _ = writeln!(out, "  skipped {s}");
    }
    for (url, why) in &outlines.rejected {
        let _ = writeln!(out, "  rejected {url}: {why}");
    }
    for f in &failed {
        match (&f.id, skip_failed) {
            (Some(id), false) => {
                let _ = writeln!(out, "  added disabled {id} ({}): {}", f.url, f.why);
            }
            _ => {
                let _ = writeln!(out, "  not added {}: {}", f.url, f.why);
            }
        }
    }
    Ok(out)
}

/// The outlines to add (with `extra_tags`), and why the others are
/// skipped: already configured, or listed twice in the file.
fn not_configured(
    config: &Config,
    entries: Vec<Entry>,
    extra_tags: &[String],
) -> (Vec<Entry>, Vec<String>) {
    let mut fresh: Vec<Entry> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for mut e in entries {
        if let Some(s) = crate::edit::source_with_url(config, &e.url) {
            skipped.push(format!("{}: already source {}", e.url, s.id.0));
            continue;
        }
        let key = crate::edit::url_key(&e.url);
        if fresh.iter().any(|f| crate::edit::url_key(&f.url) == key) {
            skipped.push(format!("{}: listed twice in the file", e.url));
            continue;
        }
        for t in extra_tags {
            if !e.tags.contains(t) {
                e.tags.push(t.clone());
            }
        }
        fresh.push(e);
    }
    (fresh, skipped)
}

/// An outline whose test fetch failed.
struct Failed {
    /// Its index in the outlines to add.
    index: usize,
    url: String,
    why: String,
    /// The id it was added under (disabled), once added.
    id: Option<String>,
}

/// Fetches every entry (`[fetch] concurrency` at once, a progress bar on a
/// terminal): a feed's title fills in a missing name; the ones that are no
/// feed are returned, sorted by URL.
async fn test_fetch(config: &Config, fresh: &mut [Entry]) -> Result<Vec<Failed>, AdminError> {
    let fetcher = Fetcher::new(&config.fetch).map_err(AdminError::Client)?;
    let bar = crate::progress::progress_bar(fresh.len() as u64, "checking");
    let results: Vec<(usize, Result<Probe, ProbeError>)> = {
        use futures::StreamExt as _;
        let fetcher = &fetcher;
        let bar = &bar;
        futures::stream::iter(fresh.iter().enumerate().map(|(i, e)| async move {
            let r = match url::Url::parse(&e.url) {
                Ok(u) => probe(fetcher, &u, None).await,
                Err(err) => Err(ProbeError::Url(err)),
            };
            bar.inc(1);
            (i, r)
        }))
        .buffer_unordered(config.fetch.concurrency.max(1))
        .collect()
        .await
    };
    bar.finish_and_clear();
    let mut failed: Vec<Failed> = Vec::new();
    for (i, r) in results {
        let mut fail = |why: String| {
            failed.push(Failed {
                index: i,
                url: fresh[i].url.clone(),
                why,
                id: None,
            })
        };
        match r {
            Ok(Probe::Feed { title, .. }) => {
                if fresh[i].name.is_empty()
                    && let Some(t) = title
                {
                    fresh[i].name = t;
                }
            }
            Ok(Probe::Page { .. }) => fail("an HTML page, not a feed".into()),
            Err(e) => fail(e.to_string()),
        }
    }
    failed.sort_by(|a, b| a.url.cmp(&b.url));
    Ok(failed)
}

/// Adds the entries in one edit (saved only when one was added), each
/// checked again under the lock against the file as it is now; the failed
/// ones disabled with their reason noted (`failed[].id` set), or not at all
/// with `skip_failed`. Returns how many were added.
fn add_all(
    config: &Config,
    fresh: &[Entry],
    failed: &mut [Failed],
    skip_failed: bool,
    skipped: &mut Vec<String>,
) -> Result<usize, AdminError> {
    let mut edit = ConfigEdit::open(&config.path)?;
    let mut taken: HashSet<String> = edit
        .config()
        .sources
        .iter()
        .map(|s| s.id.0.clone())
        .collect();
    let mut added = 0usize;
    for (index, e) in fresh.iter().enumerate() {
        let failure = failed.iter_mut().find(|f| f.index == index);
        if skip_failed && failure.is_some() {
            continue;
        }
        // Under the lock, against the file as it is now.
        if let Some(s) = crate::edit::source_with_url(edit.config(), &e.url) {
            skipped.push(format!("{}: already source {}", e.url, s.id.0));
            continue;
        }
        let cleaned = crate::printable::clean_name(&e.name);
        let name = if cleaned.is_empty() {
            url::Url::parse(&e.url)
                .ok()
                .map(|u| host_and_port(&u))
                .unwrap_or_else(|| e.url.clone())
        } else {
            cleaned.clone()
        };
        let id = crate::edit::derive_id(&cleaned, &e.url, &|c| taken.contains(c));
        taken.insert(id.clone());
        edit.add_source(&NewSource {
            id: id.clone(),
            name,
            url: e.url.clone(),
            tags: e.tags.clone(),
            schedule: None,
            enabled: failure.is_none(),
            ..NewSource::default()
        })?;
        if let Some(f) = failure {
            edit.note_disabled(
                &id,
                &format!("{} ({})", f.why, Utc::now().format("%Y-%m-%d")),
            )?;
            f.id = Some(id);
        }
        added += 1;
    }
    if added > 0 {
        edit.save()?;
    }
    Ok(added)
}

/// `sources export`: OPML 2.0 of every configured source.
pub fn sources_export(config: &Config) -> Result<String, AdminError> {
    crate::opml_io::write(&config.sources, Utc::now()).map_err(AdminError::Export)
}
