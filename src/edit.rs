//! Edits `config.toml` for the admin commands (`sources add|remove|enable|
//! disable|tag|set|rename|import`, `topics add|edit|remove`). The file
//! stays the one source of truth, so an edit must never mangle it:
//!
//! - toml_edit keeps every byte it is not asked to change: comments, order,
//!   alignment, quoting;
//! - the edited text is validated by the same loader the daemon uses before
//!   anything is written, so a bad edit leaves the old file in place;
//! - the write is atomic (temp file in the same folder, fsync, rename) and
//!   keeps the file's permissions;
//! - an OS advisory lock on the config's folder is held from read to write,
//!   so two admins editing at once both land, one after the other. The
//!   folder, not a lock file beside the config: the file itself is replaced
//!   by a rename (a lock on it would stay with the old inode), and a lock
//!   file would be left behind in the admin's folder (and in their git).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, value};
use url::Url;

use crate::config::{Config, ConfigError};

/// How long an edit waits for another one to finish.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Why an edit was not made. Either way the file is unchanged.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// What was asked cannot be done: an unknown id, a duplicate URL, an
    /// edit that would make the config invalid.
    #[error("{0}")]
    Refused(String),
    /// The file could not be read, locked or written.
    #[error("{0}")]
    Io(String),
}

type Result<T> = std::result::Result<T, EditError>;

/// How the comment above a source added disabled begins (`note_disabled`).
const DISABLED_NOTE: &str = "# disabled when imported: ";

/// A source to append as a `[[source]]` table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewSource {
    pub id: String,
    pub name: String,
    pub url: String,
    pub tags: Vec<String>,
    pub schedule: Option<String>,
    pub enabled: bool,
    /// `full_text = true` (written only when set).
    pub full_text: bool,
    pub full_text_selector: Option<String>,
    /// A WHATWG charset label (`gbk`).
    pub encoding: Option<String>,
}

/// A topic to append as a `[[topic]]` table (`topics add`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewTopic {
    pub slug: String,
    pub title: String,
    pub query: String,
    pub tags: Vec<String>,
    pub language: Option<String>,
    pub script: Option<String>,
}

/// How a key's value is written on the command line (`KEY=VALUE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A TOML string, as given.
    Text,
    /// `true` or `false`.
    Bool,
    /// Comma-separated, each item trimmed (`tags=national,edu`).
    List,
}

/// The kind of each key a `[[source]]` table may have, but `id` (changed by
/// `sources rename`). A key the config learns must be added here: a unit
/// test compares this with `config::source_keys`.
pub fn source_key_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "name" | "url" | "schedule" | "encoding" | "timezone" | "full_text_selector" | "trust" => {
            Kind::Text
        }
        "enabled" | "allow_private_addresses" | "full_text" => Kind::Bool,
        "tags" | "link_hosts" => Kind::List,
        _ => return None,
    })
}

/// The kind of each key a `[[topic]]` table may have, but `slug`.
pub fn topic_key_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "title" | "query" | "language" | "script" => Kind::Text,
        "tags" => Kind::List,
        _ => return None,
    })
}

/// Keys a table cannot do without: `--unset` refuses them.
const REQUIRED_SOURCE_KEYS: &[&str] = &["id", "url"];
const REQUIRED_TOPIC_KEYS: &[&str] = &["slug", "title", "query"];

/// One key's new value, in the key's type (`sources set`, `topics edit`).
#[derive(Clone, Debug)]
pub struct Setting {
    pub key: String,
    value: toml_edit::Value,
}

impl Setting {
    /// A string value (`--title`, `--query`).
    pub fn text(key: &str, text: &str) -> Setting {
        Setting {
            key: key.to_string(),
            value: text.into(),
        }
    }

    /// The value as it will be written (`"gbk"`, `true`, `["a", "b"]`).
    pub fn shown(&self) -> String {
        bare(&self.value)
    }
}

/// `sources set`'s `KEY=VALUE`: the key (checked against what a
/// `[[source]]` table allows, with check's did-you-mean) and its value in
/// the key's type.
pub fn parse_source_setting(arg: &str) -> Result<Setting> {
    let Some((key, raw)) = arg.split_once('=') else {
        return Err(EditError::Refused(format!(
            "{arg:?}: expected KEY=VALUE, such as full_text=true or tags=national,edu"
        )));
    };
    let key = key.trim();
    let kind = source_key(key)?;
    Ok(Setting {
        key: key.to_string(),
        value: typed_value(key, kind, raw)?,
    })
}

/// A key `sources set` / `--unset` may change, or why not.
pub fn source_key(key: &str) -> Result<Kind> {
    if key == "id" {
        return Err(EditError::Refused(
            "the id is changed with `newsriver sources rename OLD NEW`, \
             which also carries its history in the database"
                .to_string(),
        ));
    }
    source_key_kind(key).ok_or_else(|| unknown_key(key, "[[source]]", crate::config::source_keys()))
}

/// A key `topics edit --unset` may remove, or why not.
pub fn topic_key(key: &str) -> Result<Kind> {
    if key == "slug" {
        return Err(EditError::Refused(
            "a topic's slug cannot be changed (it is its feed's URL); \
             add a new topic and remove the old one"
                .to_string(),
        ));
    }
    topic_key_kind(key).ok_or_else(|| unknown_key(key, "[[topic]]", crate::config::topic_keys()))
}

