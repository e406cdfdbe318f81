//! Reads and validates `config.toml` into typed structs. Nothing else in the
//! crate reads TOML. Every error names the file, the line and the key.
//!
//! `types`: the validated configuration; `raw`: the file as written;
//! `tolerant`: the file read into `raw` with each value of the wrong type
//! one problem (not the end of reading); `validate`: one into the other,
//! section by section, and the warnings (likely mistakes: a topic left
//! silently empty); `unknown`: unknown keys and what they likely meant. This file reads the file and puts those
//! together (`Config::load`).

use std::path::{Path, PathBuf};

mod raw;
mod tolerant;
mod types;
mod unknown;
mod validate;

pub use types::{
    Config, ConfigError, Display, Fetch, Normalize, Problem, Schedule, Server, Source, Storage,
    Topic,
};
pub use validate::{
    DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PAGES_PER_POLL, DEFAULT_USER_AGENT, is_postgres_url,
    parse_cron, system_zone, valid_id,
};

use raw::RawConfig;
use types::render_problems;
use unknown::{Segment, closest, key_span, known_keys};
use validate::{LineIndex, Validator};

/// The keys a `[[source]]` table may have (what `check` knows), for the
/// commands that edit one (`sources set`).
pub fn source_keys() -> &'static [&'static str] {
    unknown::SOURCE_KEYS
}

/// The keys a `[[topic]]` table may have.
pub fn topic_keys() -> &'static [&'static str] {
    unknown::TOPIC_KEYS
}

/// The known key a typo most likely meant: `check`'s did-you-mean.
pub fn did_you_mean<'a>(typo: &str, known: &[&'a str]) -> Option<&'a str> {
    closest(typo, known)
}

