//! The topic query language: parser and matcher of one query. Pure; used by
//! `config` (validation) and `topics` (membership).
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*        adjacent terms mean AND
//! unary   := "NOT" unary | primary
//! primary := "(" or ")" | term
//! term    := ["title:"] (word | "quoted phrase")
//! ```
//!
//! A query of `*` alone matches every story: the "everything" river.
//!
//! Terms are substrings (Chinese has no word spaces: `教育` matches `教育部`),
//! normalized like story text (NFKC, case-folded), and matched against the
//! story's normalized title and text, in which boilerplate is already gone.
//! Hand-written: the language is ours (CJK substrings, `title:`), tiny, and
//! its error messages must name the position; no crate does exactly this.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// `*`: every story.
    All,
    Term {
        text: String,
        title_only: bool,
    },
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// A malformed query: where, and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryError {
    /// 1-based character position in the query.
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at character {}: expected {}, found {}",
            self.position, self.expected, self.found
        )
    }
}

impl std::error::Error for QueryError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word { text: String, title: bool },
    Phrase { text: String, title: bool },
    And,
    Or,
    Not,
    Open,
    Close,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Word { text, .. } => format!("term {text:?}"),
            Tok::Phrase { text, .. } => format!("phrase \"{text}\""),
            Tok::And => "AND".into(),
            Tok::Or => "OR".into(),
            Tok::Not => "NOT".into(),
            Tok::Open => "'('".into(),
            Tok::Close => "')'".into(),
        }
    }
}

/// Normalizes a term (or a title) the way story text is normalized, and
/// in Simplified script (`text::simplified`), so that a query in
/// either script matches both.
pub fn normalize_term(s: &str) -> String {
    let s: String = s.nfkc().collect::<String>().to_lowercase();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::simplified(&s).into_owned()
}

/// A story's normalized text in the form queries match (Simplified script).
pub fn match_text(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::simplified(text)
}

fn tokenize(q: &str) -> Result<Vec<(usize, Tok)>, QueryError> {
    let chars: Vec<char> = q.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i + 1;
        match c {
            '(' | '（' => {
                toks.push((start, Tok::Open));
                i += 1;
            }
            ')' | '）' => {
                toks.push((start, Tok::Close));
                i += 1;
            }
            _ => {
                // A word, possibly "title:" followed by a word or a phrase.
                let mut title = false;
                let rest: String = chars[i..].iter().take(6).collect();
                if rest.eq_ignore_ascii_case("title:") {
                    title = true;
                    i += 6;
                }
                if i < chars.len() && matches!(chars[i], '"' | '“' | '”') {
                    let open_at = i + 1;
                    i += 1;
                    let begin = i;
                    while i < chars.len() && !matches!(chars[i], '"' | '“' | '”') {
                        i += 1;
                    }
                    if i == chars.len() {
                        return Err(QueryError {
                            position: open_at,
                            expected: "a closing '\"'".into(),
                            found: "end of query".into(),
                        });
                    }
                    let text = normalize_term(&chars[begin..i].iter().collect::<String>());
                    i += 1;
                    if text.is_empty() {
                        return Err(QueryError {
                            position: open_at,
                            expected: "text inside the quotes".into(),
                            found: "an empty phrase".into(),
                        });
                    }
                    toks.push((start, Tok::Phrase { text, title }));
                    continue;
                }
                let begin = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '（' | '）' | '"' | '“' | '”')
                {
                    i += 1;
                }
                let word: String = chars[begin..i].iter().collect();
                if word.is_empty() {
                    return Err(QueryError {
                        position: start,
                        expected: "a term after 'title:'".into(),
                        found: describe_char(chars.get(i)),
                    });
                }
                let tok = match (title, word.as_str()) {
                    (false, "AND") => Tok::And,
                    (false, "OR") => Tok::Or,
                    (false, "NOT") => Tok::Not,
                    _ => Tok::Word {
                        text: normalize_term(&word),
                        title,
                    },
                };
                toks.push((start, tok));
            }
        }
    }
    Ok(toks)
}

fn describe_char(c: Option<&char>) -> String {
    c.map(|c| format!("{c:?}"))
        .unwrap_or_else(|| "end of query".into())
}

/// Parentheses and NOTs nest at most this deep. The parser, `matches` and
/// dropping a `Query` all recurse once per level: without a bound a query
/// of 100,000 `(` overflowed the stack and aborted the process.
pub const MAX_DEPTH: usize = 64;

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    end: usize,
    /// Open parentheses and NOTs around the current position.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn error(&self, expected: &str) -> QueryError {
        match self.toks.get(self.pos) {
            Some((at, tok)) => QueryError {
                position: *at,
                expected: expected.into(),
                found: tok.describe(),
            },
            None => QueryError {
                position: self.end,
                expected: expected.into(),
                found: "end of query".into(),
            },
        }
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Tok::And) => {
                    self.pos += 1;
                    parts.push(self.unary()?);
                }
                Some(Tok::Word { .. } | Tok::Phrase { .. } | Tok::Not | Tok::Open) => {
                    parts.push(self.unary()?)
                }
                _ => break,
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if self.peek() == Some(&Tok::Not) {
            self.enter()?;
            self.pos += 1;
            let q = Query::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(q);
        }
        self.primary()
    }

    /// One level deeper, or an error past `MAX_DEPTH`.
    fn enter(&mut self) -> Result<(), QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error(&format!("at most {MAX_DEPTH} nested parentheses and NOTs")));
        }
        self.depth += 1;
        Ok(())
    }

    fn primary(&mut self) -> Result<Query, QueryError> {
        match self.peek().cloned() {
            Some(Tok::Open) => {
                self.enter()?;
                self.pos += 1;
                let q = self.or()?;
                if self.peek() != Some(&Tok::Close) {
                    return Err(self.error("')' or an operator"));
                }
                self.pos += 1;
                self.depth -= 1;
                Ok(q)
            }
            Some(Tok::Word { text, title } | Tok::Phrase { text, title }) => {
                self.pos += 1;
                Ok(Query::Term {
                    text,
                    title_only: title,
                })
            }
            _ => Err(self.error("a term, a \"phrase\", NOT or '('")),
        }
    }
}

