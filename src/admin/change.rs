//! `sources remove|enable|disable|tag|set|rename`: one locked, validated,
//! atomic edit of the config each (`edit::ConfigEdit`), and the database
//! work of `remove --purge` and `rename`.

use super::AdminError;
use crate::config::Config;
use crate::edit::{ConfigEdit, EditError};
use crate::model::SourceId;
use crate::pipeline::PipelineError;
use crate::store::StoreError;

/// One locked, validated, atomic edit of the config.
pub fn edit_one(
    config: &Config,
    change: impl FnOnce(&mut ConfigEdit) -> Result<(), EditError>,
) -> Result<Config, AdminError> {
    let mut edit = ConfigEdit::open(&config.path)?;
    change(&mut edit)?;
    Ok(edit.save()?)
}

/// `sources enable ID` / `sources disable ID`.
pub fn set_enabled(config: &Config, id: &str, enabled: bool) -> Result<String, AdminError> {
    edit_one(config, |e| e.set_enabled(id, enabled))?;
    Ok(format!(
        "{} source {id}\n",
        if enabled { "enabled" } else { "disabled" }
    ))
}

/// `sources tag ID +T -T …`: `+T` (or `T`) adds, `-T` removes. Prints the
/// tags the source has after the edit.
pub fn retag(config: &Config, id: &str, changes: &[String]) -> Result<String, AdminError> {
    let mut add = Vec::new();
    let mut remove = Vec::new();
    for c in changes {
        match c.strip_prefix('-') {
            _ if c == "--reload" => {
                return Err(AdminError::Refused(
                    "put --reload before the source id".to_string(),
                ));
            }
            Some(t) if !t.is_empty() => remove.push(t.to_string()),
            _ => match c.strip_prefix('+').unwrap_or(c) {
                "" => return Err(AdminError::Refused(format!("empty tag in {c:?}"))),
                t => add.push(t.to_string()),
            },
        }
    }
    let new = edit_one(config, |e| e.retag(id, &add, &remove))?;
    let tags = new
        .source(id)
        .map(|s| s.tags.join(", "))
        .unwrap_or_default();
    Ok(format!(
        "source {id} tags: {}\n",
        if tags.is_empty() { "-" } else { &tags }
    ))
}

/// `sources remove ID [--purge]`: the config first (so the daemon stops
/// polling it), then the stored copies. `--purge` of an id that has already
/// left the config only purges.
pub fn remove_source(config: &Config, id: &str, purge: bool) -> Result<String, AdminError> {
    if purge && config.storage.postgres.is_none() && !config.storage.path.exists() {
        // Before the config is touched: nothing half done.
        return Err(PipelineError::NoDatabase(crate::pipeline::missing_database(config)).into());
    }
    let mut out = String::new();
    let new_config = if config.source(id).is_some() || !purge {
        let new = edit_one(config, |e| e.remove_source(id))?;
        out += &format!("removed source {id} from {}\n", config.path.display());
        new
    } else {
        config.clone()
    };
    if !purge {
        out += "its stories stay; `--purge` would delete them\n";
        return Ok(out);
    }
    let known = crate::pipeline::open_reader(&new_config)?.has_source(&id.into())?;
    let (mut store, _) = crate::pipeline::open_existing_writer(&new_config)?;
    if !known && out.is_empty() {
        return Err(AdminError::Unknown(format!(
            "no source with id {id:?} in {} or the database",
            config.path.display()
        )));
    }
    let (copies, stories) = store
        .purge_source(&id.into())
        .map_err(|source| AdminError::Purge {
            id: id.to_string(),
            source: Box::new(source),
        })?;
    out += &format!(
        "purged {copies} cop{} of {id}, and {stories} stor{} no other source carried\n",
        if copies == 1 { "y" } else { "ies" },
        if stories == 1 { "y" } else { "ies" },
    );
    Ok(out)
}

