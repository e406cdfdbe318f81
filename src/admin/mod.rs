//! Admin commands: `sources list|show|test|add|remove|enable|disable|tag|
//! set|rename|import|export`, `topics list|preview|add|edit|remove`. An
//! edge like `cli`: it composes the stages and formats for people (or JSON
//! for tools). Edits go through `edit` (toml_edit, lock, validate, atomic
//! write); this module adds what needs the network: trying a URL before
//! adding it, feed discovery, and checking imported feeds.
//!
//! By command: `show` (`sources list`, `sources show`), `feed_test`
//! (`sources test`), `topics` (`topics …`), `add` (`sources add`, and the
//! probe that tells a feed from a page), `opml` (`sources import`,
//! `sources export`), `change` (`sources remove|enable|disable|tag|set|
//! rename`). Each returns the text to print, or an [`AdminError`] whose
//! kind decides the exit code.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::config::Display;
use crate::edit::EditError;
use crate::fetch::FetchError;
use crate::opml_io::OpmlError;
use crate::parse::ParseError;
use crate::pipeline::PipelineError;
use crate::store::StoreError;

mod add;
mod change;
mod feed_test;
mod opml;
mod show;
mod topics;

pub use add::{AddSource, ProbeError, sources_add};
pub use change::{edit_one, remove_source, retag, set_enabled, sources_rename, sources_set};
pub use feed_test::{sources_test, sources_test_page};
pub use opml::{sources_export, sources_import};
pub use show::{sources_list, sources_show};
pub use topics::{
    TopicChange, explain_query, preview_query, topic, topics_add, topics_edit, topics_list,
    topics_preview, topics_remove,
};

/// A time as printed by the admin commands: in `[display] timezone`, with
/// its offset (`Display::time`); `-` for none.
fn when(display: &Display, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| display.time(t)).unwrap_or_else(|| "-".into())
}

/// One table cell: control characters escaped (newlines too), padded to
/// `columns` display columns (a CJK character takes two).
fn cell(s: &str, columns: usize) -> String {
    crate::printable::pad(&escape_line(s), columns)
}

fn escape_line(s: &str) -> std::borrow::Cow<'_, str> {
    crate::printable::escape_line(s)
}

fn width(s: &str) -> usize {
    crate::printable::width(&escape_line(s))
}

/// Why an admin command failed. Each kind has one exit code, given in one
/// place (`cli::Exit::from(&AdminError)`): what the admin asked for is
/// wrong (a name not in the config, an argument, a URL that is no feed, a
/// file that is no OPML) is a config error, 2; the database, the network
/// client, a fetch or a file that failed is a runtime error, 1. The
/// messages are the ones printed after `error: `.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No such source or topic (in the config, or the database), or a
    /// target that names neither a source nor a URL.
    #[error("{0}")]
    Unknown(String),
    /// What was asked cannot be done, and nothing was written: an invalid
    /// argument, a URL already configured, a page with no feed or several.
    #[error("{0}")]
    Refused(String),
    /// `sources add`: the URL could not be read as a feed.
    #[error("{url}: {source} (--no-fetch adds it without trying)")]
    Probe { url: String, source: ProbeError },
    /// `sources import`: the file is not OPML.
    #[error("{}: {source}; nothing imported", path.display())]
    Opml { path: PathBuf, source: OpmlError },
    /// Editing `config.toml`: refused (a config error) or its file could
    /// not be read, locked or written (a runtime error).
    #[error(transparent)]
    Edit(#[from] EditError),
    /// A file the command reads (`sources import`'s OPML).
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `sources export`: the OPML could not be written.
    #[error(transparent)]
    Export(OpmlError),
    /// The database could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The database could not be opened: missing, or an old schema.
    #[error(transparent)]
    Open(#[from] PipelineError),
    /// `sources remove --purge`: deleting the source's copies failed.
    #[error("purging {id}: {source}")]
    Purge { id: String, source: Box<StoreError> },
    /// The HTTP client could not be built.
    #[error(transparent)]
    Client(FetchError),
    /// `sources test`: the fetch failed; `shown` is what was found before.
    #[error("{shown}  fetch failed: {}", escape_line(&source.to_string()))]
    Fetch { shown: String, source: FetchError },
    /// `sources test`: the document is not a feed; `shown` is what was
    /// found before (HTTP, charset).
    #[error("{shown}parse failed: {}", escape_line(&source.to_string()))]
    Parse { shown: String, source: ParseError },
    /// `sources test --page`: the page gave no article (not HTML, nothing
    /// extracted), or no page to try; `shown` is what was found before.
    #[error("{shown}full text failed: {}", escape_line(reason))]
    Page { shown: String, reason: String },
}
