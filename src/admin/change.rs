//! `sources remove|enable|disable|tag`: one locked, validated, atomic edit
//! of the config each (`edit::ConfigEdit`), and `--purge`'s database work.

use super::AdminError;
use crate::config::Config;
use crate::edit::{ConfigEdit, EditError};
use crate::pipeline::PipelineError;

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
    if purge && !config.storage.path.exists() {
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
