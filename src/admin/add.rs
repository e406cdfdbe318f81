//! `sources add`: try the URL (a feed, or a page whose feeds are
//! discovered), then append the source to the config. `probe` is shared
//! with `sources import`'s test fetches.

use std::fmt::Write as _;

use url::Url;

use super::AdminError;
use crate::config::Config;
use crate::discover::Discovered;
use crate::edit::{ConfigEdit, NewSource};
use crate::fetch::{FetchError, Fetched, Fetcher, Validators};
use crate::parse::{self, ParseError};

/// What a URL turned out to be when fetched.
pub(super) enum Probe {
    Feed { title: Option<String>, items: usize },
    Page { url: Url, feeds: Vec<Discovered> },
}

/// Why a URL could not be read as a feed or a page.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("answered 304 Not Modified")]
    NotModified,
    #[error("fetch failed: {0}")]
    Fetch(#[source] FetchError),
    #[error("does not parse as a feed: {0}")]
    NotAFeed(#[source] ParseError),
    /// An imported outline's URL (`sources import`).
    #[error("{0}")]
    Url(#[source] url::ParseError),
}

/// Fetches `url` and tells a feed (parsed) from an HTML page (its feeds).
pub(super) async fn probe(
    fetcher: &Fetcher,
    url: &Url,
    forced: Option<&'static encoding_rs::Encoding>,
) -> Result<Probe, ProbeError> {
    let body = match fetcher.fetch(url, &Validators::default()).await {
        Ok(Fetched::Body(b)) => b,
        Ok(Fetched::NotModified { .. }) => return Err(ProbeError::NotModified),
        Err(e) => return Err(ProbeError::Fetch(e)),
    };
    let final_url = Url::parse(&body.final_url).unwrap_or_else(|_| url.clone());
    let decoded = crate::pipeline::decode_body(&body, forced);
    if crate::discover::looks_like_html(body.content_type.as_deref(), &decoded.text) {
        let feeds = crate::discover::feeds_in(&decoded.text, &final_url);
        return Ok(Probe::Page {
            url: final_url,
            feeds,
        });
    }
    let feed = crate::pipeline::parse_body(&body, &decoded, parse::DEFAULT_ZONE)
        .map_err(ProbeError::NotAFeed)?;
    Ok(Probe::Feed {
        // The title may become the source's name in config.toml: no
        // control characters, bidi overrides or line breaks.
        title: feed
            .title
            .map(|t| crate::printable::clean_name(&t))
            .filter(|t| !t.is_empty()),
        items: feed.items.len(),
    })
}

/// Refused when `url` is already configured (by `edit::url_key`).
fn duplicate_of(config: &Config, url: &str) -> Result<(), AdminError> {
    match crate::edit::source_with_url(config, url) {
        Some(s) => Err(AdminError::Refused(format!(
            "{url} is already configured as source {:?} ({})",
            s.id.0, s.url
        ))),
        None => Ok(()),
    }
}

/// `host` or `host:port` of a URL (the name of a source with no title).
pub(super) fn host_and_port(url: &Url) -> String {
    let host = url.host_str().unwrap_or("source");
    match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    }
}

/// `sources add`'s arguments.
#[derive(Debug, Default)]
pub struct AddSource {
    pub url: String,
    pub id: Option<String>,
    pub name: Option<String>,
    pub tags: Vec<String>,
    pub schedule: Option<String>,
    /// `--full-text`: fetch each new item's article page.
    pub full_text: bool,
    /// `--full-text-selector`: where the article is (implies full text).
    pub full_text_selector: Option<String>,
    /// `--encoding`: a charset label that overrides the feed's own.
    pub encoding: Option<String>,
    /// `--disabled`: added, not polled until `sources enable`.
    pub disabled: bool,
    /// Which of several discovered feeds (1-based).
    pub pick: Option<usize>,
    /// Fetch the URL first (discovery, name, a parse check).
    pub fetch: bool,
}

/// The feed `sources add` settled on: its URL, its title, and what was
/// found on the way (printed before "added").
struct Found {
    url: Url,
    title: Option<String>,
    note: String,
}

/// `sources add`: try the URL (unless told not to), find the feed on an HTML
/// page, then append the source to the config. Returns what to print.
pub async fn sources_add(config: &Config, req: AddSource) -> Result<String, AdminError> {
    let url = requested_url(config, &req)?;
    let forced = forced_encoding(&req)?;
    let found = if req.fetch {
        find_feed(config, url, req.pick, forced).await?
    } else {
        Found {
            url,
            title: None,
            note: String::new(),
        }
    };
    let (id, name) = append(config, &req, &found)?;
    Ok(format!(
        "{}added source {id} ({name}) <{}> to {}\n",
        found.note,
        found.url,
        config.path.display()
    ))
}

/// `--encoding`, checked before anything is fetched (as `check` checks
/// it), and used to read the feed as a poll will.
fn forced_encoding(req: &AddSource) -> Result<Option<&'static encoding_rs::Encoding>, AdminError> {
    match &req.encoding {
        None => Ok(None),
        Some(label) => encoding_rs::Encoding::for_label(label.trim().as_bytes())
            .map(Some)
            .ok_or_else(|| {
                AdminError::Refused(format!(
                    "--encoding: unknown charset {label:?} (use a WHATWG label such as gbk, gb18030, big5, utf-8); nothing was written"
                ))
            }),
    }
}