/// `sources set ID KEY=VALUE… [--unset KEY]…`: each value read in its key's
/// type (`edit::parse_source_setting`), the whole edit validated as `check`
/// would, then written at once (or not at all). Prints each change with
/// the value it replaced.
pub fn sources_set(
    config: &Config,
    id: &str,
    settings: &[String],
    unset: &[String],
) -> Result<String, AdminError> {
    if settings.is_empty() && unset.is_empty() {
        return Err(AdminError::Refused(format!(
            "nothing to change: give KEY=VALUE or --unset KEY (keys: {})",
            settable_keys().join(", ")
        )));
    }
    let mut set = Vec::new();
    for arg in settings {
        set.push(crate::edit::parse_source_setting(arg)?);
    }
    for key in unset {
        crate::edit::source_key(key)?;
    }
    once_each(
        set.iter()
            .map(|s| s.key.as_str())
            .chain(unset.iter().map(String::as_str)),
    )?;
    let mut lines = Vec::new();
    edit_one(config, |e| {
        for setting in set {
            let line = format!("{} = {}", setting.key, setting.shown());
            let was = e.set_source_key(id, setting)?;
            lines.push(format!("{line} (was {})", was_text(was)));
        }
        for key in unset {
            let was = e.unset_source_key(id, key)?;
            lines.push(format!("{key} unset (was {})", was_text(was)));
        }
        Ok(())
    })?;
    Ok(lines
        .iter()
        .map(|l| format!("source {id}: {l}\n"))
        .collect())
}

/// The keys `sources set` takes.
fn settable_keys() -> Vec<&'static str> {
    crate::config::source_keys()
        .iter()
        .copied()
        .filter(|k| crate::edit::source_key_kind(k).is_some())
        .collect()
}

/// Refuses a key named twice in one command (`name=a name=b`, or set and
/// unset): which one wins would be a guess.
pub(super) fn once_each<'a>(keys: impl Iterator<Item = &'a str>) -> Result<(), AdminError> {
    let mut seen = std::collections::BTreeSet::new();
    for key in keys {
        if !seen.insert(key) {
            return Err(AdminError::Refused(format!(
                "`{key}` is given more than once; nothing was written"
            )));
        }
    }
    Ok(())
}

pub(super) fn was_text(was: Option<String>) -> String {
    was.unwrap_or_else(|| "not set".to_string())
}

/// `sources rename OLD NEW`: the config's id, and the database's history
/// (its row, copies and polls; `store::Writer::rename_source`) in one
/// transaction. The edit is validated first, the database changed next,
/// the config written last; should that write fail, the history is moved
/// back. Without a database (never polled) only the config changes.
pub fn sources_rename(config: &Config, old: &str, new: &str) -> Result<String, AdminError> {
    let mut edit = ConfigEdit::open(&config.path)?;
    edit.rename_source(old, new)?;
    edit.validate()?;
    let path = config.path.display().to_string();
    if config.storage.postgres.is_none() && !config.storage.path.exists() {
        edit.save()?;
        return Ok(format!(
            "renamed source {old} to {new} in {path} (no database yet: nothing else to move)\n"
        ));
    }
    // Opened with the config as it was: its sync knows `old`, not `new`.
    let (mut store, _) = crate::pipeline::open_existing_writer(edit.config())?;
    let (from, to) = (SourceId::from(old), SourceId::from(new));
    let moved = store.rename_source(&from, &to).map_err(|e| match e {
        StoreError::Refused { .. } => AdminError::Refused(format!("{e}; nothing was changed")),
        e => AdminError::Store(e),
    })?;
    if let Err(e) = edit.save() {
        return Err(match store.rename_source(&to, &from) {
            Ok(_) => e.into(),
            Err(back) => AdminError::Refused(format!(
                "{e}; and moving the history back to {old} failed: {back}"
            )),
        });
    }
    let db = config.storage.shown();
    Ok(if moved.known {
        format!(
            "renamed source {old} to {new} in {path}\nmoved its history in {db}: {}, {}\n",
            count(moved.copies, "copy", "copies"),
            count(moved.polls, "poll", "polls")
        )
    } else {
        format!("renamed source {old} to {new} in {path} (never polled: no history to move)\n")
    })
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