fn unknown_key(key: &str, table: &str, known: &[&str]) -> EditError {
    let hint = crate::config::did_you_mean(key, known)
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_else(|| format!("; known keys: {}", known.join(", ")));
    EditError::Refused(format!("unknown key `{key}` in a {table} table{hint}"))
}

/// `raw` read as a value of `kind` (the key names it in the error).
fn typed_value(key: &str, kind: Kind, raw: &str) -> Result<toml_edit::Value> {
    Ok(match kind {
        Kind::Text => raw.into(),
        Kind::Bool => match raw.trim() {
            "true" => true.into(),
            "false" => false.into(),
            other => {
                return Err(EditError::Refused(format!(
                    "{key}={other}: `{key}` is true or false"
                )));
            }
        },
        Kind::List => raw
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect::<Array>()
            .into(),
    })
}

/// An open, locked config file being edited. Dropping it without `save`
/// changes nothing.
pub struct ConfigEdit {
    /// The file to replace (symlinks resolved, so the link survives).
    target: PathBuf,
    /// The path the admin named, for messages and for validation (relative
    /// paths in the config resolve against it).
    path: PathBuf,
    doc: DocumentMut,
    /// The config as it was when opened.
    before: Config,
    _lock: File,
}

impl ConfigEdit {
    /// Locks and reads `path`. A config that does not load is refused: the
    /// admin fixes what `check` reports first, so an edit never builds on a
    /// file whose meaning is unclear.
    pub fn open(path: &Path) -> Result<ConfigEdit> {
        let target = std::fs::canonicalize(path)
            .map_err(|e| EditError::Io(format!("{}: {e}", path.display())))?;
        let lock = lock(&target)?;
        let text = std::fs::read_to_string(&target)
            .map_err(|e| EditError::Io(format!("{}: cannot read: {e}", path.display())))?;
        let before = Config::from_str_at(&text, path).map_err(|e| match e {
            ConfigError::Read { .. } => EditError::Io(e.to_string()),
            ConfigError::Invalid { .. } => EditError::Refused(format!(
                "{e}\n{} has problems; fix them first (see `newsriver check`)",
                path.display()
            )),
        })?;
        let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| {
            EditError::Refused(format!("{}: {}", path.display(), e.message()))
        })?;
        Ok(ConfigEdit {
            target,
            path: path.to_path_buf(),
            doc,
            before,
            _lock: lock,
        })
    }

    /// The config as it was when the edit began.
    pub fn config(&self) -> &Config {
        &self.before
    }

    fn sources_mut(&mut self, create: bool) -> Result<Option<&mut ArrayOfTables>> {
        self.tables_mut(SOURCES, create)
    }

    /// The `[[name]]` tables (created when asked and missing).
    fn tables_mut(&mut self, what: Tables, create: bool) -> Result<Option<&mut ArrayOfTables>> {
        let name = what.name;
        if create && self.doc.get(name).is_none() {
            self.doc
                .insert(name, Item::ArrayOfTables(ArrayOfTables::new()));
        }
        match self.doc.get_mut(name) {
            None => Ok(None),
            Some(Item::ArrayOfTables(a)) => Ok(Some(a)),
            Some(_) => Err(EditError::Refused(format!(
                "{}: `{name}` is not written as [[{name}]] tables; \
                 the CLI edits only that form, so edit this file by hand",
                self.path.display()
            ))),
        }
    }

    fn source_table(&mut self, id: &str) -> Result<&mut Table> {
        self.table(SOURCES, id)
    }

    /// The `[[what]]` table whose key (`id`, `slug`) is `id`.
    fn table(&mut self, what: Tables, id: &str) -> Result<&mut Table> {
        let path = self.path.display().to_string();
        self.tables_mut(what, false)?
            .and_then(|a| {
                a.iter_mut()
                    .find(|t| t.get(what.key).and_then(Item::as_str) == Some(id))
            })
            .ok_or_else(|| EditError::Refused(what.missing(id, &path)))
    }

    /// Appends a `[[source]]` table after the last one.
    pub fn add_source(&mut self, s: &NewSource) -> Result<()> {
        let mut t = Table::new();
        t.insert("id", value(&s.id));
        t.insert("name", value(&s.name));
        t.insert("url", value(&s.url));
        if !s.tags.is_empty() {
            t.insert("tags", value(s.tags.iter().collect::<Array>()));
        }
        if let Some(cron) = &s.schedule {
            t.insert("schedule", value(cron));
        }
        if !s.enabled {
            t.insert("enabled", value(false));
        }
        if let Some(label) = &s.encoding {
            t.insert("encoding", value(label));
        }
        if s.full_text {
            t.insert("full_text", value(true));
        }
        if let Some(selector) = &s.full_text_selector {
            t.insert("full_text_selector", value(selector));
        }
        // A blank line before the header, like the tables around it. The
        // table has no position of its own, so toml_edit writes it right
        // after the last `[[source]]`, before any `[[topic]]` that follows.
        t.decor_mut().set_prefix("\n");
        if let Some(sources) = self.sources_mut(true)? {
            sources.push(t);
        }
        Ok(())
    }

    /// Removes a source's table (with the comments just above it, which
    /// toml_edit keeps as the table's own prefix).
    pub fn remove_source(&mut self, id: &str) -> Result<()> {
        self.remove_table(SOURCES, id)
    }

    /// Removes a topic's table, like `remove_source`.
    pub fn remove_topic(&mut self, slug: &str) -> Result<()> {
        self.remove_table(TOPICS, slug)
    }

    fn remove_table(&mut self, what: Tables, id: &str) -> Result<()> {
        let path = self.path.display().to_string();
        let tables = self.tables_mut(what, false)?;
        let index = tables.as_ref().and_then(|a| {
            a.iter()
                .position(|t| t.get(what.key).and_then(Item::as_str) == Some(id))
        });
        match (tables, index) {
            (Some(a), Some(i)) => {
                let (position, prefix) = a
                    .get(i)
                    .map(|t| {
                        let prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
                        (t.position(), prefix.to_string())
                    })
                    .unwrap_or_default();
                a.remove(i);
                self.keep_section_comments(position, &prefix);
                Ok(())
            }
            _ => Err(EditError::Refused(what.missing(id, &path))),
        }
    }

    /// A removed table takes the comment lines right above its header (they
    /// describe it), but a comment block separated from the header by a
    /// blank line heads a section (`# ---- sources ----`): that moves to the
    /// table that now follows.
    fn keep_section_comments(&mut self, removed_at: Option<isize>, prefix: &str) {
        let mut lines: Vec<&str> = prefix.split('\n').collect();
        // The header's own comments: the unbroken run of comment lines
        // before it (the last element is the header line's indentation).
        let mut end = lines.len().saturating_sub(1);
        while end > 0 && lines[end - 1].trim_start().starts_with('#') {
            end -= 1;
        }
        lines.truncate(end);
        let kept = lines.join("\n");
        if !kept.contains('#') {
            return;
        }
        let kept = kept.trim_end_matches(['\n', ' ', '\t']).to_string();
        let Some(at) = removed_at else { return };
        let mut next: Option<&mut Table> = None;
        for (_, item) in self.doc.as_table_mut().iter_mut() {
            let tables: Vec<&mut Table> = match item {
                Item::Table(t) => vec![t],
                Item::ArrayOfTables(a) => a.iter_mut().collect(),
                _ => Vec::new(),
            };
            for t in tables {
                let p = t.position().unwrap_or(isize::MAX);
                if p > at
                    && next
                        .as_ref()
                        .is_none_or(|n| p < n.position().unwrap_or(isize::MAX))
                {
                    next = Some(t);
                }
            }
        }
        match next {
            Some(t) => {
                let own = t
                    .decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .unwrap_or("\n")
                    .to_string();
                t.decor_mut().set_prefix(format!("{kept}\n{own}"));
            }
            None => {
                let trailing = self.doc.trailing().as_str().unwrap_or("").to_string();
                self.doc.set_trailing(format!("{trailing}{kept}\n"));
            }
        }
    }

    /// `enabled = false`, or back to enabled. Enabling removes the key
    /// (true is the default), so disable + enable gives the file back as it
    /// was — unless the line carries a comment, which stays with the value.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Result<()> {
        let t = self.source_table(id)?;
        if enabled {
            // The note of why it was added disabled no longer holds.
            let prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
            if prefix.contains(DISABLED_NOTE) {
                let kept: String = prefix
                    .split_inclusive('\n')
                    .filter(|line| !line.starts_with(DISABLED_NOTE))
                    .collect();
                t.decor_mut().set_prefix(kept);
            }
        }
        let commented = t.get("enabled").and_then(Item::as_value).is_some_and(|v| {
            v.decor()
                .suffix()
                .and_then(|s| s.as_str())
                .is_some_and(|s| s.contains('#'))
        });
        match t.get_mut("enabled") {
            Some(item) if item.is_value() && (commented || !enabled) => {
                set_keeping_decor(item, enabled.into());
            }
            Some(_) if enabled => {
                t.remove("enabled");
            }
            _ if enabled => {}
            _ => {
                t.insert("enabled", value(false));
            }
        }
        Ok(())
    }

    /// Adds and removes tags, keeping the array's own layout.
    pub fn retag(&mut self, id: &str, add: &[String], remove: &[String]) -> Result<()> {
        retag_table(self.source_table(id)?, "source", id, add, remove)
    }

    /// A topic's tags, like `retag`.
    pub fn retag_topic(&mut self, slug: &str, add: &[String], remove: &[String]) -> Result<()> {
        retag_table(self.table(TOPICS, slug)?, "topic", slug, add, remove)
    }

    /// `sources set ID KEY=VALUE`: sets one key of a source's table (the
    /// value's spacing and trailing comment kept when it was there; a new
    /// key goes at the end of the table). Returns the value it had, as
    /// written (`None`: unset).
    pub fn set_source_key(&mut self, id: &str, new: Setting) -> Result<Option<String>> {
        source_key(&new.key)?;
        if new.key == "url"
            && let Some(url) = new.value.as_str()
            && let Some(other) = source_with_url(&self.before, url).filter(|s| s.id.0 != id)
        {
            return Err(EditError::Refused(format!(
                "{url} is already configured as source {:?}",
                other.id.0
            )));
        }
        Ok(set_key(self.source_table(id)?, new))
    }

    /// `sources set ID --unset KEY`: removes a key (back to its default).
    /// Returns the value it had (`None`: it was not set).
    pub fn unset_source_key(&mut self, id: &str, key: &str) -> Result<Option<String>> {
        source_key(key)?;
        refuse_required(key, REQUIRED_SOURCE_KEYS, "source")?;
        Ok(unset_key(self.source_table(id)?, key))
    }

    /// `sources rename OLD NEW`: the table's `id`, nothing else. Refused
    /// for an id that is not valid or is taken.
    pub fn rename_source(&mut self, old: &str, new: &str) -> Result<()> {
        let path = self.path.display().to_string();
        if !crate::config::valid_id(new) {
            return Err(EditError::Refused(format!(
                "{new:?} is not a valid id: use a-z, 0-9 and '-' \
                 (at most 64, not starting with '-')"
            )));
        }
        if let Some(s) = self.before.source(new) {
            return Err(EditError::Refused(format!(
                "id {new:?} is already used by source {} ({}) in {path}",
                s.name, s.url
            )));
        }
        let t = self.source_table(old)?;
        if let Some(item) = t.get_mut("id") {
            set_keeping_decor(item, new.into());
        }
        Ok(())
    }

    /// Writes `why` as a comment line just above a source's table (a
    /// source added disabled says why there); `sources enable` removes it.
    pub fn note_disabled(&mut self, id: &str, why: &str) -> Result<()> {
        let t = self.source_table(id)?;
        let prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("\n");
        let why: String = why
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let prefix = format!("{prefix}{DISABLED_NOTE}{why}\n");
        t.decor_mut().set_prefix(prefix);
        Ok(())
    }

    /// Appends a `[[topic]]` table after the last one (at the end of the
    /// file when there is none). Refused when the slug is taken.
    pub fn add_topic(&mut self, topic: &NewTopic) -> Result<()> {
        if self.before.topics.iter().any(|t| t.slug == topic.slug) {
            return Err(EditError::Refused(format!(
                "topic {:?} already exists in {}; change it with `newsriver topics edit {}`",
                topic.slug,
                self.path.display(),
                topic.slug
            )));
        }
        let mut t = Table::new();
        t.insert("slug", value(&topic.slug));
        t.insert("title", value(&topic.title));
        t.insert("query", value(&topic.query));
        if !topic.tags.is_empty() {
            t.insert("tags", value(topic.tags.iter().collect::<Array>()));
        }
        if let Some(language) = &topic.language {
            t.insert("language", value(language));
        }
        if let Some(script) = &topic.script {
            t.insert("script", value(script));
        }
        t.decor_mut().set_prefix("\n");
        if let Some(topics) = self.tables_mut(TOPICS, true)? {
            topics.push(t);
        }
        Ok(())
    }

    /// `topics edit SLUG --title …`: sets one key of a topic's table, like
    /// `set_source_key`.
    pub fn set_topic_key(&mut self, slug: &str, new: Setting) -> Result<Option<String>> {
        topic_key(&new.key)?;
        Ok(set_key(self.table(TOPICS, slug)?, new))
    }

    /// `topics edit SLUG --unset KEY`.
    pub fn unset_topic_key(&mut self, slug: &str, key: &str) -> Result<Option<String>> {
        topic_key(key)?;
        refuse_required(key, REQUIRED_TOPIC_KEYS, "topic")?;
        Ok(unset_key(self.table(TOPICS, slug)?, key))
    }

    /// The edited text validated as the daemon would load it, without
    /// writing anything (`save` writes): for an edit that must know it is
    /// valid before it does something else (`sources rename`'s database).
    pub fn validate(&self) -> Result<Config> {
        Config::from_str_at(&self.doc.to_string(), &self.path).map_err(|e| {
            EditError::Refused(format!(
                "the edit would make the config invalid, so nothing was written \
                 (lines as the file would read after it):\n{e}"
            ))
        })
    }

    /// Validates the edited text as the daemon would load it, then replaces
    /// the file atomically. Returns the new config.
    pub fn save(self) -> Result<Config> {
        let config = self.validate()?;
        let text = self.doc.to_string();
        crate::atomic_file::write(&self.target, text.as_bytes())
            .map_err(|e| EditError::Io(format!("{}: cannot write: {e}", self.path.display())))?;
        Ok(config)
    }
}

