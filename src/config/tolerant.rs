//! Reading the file into `raw` key by key: serde stops at the first value
//! of the wrong type (`tags = "national"` where a list belongs), which
//! would hide every other problem of the file. Here each such value is one
//! problem (its line, column and key), taken out of the document, and the
//! document is read again, until it reads; `validate` then finds the rest.

use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::types::Problem;
use super::unknown::{Segment, segments};
use super::validate::LineIndex;

/// A document with more wrong values than this is not worth reading on.
const MAX_TYPE_ERRORS: usize = 200;

/// What `read` made of the document.
pub(super) struct Read<T> {
    pub(super) value: T,
    /// Keys no struct knows (for `unknown`'s did-you-mean).
    pub(super) unknown: Vec<Vec<Segment>>,
    /// Values of the wrong type, each taken out before reading again.
    pub(super) problems: Vec<Problem>,
}

/// Reads `root` into `T`, taking out every value serde refuses (each one
/// problem). `Err`: an error that names no value of the document (its
/// problems so far, and that one last).
pub(super) fn read<'a, T: DeserializeOwned>(
    mut root: Spanned<DeTable<'a>>,
    lines: &LineIndex,
) -> Result<Read<T>, Vec<Problem>> {
    let mut problems = Vec::new();
    loop {
        let mut unknown: Vec<Vec<Segment>> = Vec::new();
        let result: Result<T, toml::de::Error> =
            serde_ignored::deserialize(toml::de::Deserializer::from(root.clone()), |path| {
                unknown.push(segments(&path))
            });
        let e = match result {
            Ok(value) => {
                return Ok(Read {
                    value,
                    unknown,
                    problems,
                });
            }
            Err(e) => e,
        };
        let message = one_line(e.message());
        let taken = e
            .span()
            .filter(|_| problems.len() < MAX_TYPE_ERRORS)
            .and_then(|span| take_out(root.get_mut(), &span, "").map(|key| (span, key)));
        let Some((span, key)) = taken else {
            let (line, column) = e.span().map(|s| lines.at(s.start)).unwrap_or((1, 1));
            problems.push(Problem {
                line,
                column,
                key: String::new(),
                message,
            });
            return Err(problems);
        };
        let (line, column) = lines.at(span.start);
        problems.push(Problem {
            line,
            column,
            key,
            message,
        });
    }
}

/// serde's message on one line, its type names as the TOML file says them.
fn one_line(message: &str) -> String {
    let mut m = message.trim().replace('\n', "; ");
    for (serde, toml) in [
        (
            "expected a sequence",
            "expected a list such as [\"a\", \"b\"]",
        ),
        ("expected i64", "expected a whole number"),
        ("expected f64", "expected a number"),
        ("expected a boolean", "expected true or false"),
        ("invalid type: sequence", "invalid type: list"),
        ("invalid type: map", "invalid type: table"),
    ] {
        m = m.replace(serde, toml);
    }
    m
}

/// Whether `outer` holds `inner`.
fn holds(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    outer.start <= inner.start && inner.end <= outer.end
}

/// Takes the key whose value holds `span` out of `table` (looking inside
/// tables and arrays of tables, whose spans need not cover their keys);
/// returns its path as `source[1].tags`.
fn take_out<'a>(table: &mut DeTable<'a>, span: &Range<usize>, prefix: &str) -> Option<String> {
    let mut remove: Option<String> = None;
    for (key, value) in table.iter_mut() {
        let name = key.get_ref().to_string();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        let here = holds(&value.span(), span);
        let inner = match value.get_mut() {
            DeValue::Table(t) => take_out(t, span, &path),
            DeValue::Array(items)
                if items
                    .iter()
                    .any(|i| matches!(i.get_ref(), DeValue::Table(_))) =>
            {
                items
                    .iter_mut()
                    .enumerate()
                    .find_map(|(i, item)| match item.get_mut() {
                        DeValue::Table(t) => take_out(t, span, &format!("{path}[{i}]")),
                        _ => None,
                    })
            }
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
        if here && !matches!(value.get_ref(), DeValue::Table(_)) {
            remove = Some(name);
            break;
        }
    }
    let name = remove?;
    table.remove(name.as_str());
    Some(if prefix.is_empty() {
        name
    } else {
        format!("{prefix}.{name}")
    })
}