impl Query {
    /// Parses a query; the error names the position and what was expected.
    pub fn parse(q: &str) -> Result<Query, QueryError> {
        if q.trim() == "*" {
            return Ok(Query::All);
        }
        let toks = tokenize(q)?;
        let end = q.chars().count() + 1;
        let mut p = Parser {
            toks,
            pos: 0,
            end,
            depth: 0,
        };
        let query = p.or()?;
        if p.pos < p.toks.len() {
            return Err(p.error("an operator or the end of the query"));
        }
        Ok(query)
    }

    /// Does a story with this normalized title and text match?
    /// Both must already be normalized (`normalize_term` form).
    pub fn matches(&self, title: &str, text: &str) -> bool {
        match self {
            Query::All => true,
            Query::Term {
                text: t,
                title_only,
            } => title.contains(t.as_str()) || (!title_only && text.contains(t.as_str())),
            Query::And(parts) => parts.iter().all(|p| p.matches(title, text)),
            Query::Or(parts) => parts.iter().any(|p| p.matches(title, text)),
            Query::Not(q) => !q.matches(title, text),
        }
    }

    /// The terms that a matching story contains (for `topics preview`).
    pub fn matched_terms(&self, title: &str, text: &str, out: &mut Vec<String>) {
        match self {
            Query::Term {
                text: t,
                title_only,
            } => {
                if (title.contains(t.as_str()) || (!title_only && text.contains(t.as_str())))
                    && !out.contains(t)
                {
                    out.push(t.clone());
                }
            }
            Query::And(parts) | Query::Or(parts) => {
                parts.iter().for_each(|p| p.matched_terms(title, text, out))
            }
            Query::Not(_) | Query::All => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(q: &str, title: &str, text: &str) -> bool {
        Query::parse(q)
            .unwrap()
            .matches(&normalize_term(title), &normalize_term(text))
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let q = Query::parse("a b OR c").unwrap();
        assert_eq!(
            q,
            Query::Or(vec![
                Query::And(vec![
                    Query::Term {
                        text: "a".into(),
                        title_only: false
                    },
                    Query::Term {
                        text: "b".into(),
                        title_only: false
                    }
                ]),
                Query::Term {
                    text: "c".into(),
                    title_only: false
                }
            ])
        );
        assert!(m("a b OR c", "", "c"));
        assert!(!m("a b OR c", "", "a"));
        assert!(m("a AND (b OR c)", "", "a c"));
    }

    #[test]
    fn cjk_substrings_not_and_title() {
        assert!(m("教育", "", "教育部发布通知"));
        assert!(m(
            "京津冀 AND 教育 AND (协同 OR 合作)",
            "",
            "京津冀教育协同发展"
        ));
        assert!(!m("京津冀 NOT 教育", "", "京津冀教育协同发展"));
        assert!(m("title:会议", "工作会议召开", "正文"));
        assert!(!m("title:会议", "召开", "工作会议"));
        assert!(m("title:\"work meeting\"", "The Work  Meeting", ""));
    }

    #[test]
    fn full_width_and_case_fold() {
        assert!(m("ＡＩ ２０２６", "", "ai大会在2026年召开"));
        assert!(m("\"new york\"", "", "NEW YORK times"));
    }

    #[test]
    fn a_star_alone_is_every_story_and_elsewhere_an_error() {
        assert_eq!(Query::parse(" * ").unwrap(), Query::All);
        assert!(m("*", "", ""));
        assert!(m("*", "任何标题", "任何正文"));
        // `*` is no wildcard inside a query.
        assert!(!m("教育 *", "教育", "教育"));
    }

    #[test]
    fn errors_name_position_and_expectation() {
        let e = Query::parse("京津冀 AND (教育 OR").unwrap_err();
        assert_eq!(e.position, 15); // just past the last of its 14 characters
        assert!(e.expected.contains("term"), "{e}");
        assert_eq!(e.found, "end of query");
        let e = Query::parse("a ) b").unwrap_err();
        assert_eq!((e.position, e.found.as_str()), (3, "')'"));
        let e = Query::parse("\"open").unwrap_err();
        assert_eq!(e.position, 1);
        assert!(Query::parse("").is_err());
        assert!(Query::parse("a AND").is_err());
    }

    /// Found while writing the parser's fuzz target (fuzz/fuzz_targets/
    /// query.rs; its inputs stayed too short to reach this depth): the
    /// input aborted the process with a stack overflow.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let q = "(".repeat(100_000) + "a" + &")".repeat(100_000);
        let e = Query::parse(&q).unwrap_err();
        assert!(e.expected.contains("nested"), "{e}");
        assert_eq!(e.position, MAX_DEPTH + 1);
        let q = "NOT ".repeat(100_000) + "a";
        assert!(Query::parse(&q).is_err());
        let ok = "(".repeat(MAX_DEPTH) + "a" + &")".repeat(MAX_DEPTH);
        assert!(Query::parse(&ok).unwrap().matches("a", ""));
        let ok = "NOT ".repeat(MAX_DEPTH) + "a";
        assert!(Query::parse(&ok).unwrap().matches("a", ""));
    }
}