/// `sources add`'s `--id` and URL, checked before anything is fetched.
fn requested_url(config: &Config, req: &AddSource) -> Result<Url, AdminError> {
    if let Some(id) = &req.id
        && !crate::config::valid_id(id)
    {
        // Checked here: the config validation would blame a line of the
        // edited file, which is not on disk.
        return Err(AdminError::Refused(format!(
            "--id {id:?} is not a valid id: use a-z, 0-9 and '-' (at most 64, not starting with '-'); nothing was written"
        )));
    }
    let url = Url::parse(req.url.trim())
        .map_err(|e| AdminError::Refused(format!("invalid URL {:?}: {e}", req.url)))?;
    duplicate_of(config, url.as_str())?;
    Ok(url)
}

/// Fetches `url`: a feed is taken (its title noted); on an HTML page, the
/// one feed it links to (or the `pick`ed one) is fetched in turn.
async fn find_feed(
    config: &Config,
    mut url: Url,
    pick: Option<usize>,
    forced: Option<&'static encoding_rs::Encoding>,
) -> Result<Found, AdminError> {
    let fetcher = Fetcher::new(&config.fetch).map_err(AdminError::Client)?;
    let mut note = String::new();
    let mut found = probe_feed(&fetcher, &url, forced).await?;
    if let Probe::Page { url: page, feeds } = &found {
        let chosen = choose(page, feeds, pick)?;
        let _ = writeln!(note, "found {} on {page}", chosen.url);
        url = chosen.url.clone();
        duplicate_of(config, url.as_str())?;
        found = probe_feed(&fetcher, &url, forced).await?;
    }
    match found {
        Probe::Feed { title, items } => {
            let _ = writeln!(
                note,
                "{} parses: {}, {items} items",
                url,
                title.as_deref().unwrap_or("(no title)")
            );
            Ok(Found { url, title, note })
        }
        Probe::Page { .. } => Err(AdminError::Refused(format!(
            "{url} is an HTML page, not a feed (--no-fetch adds it without trying)"
        ))),
    }
}

/// `probe`, its failure naming the URL (`sources add`).
async fn probe_feed(
    fetcher: &Fetcher,
    url: &Url,
    forced: Option<&'static encoding_rs::Encoding>,
) -> Result<Probe, AdminError> {
    probe(fetcher, url, forced)
        .await
        .map_err(|source| AdminError::Probe {
            url: url.to_string(),
            source,
        })
}

/// The feed of `page` to add: its only one, or the `pick`ed one; refused
/// (listing them) when there are none, several and no pick, or a pick out
/// of range.
fn choose<'a>(
    page: &Url,
    feeds: &'a [Discovered],
    pick: Option<usize>,
) -> Result<&'a Discovered, AdminError> {
    match (feeds.len(), pick) {
        (0, _) => Err(AdminError::Refused(format!(
            "{page} is an HTML page that links to no feed \
             (no <link rel=\"alternate\" type=\"application/rss+xml\"> or similar)"
        ))),
        (1, None) => Ok(&feeds[0]),
        (n, Some(k)) if (1..=n).contains(&k) => Ok(&feeds[k - 1]),
        (n, pick) => {
            let mut msg = match pick {
                Some(k) => format!("--pick {k}: {page} links to {n} feeds:\n"),
                None => format!("{page} links to {n} feeds; choose one with --pick N:\n"),
            };
            for (i, f) in feeds.iter().enumerate() {
                let _ = writeln!(
                    msg,
                    "  {}. {}  ({}{})",
                    i + 1,
                    f.url,
                    f.kind,
                    f.title
                        .as_deref()
                        .map(|t| format!(", {t:?}"))
                        .unwrap_or_default()
                );
            }
            Err(AdminError::Refused(msg.trim_end().to_string()))
        }
    }
}

/// Appends the source to the config (locked, validated, atomic). Returns
/// its id and name: given, else the feed's title (and an id from it), else
/// the host (and an id from the whole URL).
fn append(config: &Config, req: &AddSource, found: &Found) -> Result<(String, String), AdminError> {
    let url = &found.url;
    let mut edit = ConfigEdit::open(&config.path)?;
    // Again under the lock: another admin may have added it meanwhile.
    duplicate_of(edit.config(), url.as_str())?;
    let existing: Vec<String> = edit
        .config()
        .sources
        .iter()
        .map(|s| s.id.0.clone())
        .collect();
    // No name given and none found: the host (and port), and the id from
    // the whole URL rather than from that.
    let named = req.name.is_some() || found.title.is_some();
    let name = req
        .name
        .clone()
        .or_else(|| found.title.clone())
        .unwrap_or_else(|| host_and_port(url));
    let id = match &req.id {
        Some(id) => {
            if let Some(s) = edit.config().source(id) {
                return Err(AdminError::Refused(format!(
                    "id {id:?} is already used by source {} ({})",
                    s.name, s.url
                )));
            }
            id.clone()
        }
        None => crate::edit::derive_id(if named { &name } else { "" }, url.as_str(), &|c| {
            existing.iter().any(|e| e == c)
        }),
    };
    edit.add_source(&NewSource {
        id: id.clone(),
        name: name.clone(),
        url: url.to_string(),
        tags: req.tags.clone(),
        schedule: req.schedule.clone(),
        enabled: !req.disabled,
        full_text: req.full_text || req.full_text_selector.is_some(),
        full_text_selector: req.full_text_selector.clone(),
        encoding: req.encoding.clone(),
    })?;
    edit.save()?;
    Ok((id, name))
}