/// Which array of tables an edit works on, and the key that names a table.
#[derive(Clone, Copy)]
struct Tables {
    name: &'static str,
    key: &'static str,
}

const SOURCES: Tables = Tables {
    name: "source",
    key: "id",
};
const TOPICS: Tables = Tables {
    name: "topic",
    key: "slug",
};

impl Tables {
    fn missing(&self, id: &str, path: &str) -> String {
        match self.name {
            "source" => format!("no source with id {id:?} in {path}"),
            name => format!("no {name} {id:?} in {path}"),
        }
    }
}

fn refuse_required(key: &str, required: &[&str], what: &str) -> Result<()> {
    if required.contains(&key) {
        return Err(EditError::Refused(format!(
            "`{key}` cannot be unset: every {what} needs one"
        )));
    }
    Ok(())
}

/// A value as written in the file, without the spaces and comment around it.
fn shown(item: &Item) -> Option<String> {
    item.as_value().map(bare)
}

fn bare(v: &toml_edit::Value) -> String {
    let mut v = v.clone();
    v.decor_mut().clear();
    v.to_string()
}

fn set_key(t: &mut Table, new: Setting) -> Option<String> {
    match t.get_mut(&new.key) {
        Some(item) => {
            let was = shown(item);
            set_keeping_decor(item, new.value);
            was
        }
        None => {
            t.insert(&new.key, Item::Value(new.value));
            None
        }
    }
}