impl Config {
    /// What `check` tests beyond the file itself: that `[server].output_dir`
    /// can be written (a probe file is created and removed).
    /// Not part of `load`: an admin command run by another user need not be
    /// able to write where the daemon writes.
    pub fn environment_problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Some(dir) = &self.server.output_dir {
            // Nothing is created: a missing folder is judged by the nearest
            // existing one above it (the daemon would create the rest).
            let probe = || -> std::io::Result<()> {
                let existing = dir
                    .ancestors()
                    .find(|d| d.exists())
                    .unwrap_or(Path::new("."));
                if !existing.is_dir() {
                    return Err(std::io::Error::other(format!(
                        "{} is not a folder",
                        existing.display()
                    )));
                }
                let name = existing.join(format!(".newsriver-check-{}", std::process::id()));
                std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&name)?;
                std::fs::remove_file(&name)
            };
            if let Err(e) = probe() {
                let (line, column) = self.server.output_dir_at;
                problems.push(Problem {
                    line,
                    column,
                    key: "server.output_dir".into(),
                    message: format!("{} is not writable: {e}", dir.display()),
                });
            }
        }
        problems
    }

    /// Problems found after loading, in the same `file:line:col: key:
    /// message` form as load errors.
    pub fn render_problems(&self, problems: &[Problem]) -> String {
        render_problems(&self.path, problems)
    }

    /// Warnings in the form `check` prints them: `file:line:col: warning:
    /// key: message`, one a line.
    pub fn render_warnings(&self, warnings: &[Problem]) -> String {
        warnings
            .iter()
            .map(|w| {
                format!(
                    "{}:{}:{}: warning: {w}",
                    self.path.display(),
                    w.line,
                    w.column
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_str_at(&text, path)
    }

    /// Validates `text` as if it were read from `path` (relative paths in it
    /// resolve against `path`'s folder).
    pub fn from_str_at(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let lines = LineIndex::new(text);
        let invalid = |problems| ConfigError::Invalid {
            path: path.to_path_buf(),
            problems,
        };
        let syntax = |e: toml::de::Error| {
            let (line, column) = e.span().map(|s| lines.at(s.start)).unwrap_or((1, 1));
            invalid(vec![Problem {
                line,
                column,
                key: String::new(),
                message: e.message().trim().replace('\n', "; "),
            }])
        };
        let root = toml::de::DeTable::parse(text).map_err(syntax)?;
        // A value of the wrong type is one problem, taken out, and the rest
        // is read on; unknown keys are collected (not fatal at once): one
        // run of `check` reports them together with every other problem.
        let read = tolerant::read::<RawConfig>(root.clone(), &lines).map_err(invalid)?;
        let (raw, unknown) = (read.value, read.unknown);
        let base_dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let mut v = Validator {
            lines: &lines,
            text,
            problems: read.problems,
            warnings: Vec::new(),
        };
        for path in &unknown {
            let (span, shown) = key_span(root.get_ref(), path);
            let name = match path.last() {
                Some(Segment::Key(k)) => k.clone(),
                _ => shown.clone(),
            };
            let parent = &path[..path.len().saturating_sub(1)];
            let known = known_keys(parent);
            let hint = closest(&name, known)
                .map(|k| format!("; did you mean `{k}`?"))
                .unwrap_or_else(|| format!("; known keys here: {}", known.join(", ")));
            v.problem(span, shown, format!("unknown key `{name}`{hint}"));
        }
        let config = v.config(raw, path, &base_dir);
        if v.problems.is_empty() {
            Ok(config)
        } else {
            v.problems.sort_by_key(|p| (p.line, p.column));
            Err(invalid(v.problems))
        }
    }

    /// The sources that a poll covers: all enabled ones, or exactly the named ones.
    pub fn sources_to_poll(&self, only: &[String]) -> Result<Vec<Source>, String> {
        if only.is_empty() {
            return Ok(self.sources.iter().filter(|s| s.enabled).cloned().collect());
        }
        let mut out = Vec::new();
        for id in only {
            match self.sources.iter().find(|s| s.id.0 == *id) {
                Some(s) => out.push(s.clone()),
                None => {
                    return Err(format!(
                        "no source with id {id:?} in {}",
                        self.path.display()
                    ));
                }
            }
        }
        Ok(out)
    }

    pub fn source(&self, id: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.id.0 == id)
    }
}

#[cfg(test)]
mod tests {
    use super::validate::parse_offset;
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_str_at(text, Path::new("/etc/newsriver/config.toml"))
    }

    fn problems(text: &str) -> Vec<Problem> {
        match load(text) {
            Err(ConfigError::Invalid { problems, .. }) => problems,
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn retention_days_is_optional_and_positive() {
        let src = "[[source]]\nid = \"a\"\nurl = \"https://example.org/feed.xml\"\n";
        assert_eq!(load(src).unwrap().storage.retention_days, None);
        let c = load(&format!("[storage]\nretention_days = 30\n{src}")).unwrap();
        assert_eq!(c.storage.retention_days, Some(30));
        let p = problems(&format!("[storage]\nretention_days = 0\n{src}"));
        assert_eq!(
            (p[0].line, p[0].key.as_str()),
            (2, "storage.retention_days")
        );
        assert!(p[0].message.contains("at least 1"), "{}", p[0].message);
    }

    #[test]
    fn minimal_config_has_defaults_and_resolves_db_path() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"https://example.org/feed.xml\"\n").unwrap();
        assert_eq!(c.storage.path, PathBuf::from("/etc/newsriver/newsriver.db"));
        assert_eq!(c.fetch.concurrency, 32);
        assert_eq!(c.sources[0].name, "a");
        assert!(c.sources[0].enabled);
    }

    #[test]
    fn unknown_key_names_line_and_suggests() {
        let p = problems("[fetch]\nconcurrency = 4\nconcurency = 5\n");
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].line, p[0].key.as_str()), (3, "fetch.concurency"));
        assert!(
            p[0].message.contains("did you mean `concurrency`"),
            "{}",
            p[0].message
        );
        let p = problems(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n[[source]]\nid = \"b\"\nurl = \"https://y.org/\"\ncolour = 1\n",
        );
        assert_eq!((p[0].line, p[0].key.as_str()), (7, "source[1].colour"));
    }

    #[test]
    fn unknown_keys_are_reported_with_the_other_problems() {
        let p = problems("[fetch]\nbogus = 1\n[[source]]\nid = \"a\"\nurl = \"nope\"\n");
        let keys: Vec<_> = p.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, vec!["fetch.bogus", "source[0].url"]);
    }

    #[test]
    fn duplicate_ids_bad_urls_and_cron_are_all_reported() {
        let text = r#"
[[source]]
id = "a"
url = "https://example.org/a.xml"

[[source]]
id = "a"
url = "htp:/nope"
schedule = "every minute"
encoding = "klingon"
"#;
        let p = problems(text);
        let lines: Vec<_> = p.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            lines,
            vec![
                (7, "source[1].id"),
                (8, "source[1].url"),
                (9, "source[1].schedule"),
                (10, "source[1].encoding")
            ]
        );
        assert!(p[0].message.contains("first used on line 3"));
    }

    #[test]
    fn error_display_has_file_and_line() {
        let e = load("[[source]]\nid = \"Bad Id\"\nurl = \"https://x.org/\"\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("/etc/newsriver/config.toml:2:"), "{s}");
        assert!(s.contains("source[0].id"), "{s}");
    }

    #[test]
    fn malformed_query_names_topic_and_position() {
        let p = problems("[[topic]]\nslug = \"edu\"\ntitle = \"E\"\nquery = '京津冀 AND (教育'\n");
        assert_eq!((p[0].line, p[0].key.as_str()), (4, "topic[0].query"));
        assert!(
            p[0].message.contains("\"edu\"") && p[0].message.contains("character"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn gb2312_label_is_gbk() {
        let c =
            load("[fetch]\nallow_file_urls = true\n[[source]]\nid = \"a\"\nurl = \"file:///tmp/a.xml\"\nencoding = \"gb2312\"\n")
                .unwrap();
        assert_eq!(c.sources[0].encoding, Some(encoding_rs::GBK));
    }

    #[test]
    fn file_urls_need_allow_file_urls() {
        let p = problems("[[source]]\nid = \"a\"\nurl = \"file:///etc/passwd\"\n");
        assert_eq!((p[0].line, p[0].key.as_str()), (3, "source[0].url"));
        assert!(p[0].message.contains("allow_file_urls"), "{}", p[0].message);
        let c = load("[fetch]\nallow_file_urls = true\n[[source]]\nid = \"a\"\nurl = \"file:///tmp/a.xml\"\n")
            .unwrap();
        assert!(c.fetch.allow_file_urls);
    }

    #[test]
    fn only_http_https_and_file_schemes() {
        for url in [
            "ftp://example.org/f.xml",
            "javascript:alert(1)",
            "data:text/xml,<rss/>",
            "gopher://x.org/",
        ] {
            let p = problems(&format!("[[source]]\nid = \"a\"\nurl = {url:?}\n"));
            assert_eq!(
                (p[0].line, p[0].key.as_str()),
                (3, "source[0].url"),
                "{url}"
            );
            assert!(
                p[0].message.contains("unsupported scheme"),
                "{url}: {}",
                p[0].message
            );
        }
    }

    #[test]
    fn per_source_private_allowance() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"http://10.0.0.5/feed\"\nallow_private_addresses = true\n[[source]]\nid = \"b\"\nurl = \"https://x.org/\"\n")
            .unwrap();
        assert!(c.sources[0].allow_private_addresses);
        assert!(!c.sources[1].allow_private_addresses);
        assert!(!c.fetch.allow_private_addresses);
    }

    #[test]
    fn a_value_of_the_wrong_type_hides_no_other_problem() {
        let p = problems(
            "[fetch]\nconcurrency = \"4\"\n[[source]]\nid = \"a\"\nurl = \"nope\"\ntags = \"national\"\n\
             [[topic]]\nslug = 5\ntitle = \"T\"\nquery = \"q\"\n[[topic]]\nslug = \"b\"\n",
        );
        let got: Vec<_> = p.iter().map(|p| (p.line, p.key.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (2, "fetch.concurrency"),
                (5, "source[0].url"),
                (6, "source[0].tags"),
                (8, "topic[0].slug"),
                (11, "topic[1].title"),
                (11, "topic[1].query"),
            ],
            "{p:?}"
        );
        assert!(p[0].message.contains("expected a whole number"), "{p:?}");
        assert!(p[2].message.contains("expected a list"), "{p:?}");
        assert!(p[4].message.contains("missing"), "{p:?}");
    }

    #[test]
    fn lowercase_operators_are_found_outside_phrases() {
        use super::validate::lowercase_operators;
        let words = |q: &str| -> Vec<(String, usize)> { lowercase_operators(q) };
        assert_eq!(words("京津冀 and 教育"), vec![("and".to_string(), 10)]);
        assert_eq!(
            words("(a Or b) not c AND \"x and y\" NOT d"),
            vec![("Or".to_string(), 3), ("not".to_string(), 9)]
        );
        assert!(lowercase_operators("android OR 教育 AND NOT orange").is_empty());
        // The warning points at the word, where the string is written as
        // it reads; at the value where an escape comes first.
        let at = |query: &str| {
            let c = load(&format!(
                "[[topic]]\nslug = \"t\"\ntitle = \"T\"\nquery = {query}\n"
            ))
            .unwrap();
            (c.warnings[0].line, c.warnings[0].column)
        };
        // (Columns count bytes, as everywhere in `check`: 教育 is 6.)
        assert_eq!(at("'教育 or 科技'"), (4, 17));
        assert_eq!(at("\"教育 or 科技\""), (4, 17));
        assert_eq!(at("\"\"\"教育 or 科技\"\"\""), (4, 19));
        assert_eq!(at("\"\\u6559育 or 科技\""), (4, 9));
    }

    #[test]
    fn topic_warnings_do_not_stop_loading() {
        let c = load(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntags = [\"national\"]\n\
             [[topic]]\nslug = \"t\"\ntitle = \"T\"\nquery = \"a or b\"\ntags = [\"nationl\", \"national\"]\n",
        )
        .expect("warnings are no problems");
        let keys: Vec<_> = c
            .warnings
            .iter()
            .map(|w| (w.line, w.key.as_str()))
            .collect();
        assert_eq!(keys, vec![(8, "topic[0].query"), (9, "topic[0].tags")]);
        assert!(c.warnings[1].message.contains("did you mean \"national\"?"));
        assert_eq!(c.topics[0].at, (6, 8));
    }

    #[test]
    fn cron_lines_of_five_fields_fire_at_second_zero() {
        use chrono::{TimeZone, Timelike, Utc};
        let after = Utc.with_ymd_and_hms(2026, 12, 4, 10, 7, 13).unwrap();
        let next = parse_cron("*/15 * * * *")
            .unwrap()
            .after(&after)
            .next()
            .unwrap();
        assert_eq!((next.minute(), next.second()), (15, 0));
        assert!(parse_cron("0 */15 * * * *").is_ok());
        assert!(parse_cron("0 0 6 * * Mon-Fri 2026").is_ok());
        assert!(parse_cron("@hourly").is_ok());
        assert!(parse_cron("*/15 * * *").is_err());
        let c = load("[schedule]\ndefault = \"30 6 * * 1-5\"\n").unwrap();
        let next = c.schedule.default.after(&after).next().unwrap();
        assert_eq!((next.hour(), next.minute(), next.second()), (6, 30, 0));
    }

    #[test]
    fn display_times_carry_the_zone_offset() {
        use chrono::{NaiveDate, TimeZone, Utc};
        let c = load("[display]\ntimezone = \"Asia/Shanghai\"\n").unwrap();
        let t = Utc.with_ymd_and_hms(2026, 12, 3, 10, 10, 0).unwrap();
        assert_eq!(c.display.time(t), "2026-12-03 18:10:00 +08:00");
        assert_eq!(c.display.minute(t), "2026-12-03 18:10 +08:00");
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            c.display.start_of(day),
            Some(Utc.with_ymd_and_hms(2026, 12, 3, 16, 0, 0).unwrap())
        );
        // A zone that skips midnight (Cuba's spring forward): its first hour.
        let havana = Display {
            timezone: chrono_tz::America::Havana,
        };
        let skipped = NaiveDate::from_ymd_opt(2026, 3, 8).unwrap();
        assert_eq!(
            havana.start_of(skipped).map(|t| havana.time(t)),
            Some("2026-03-08 01:00:00 -04:00".to_string())
        );
        let p = problems("[display]\ntimezone = \"+08:00\"\n");
        assert_eq!((p[0].line, p[0].key.as_str()), (2, "display.timezone"));
    }

    #[test]
    fn timezones_are_utc_offsets() {
        let c = load("[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"+09:00\"\n")
            .expect("valid");
        assert_eq!(
            c.sources[0].timezone,
            chrono::FixedOffset::east_opt(9 * 3600)
        );
        for (text, secs) in [
            ("UTC", 0),
            ("-0530", -19800),
            ("+8", 28800),
            ("+08:00", 28800),
        ] {
            assert_eq!(
                parse_offset(text),
                chrono::FixedOffset::east_opt(secs),
                "{text}"
            );
        }
        for bad in ["Asia/Shanghai", "+25:00", "8", "+08:75", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        let err = load(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\ntimezone = \"Asia/Shanghai\"\n",
        )
        .expect_err("invalid");
        assert!(
            err.to_string().contains("4:12: source[0].timezone"),
            "{err}"
        );
    }
}