fn unset_key(t: &mut Table, key: &str) -> Option<String> {
    t.remove(key).as_ref().and_then(shown)
}

/// Adds and removes tags in a table, keeping the array's own layout.
fn retag_table(
    t: &mut Table,
    what: &str,
    id: &str,
    add: &[String],
    remove: &[String],
) -> Result<()> {
    if t.get("tags").is_none() {
        t.insert("tags", value(Array::new()));
    }
    let Some(tags) = t.get_mut("tags").and_then(Item::as_array_mut) else {
        return Err(EditError::Refused(format!(
            "{what} {id:?}: `tags` is not an array"
        )));
    };
    let before = tags.len();
    tags.retain(|v| v.as_str().is_none_or(|s| !remove.iter().any(|r| r == s)));
    let mut changed = tags.len() != before;
    for tag in add {
        if !tags.iter().any(|v| v.as_str() == Some(tag)) {
            tags.push(tag.as_str());
            changed = true;
        }
    }
    if changed {
        // Removing or appending elements leaves odd spacing behind
        // (`[   "b" , "c"]`); the changed array gets the standard layout,
        // its trailing comment stays.
        tags.fmt();
    }
    if tags.is_empty() {
        t.remove("tags");
    }
    Ok(())
}

/// Replaces one item's value, keeping the spaces and comment around it.
fn set_keeping_decor(item: &mut Item, mut new: toml_edit::Value) {
    if let Some(old) = item.as_value() {
        *new.decor_mut() = old.decor().clone();
    }
    *item = Item::Value(new);
}

/// Takes `<config>.lock`, waiting up to [`LOCK_WAIT`] for another edit. The
/// lock file is left in place: deleting it would let a third editor lock a
/// new file while the second still holds the old one.
fn lock(target: &Path) -> Result<File> {
    let path = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file = File::open(&path).map_err(|e| {
        EditError::Io(format!(
            "{}: cannot open the config's folder to lock it: {e}",
            path.display()
        ))
    })?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(EditError::Io(format!(
                    "{}: another edit has held the lock for {}s; try again",
                    path.display(),
                    LOCK_WAIT.as_secs()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(EditError::Io(format!(
                    "{}: cannot lock: {e}",
                    path.display()
                )));
            }
        }
    }
}

/// The form in which two URLs count as the same source: scheme and host in
/// lower case (the url crate does that, and drops default ports), no
/// fragment, no trailing slash on the path.
pub fn url_key(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(mut u) => {
            u.set_fragment(None);
            let mut s = u.to_string();
            if u.query().is_none() {
                while s.ends_with('/') && !s.ends_with("://") {
                    s.pop();
                }
            }
            s
        }
        Err(_) => url.trim().trim_end_matches('/').to_ascii_lowercase(),
    }
}

/// The configured source that already has `url`, if any.
pub fn source_with_url<'a>(config: &'a Config, url: &str) -> Option<&'a crate::config::Source> {
    let key = url_key(url);
    config
        .sources
        .iter()
        .find(|s| url_key(s.url.as_str()) == key)
}

/// An id for a new source, one a person can type: from its name (the
/// feed's or site's title) when that gives at least three letters, Chinese
/// written in pinyin (`中国新闻网-滚动新闻` → `zhongguo-xinwen-wang-gundong-xinwen`);
/// else from the URL's host, port (when not the default) and path (the last
/// segment without its extension), so two feeds on one host get two
/// readable ids; `-2`, `-3`… when taken.
pub fn derive_id(name: &str, url: &str, taken: &dyn Fn(&str) -> bool) -> String {
    let from_name = slug(name);
    let base = if from_name.len() >= 3 {
        from_name
    } else {
        Url::parse(url)
            .ok()
            .map(|u| {
                let host = u.host_str().unwrap_or("source");
                let host = host.strip_prefix("www.").unwrap_or(host);
                let port = u.port().map(|p| p.to_string()).unwrap_or_default();
                let segments: Vec<&str> = u
                    .path_segments()
                    .map(|s| s.filter(|p| !p.is_empty()).collect())
                    .unwrap_or_default();
                let path = match segments.split_last() {
                    Some((last, rest)) => {
                        let stem = last.rsplit_once('.').map_or(*last, |(stem, _)| stem);
                        let mut parts = rest.to_vec();
                        parts.push(stem);
                        parts.join(" ")
                    }
                    None => String::new(),
                };
                slug(&format!("{host} {port} {path}"))
            })
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "source".into())
    };
    if !taken(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|c| !taken(c))
        .unwrap_or(base)
}

/// Lower-case ASCII letters and digits, Han characters in pinyin, runs of
/// anything else as one `-`; at most [`ID_LEN`] bytes, cut between words.
fn slug(s: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut han: Vec<(char, &'static str)> = Vec::new();
    let flush_han = |han: &mut Vec<(char, &'static str)>, words: &mut Vec<String>| {
        words.extend(pinyin_words(han));
        han.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            flush_han(&mut han, &mut words);
            word.push(c.to_ascii_lowercase());
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        match pinyin::ToPinyin::to_pinyin(&c) {
            Some(p) => han.push((c, p.plain())),
            None => flush_han(&mut han, &mut words),
        }
    }
    flush_han(&mut han, &mut words);
    if !word.is_empty() {
        words.push(word);
    }
    let mut out = String::new();
    for w in words {
        let more = usize::from(!out.is_empty()) + w.len();
        if out.len() + more > ID_LEN {
            if out.is_empty() {
                out = w[..ID_LEN.min(w.len())].to_string();
            }
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&w);
    }
    out
}

/// The longest id [`derive_id`] makes (before a `-2` suffix).
const ID_LEN: usize = 48;

/// A run of Han characters' syllables as words: a particle (`的 之 与 和
/// 及 在 了`) alone, a word of [`READ_TOGETHER`] as one, the rest in words
/// of two syllables (the last one alone when a stretch is odd): `中国 新闻
/// 网`, `来自 订阅 源 的 名字`. Most Chinese words have two characters, and
/// an id needs only to be readable and stable, so this stands in for a
/// segmenter's multi-megabyte dictionary (jieba), which `sources add` would
/// load to name one feed. The `pinyin` crate gives each character its most
/// common reading.
fn pinyin_words(syllables: &[(char, &'static str)]) -> Vec<String> {
    const PARTICLES: &str = "的之与與和及在了";
    let mut words = Vec::new();
    let mut stretch: Vec<&str> = Vec::new();
    let flush = |stretch: &mut Vec<&str>, words: &mut Vec<String>| {
        words.extend(stretch.chunks(2).map(|pair| pair.concat()));
        stretch.clear();
    };
    let mut i = 0;
    while i < syllables.len() {
        let (c, reading) = syllables[i];
        let next = syllables.get(i + 1).map(|(n, _)| *n);
        let together = next.and_then(|n| READ_TOGETHER.iter().find(|(w, _)| w.chars().eq([c, n])));
        if let Some((_, read)) = together {
            flush(&mut stretch, &mut words);
            words.push((*read).to_string());
            i += 2;
            continue;
        }
        if PARTICLES.contains(c) {
            flush(&mut stretch, &mut words);
            words.push(reading.to_string());
        } else {
            stretch.push(reading);
        }
        i += 1;
    }
    flush(&mut stretch, &mut words);
    words
}

/// Words in outlets' names whose first character the `pinyin` crate, which
/// reads one character at a time, would read otherwise (`重庆` is not
/// "zhongqing"): the cities and words of Chinese papers' names where a
/// character has two readings. Simplified and Traditional.
const READ_TOGETHER: &[(&str, &str)] = &[
    ("重庆", "chongqing"),
    ("重慶", "chongqing"),
    ("长江", "changjiang"),
    ("長江", "changjiang"),
    ("长沙", "changsha"),
    ("長沙", "changsha"),
    ("长春", "changchun"),
    ("長春", "changchun"),
    ("长城", "changcheng"),
    ("長城", "changcheng"),
    ("长安", "changan"),
    ("長安", "changan"),
    ("长治", "changzhi"),
    ("長治", "changzhi"),
    ("长三", "changsan"),
    ("長三", "changsan"),
    ("厦门", "xiamen"),
    ("廈門", "xiamen"),
    ("银行", "yinhang"),
    ("銀行", "yinhang"),
    ("蚌埠", "bengbu"),
    ("六安", "luan"),
    ("朝阳", "chaoyang"),
    ("朝陽", "chaoyang"),
    ("行业", "hangye"),
    ("行業", "hangye"),
    ("音乐", "yinyue"),
    ("音樂", "yinyue"),
    ("单县", "shanxian"),
    ("都市", "dushi"),
    ("首都", "shoudu"),
    ("成都", "chengdu"),
    ("京都", "jingdu"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const ODD: &str = r#"# top comment
[storage]
path   =   "x.db"   # aligned

[[source]]
# the first outlet
id="a"
name = 'A'
url = "https://a.example/feed.xml"
tags = [ "one",   "two" ]   # spaced

[[topic]]
slug = "t"
title = "T"
query = "教育"
"#;

    fn open(text: &str) -> (tempfile::TempDir, PathBuf, ConfigEdit) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).expect("write");
        let edit = ConfigEdit::open(&path).expect("open");
        (dir, path, edit)
    }

    #[test]
    fn add_goes_after_the_last_source_and_keeps_the_rest() {
        let (_d, path, mut edit) = open(ODD);
        edit.add_source(&NewSource {
            id: "b".into(),
            name: "B 新闻".into(),
            url: "https://b.example/rss".into(),
            tags: vec!["x".into()],
            enabled: true,
            ..NewSource::default()
        })
        .expect("add");
        let config = edit.save().expect("save");
        assert_eq!(config.sources.len(), 2);
        let text = std::fs::read_to_string(&path).expect("read");
        let (head, tail) = text
            .split_once("\n[[source]]\nid = \"b\"")
            .expect("new table");
        assert!(ODD.starts_with(head), "{text}");
        assert!(
            tail.contains("[[topic]]"),
            "topic after the new source: {text}"
        );
        assert!(ODD.ends_with(&tail[tail.find("\n[[topic]]").expect("topic")..]));
    }

    #[test]
    fn retag_and_disable_touch_only_their_values() {
        let (_d, path, mut edit) = open(ODD);
        edit.retag("a", &["three".into()], &["one".into()])
            .expect("tag");
        edit.set_enabled("a", false).expect("disable");
        edit.save().expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(
            text.contains(r#"tags = ["two", "three"]   # spaced"#),
            "{text}"
        );
        assert!(text.contains("enabled = false"), "{text}");
        assert!(text.starts_with("# top comment\n[storage]\npath   =   \"x.db\"   # aligned\n"));
    }

    #[test]
    fn remove_takes_its_own_comments_and_leaves_the_section_heading() {
        let text = "[storage]\npath = \"x.db\"\n\n# ---- sources ----\n\n# about a\n[[source]]\nid = \"a\"\nurl = \"https://a.example/\"\n\n# about b\n[[source]]\nid = \"b\"\nurl = \"https://b.example/\"\n";
        let (_d, path, mut edit) = open(text);
        edit.remove_source("a").expect("remove");
        edit.save().expect("save");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "[storage]\npath = \"x.db\"\n\n# ---- sources ----\n\n# about b\n[[source]]\nid = \"b\"\nurl = \"https://b.example/\"\n"
        );
    }

    #[test]
    fn an_invalid_edit_writes_nothing() {
        let (_d, path, mut edit) = open(ODD);
        edit.add_source(&NewSource {
            id: "a".into(),
            name: "dup".into(),
            url: "https://c.example/".into(),
            enabled: true,
            ..NewSource::default()
        })
        .expect("add");
        let err = edit.save().expect_err("duplicate id");
        assert!(err.to_string().contains("duplicate"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), ODD);
    }

    #[test]
    fn set_and_unset_touch_only_their_keys() {
        let (_d, path, mut edit) = open(ODD);
        let set = parse_source_setting("schedule=0 */10 * * * *").expect("parse");
        assert_eq!(edit.set_source_key("a", set).expect("set"), None);
        let set = parse_source_setting("tags= x , y,").expect("parse");
        assert_eq!(set.shown(), r#"["x", "y"]"#);
        assert_eq!(
            edit.set_source_key("a", set).expect("set").as_deref(),
            Some(r#"[ "one",   "two" ]"#)
        );
        assert_eq!(
            edit.unset_source_key("a", "name")
                .expect("unset")
                .as_deref(),
            Some("'A'")
        );
        assert_eq!(edit.unset_source_key("a", "encoding").expect("unset"), None);
        let config = edit.save().expect("save");
        assert_eq!(config.sources[0].tags, ["x", "y"]);
        assert_eq!(config.sources[0].name, "a");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            ODD.replace("name = 'A'\n", "").replace(
                r#"tags = [ "one",   "two" ]   # spaced"#,
                "tags = [\"x\", \"y\"]   # spaced\nschedule = \"0 */10 * * * *\""
            )
        );
    }

    #[test]
    fn values_are_read_in_their_keys_type() {
        let set = parse_source_setting("full_text=true").expect("bool");
        assert_eq!(
            (set.key.as_str(), set.value.as_bool()),
            ("full_text", Some(true))
        );
        let set = parse_source_setting("full_text_selector=div[class=x]").expect("text");
        assert_eq!(set.shown(), "\"div[class=x]\"", "split at the first '='");
        let set = parse_source_setting("link_hosts=a.example,b.example").expect("list");
        assert_eq!(set.value.as_array().map(Array::len), Some(2));
        let message = |arg: &str| parse_source_setting(arg).expect_err(arg).to_string();
        assert!(
            message("enabled=maybe").contains("`enabled` is true or false"),
            "{}",
            message("enabled=maybe")
        );
        assert!(message("shedule=x").contains("did you mean `schedule`?"));
        assert!(message("colour=red").contains("known keys: id, name, url"));
        assert!(message("id=b").contains("sources rename"));
        assert!(message("full_text").contains("expected KEY=VALUE"));
        assert!(topic_key("slug").is_err());
        assert!(
            topic_key("titel")
                .expect_err("typo")
                .to_string()
                .contains("`title`")
        );
    }

    #[test]
    fn every_key_the_config_knows_can_be_set() {
        for key in crate::config::source_keys() {
            assert!(
                *key == "id" || source_key_kind(key).is_some(),
                "`sources set` does not know {key}"
            );
        }
        for key in crate::config::topic_keys() {
            assert!(
                *key == "slug" || topic_key_kind(key).is_some(),
                "`topics edit` does not know {key}"
            );
        }
    }

    #[test]
    fn unset_refuses_required_keys() {
        let (_d, _path, mut edit) = open(ODD);
        let e = edit.unset_source_key("a", "url").expect_err("url");
        assert!(e.to_string().contains("`url` cannot be unset"), "{e}");
        let e = edit.unset_topic_key("t", "query").expect_err("query");
        assert!(e.to_string().contains("`query` cannot be unset"), "{e}");
        let e = edit.unset_source_key("zz", "name").expect_err("unknown");
        assert!(e.to_string().contains("no source with id \"zz\""), "{e}");
    }

    #[test]
    fn rename_changes_the_id_only() {
        let (_d, path, mut edit) = open(ODD);
        for bad in ["B C", "-b", ""] {
            let e = edit.rename_source("a", bad).expect_err(bad);
            assert!(e.to_string().contains("not a valid id"), "{e}");
        }
        assert!(edit.rename_source("zz", "b").is_err());
        edit.rename_source("a", "b").expect("rename");
        edit.save().expect("save");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            ODD.replace("id=\"a\"", "id=\"b\"")
        );
        let mut edit = ConfigEdit::open(&path).expect("open");
        let e = edit.rename_source("b", "b").expect_err("taken");
        assert!(e.to_string().contains("already used"), "{e}");
    }

    #[test]
    fn topics_are_added_after_the_last_edited_and_removed_in_place() {
        let (_d, path, mut edit) = open(ODD);
        let new = NewTopic {
            slug: "u".into(),
            title: "U".into(),
            query: "a OR b".into(),
            tags: vec!["one".into()],
            language: Some("en".into()),
            script: None,
        };
        edit.add_topic(&new).expect("add");
        edit.set_topic_key("t", Setting::text("title", "T2"))
            .expect("title");
        edit.retag_topic("t", &["one".into()], &[]).expect("tag");
        edit.save().expect("save");
        let text = std::fs::read_to_string(&path).expect("read");
        assert_eq!(
            text,
            ODD.replace("title = \"T\"", "title = \"T2\"")
                + "tags = [\"one\"]\n\n[[topic]]\nslug = \"u\"\ntitle = \"U\"\nquery = \"a OR b\"\ntags = [\"one\"]\nlanguage = \"en\"\n"
        );
        let mut edit = ConfigEdit::open(&path).expect("open");
        let e = edit.add_topic(&new).expect_err("duplicate");
        assert!(e.to_string().contains("already exists"), "{e}");
        edit.remove_topic("u").expect("remove");
        assert!(edit.remove_topic("nope").is_err());
        edit.save().expect("save");
        assert!(
            std::fs::read_to_string(&path)
                .expect("read")
                .ends_with("query = \"教育\"\ntags = [\"one\"]\n")
        );
    }

    #[test]
    fn a_first_topic_goes_at_the_end() {
        let text = "[[source]]\nid = \"a\"\nurl = \"https://a.example/\"\n";
        let (_d, path, mut edit) = open(text);
        edit.add_topic(&NewTopic {
            slug: "t".into(),
            title: "T".into(),
            query: "*".into(),
            ..NewTopic::default()
        })
        .expect("add");
        edit.save().expect("save");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("{text}\n[[topic]]\nslug = \"t\"\ntitle = \"T\"\nquery = \"*\"\n")
        );
    }

    #[test]
    fn url_keys_ignore_case_and_trailing_slash() {
        assert_eq!(
            url_key("HTTPS://A.Example/feed/"),
            url_key("https://a.example/feed")
        );
        assert_eq!(url_key("https://a.example/"), url_key("https://a.example"));
        assert_ne!(
            url_key("https://a.example/Feed"),
            url_key("https://a.example/feed")
        );
        assert_ne!(url_key("http://a.example/"), url_key("https://a.example/"));
    }

    #[test]
    fn ids_come_from_ascii_names_or_the_url() {
        let none = |_: &str| false;
        assert_eq!(
            derive_id("Reuters: World News", "https://x/", &none),
            "reuters-world-news"
        );
        assert_eq!(
            derive_id(
                "",
                "https://www.chinanews.com.cn/rss/scroll-news.xml",
                &none
            ),
            "chinanews-com-cn-rss-scroll-news"
        );
        // Two feeds on one host (and port) get two ids.
        assert_eq!(
            derive_id("", "http://127.0.0.1:19001/feeds/a.xml", &none),
            "127-0-0-1-19001-feeds-a"
        );
        assert_eq!(
            derive_id("", "http://127.0.0.1:19001/feeds/b.xml", &none),
            "127-0-0-1-19001-feeds-b"
        );
        let taken = |s: &str| s == "abc" || s == "abc-2";
        assert_eq!(derive_id("ABC", "https://x/", &taken), "abc-3");
    }

    #[test]
    fn chinese_names_give_pinyin_ids_a_person_can_type() {
        let none = |_: &str| false;
        assert_eq!(
            derive_id(
                "中国新闻网-滚动新闻",
                "https://www.chinanews.com.cn/rss/scroll-news.xml",
                &none
            ),
            "zhongguo-xinwen-wang-gundong-xinwen"
        );
        // Traditional characters, and Latin letters kept as they are.
        // Words whose first character reads otherwise alone.
        assert_eq!(
            derive_id("重庆日报", "https://x/", &none),
            "chongqing-ribao"
        );
        assert_eq!(
            derive_id("長沙晚報", "https://x/", &none),
            "changsha-wanbao"
        );
        assert_eq!(
            derive_id("中国建设银行报", "https://x/", &none),
            "zhongguo-jianshe-yinhang-bao"
        );
        assert_eq!(
            derive_id("聯合新聞網 RSS", "https://x/", &none),
            "lianhe-xinwen-wang-rss"
        );
        let taken = |s: &str| s == "xinhua-wang";
        assert_eq!(derive_id("新华网", "https://x/", &taken), "xinhua-wang-2");
        // Long names are cut between words, never inside one.
        let long = derive_id(&"人民日报海外版 ".repeat(6), "https://x/", &none);
        assert!(long.len() <= ID_LEN && !long.ends_with('-'), "{long}");
        assert!(long.starts_with("renmin-ribao-haiwai-ban-"), "{long}");
        assert!(crate::config::valid_id(&long), "{long}");
        // Punctuation only: the URL names it.
        assert_eq!(
            derive_id("——", "https://a.example/feed.xml", &none),
            "a-example-feed"
        );
    }
}
