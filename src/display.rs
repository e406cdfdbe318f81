//! Which copy a story shows: the display rule. Pure: a function of the
//! story's current copies (and of the topic's preferences), never of the
//! order they arrived in, so the same set of copies shows the same headline,
//! text, link and date however the outlets were polled. `store` applies it
//! to keep a story's own row (title, link, date: export, ordering,
//! retention) in step with its copies; `publish` applies it per topic.
//!
//! Hand-written: the rule is ours (which outlet speaks for a story), no
//! crate knows it.
//!
//! The trust model it carries out (docs/security.md, "Round three"):
//! - text and headline shown come from one copy, and the entry names that
//!   copy's outlet: attribution by source identity, never by link equality;
//! - a `trust = "low"` source's copies join stories but supply nothing
//!   shown, unless the story has no other copy;
//! - a copy whose link is on its own source's hosts (`owns_link`) wins the
//!   story's link over one that is not;
//! - a copy that arrives late cannot date the story before what the copies
//!   that founded it claim (`story_date`).

/// Seconds after a story's first copy during which other copies still count
/// as founding it (one poll round of every outlet: polls started together
/// finish within this, whatever their order).
pub const FOUNDING_SECS: i64 = 3600;

/// What the rule knows of one copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyFacts<'a> {
    /// The source's id.
    pub source: &'a str,
    /// The copy's item key (unique within its source): the last tie-break.
    pub key: &'a str,
    /// The source is `trust = "low"`.
    pub low_trust: bool,
    /// The copy has an http(s) link.
    pub has_link: bool,
    /// Its link's host is one of its source's own (`owns_link`).
    pub own_link: bool,
    pub has_title: bool,
    /// Length of its normalized text, boilerplate excluded.
    pub text_len: usize,
    /// Its date (unix seconds; when first seen if it had none).
    pub published: i64,
    /// When this copy was first stored (unix seconds).
    pub first_seen: i64,
    /// It is in the topic's script (or the topic has no preference).
    pub in_script: bool,
    /// Its source may speak in this topic (a topic limited by tags: the
    /// source has one of them); always true outside topics.
    pub in_topic: bool,
}

/// What a story shows: indices into the copies given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shown {
    /// Headline and text come from this copy (the same one: one outlet, one
    /// script).
    pub text: Option<usize>,
    /// The headline's copy: the text's, else the link's when the text's has
    /// none.
    pub title: Option<usize>,
    /// The story's link ("first reported by").
    pub link: Option<usize>,
    /// The story's date (`story_date`).
    pub date: i64,
}

/// The copies that may speak: those of the topic's sources and of normal
/// trust; failing that, the topic's; failing that, all.
fn speakers(copies: &[CopyFacts<'_>]) -> Vec<usize> {
    let pick = |f: &dyn Fn(&CopyFacts<'_>) -> bool| -> Vec<usize> {
        (0..copies.len()).filter(|&i| f(&copies[i])).collect()
    };
    let best = pick(&|c| c.in_topic && !c.low_trust);
    if !best.is_empty() {
        return best;
    }
    let topic = pick(&|c| c.in_topic);
    if !topic.is_empty() {
        return topic;
    }
    (0..copies.len()).collect()
}

/// When the story was first seen and whether copy `c` founded it.
fn founding(copies: &[CopyFacts<'_>]) -> impl Fn(&CopyFacts<'_>) -> bool {
    let born = copies.iter().map(|c| c.first_seen).min().unwrap_or(0);
    move |c| c.first_seen <= born.saturating_add(FOUNDING_SECS)
}

/// Each copy's date as the rule believes it: a founding copy's own; a late
/// copy's no earlier than the earliest date the founding copies claim (a
/// copy that arrives later cannot backdate the story).
pub fn credible_dates(copies: &[CopyFacts<'_>]) -> Vec<i64> {
    let founder = founding(copies);
    let floor = copies
        .iter()
        .filter(|c| founder(c))
        .map(|c| c.published)
        .min()
        .unwrap_or(i64::MIN);
    copies
        .iter()
        .map(|c| {
            if founder(c) {
                c.published
            } else {
                c.published.max(floor)
            }
        })
        .collect()
}

/// The story's date: the earliest credible date among the copies of normal
/// trust (of all when it has none). Independent of topic: the same story is
/// at the same place in every feed.
pub fn story_date(copies: &[CopyFacts<'_>]) -> i64 {
    let dates = credible_dates(copies);
    let normal = (0..copies.len()).filter(|&i| !copies[i].low_trust);
    normal
        .map(|i| dates[i])
        .min()
        .or_else(|| dates.iter().copied().min())
        .unwrap_or(0)
}

/// The display rule.
///
/// - Text (and headline): among the copies that may speak (`speakers`), the
///   one in the topic's script, then with the fullest text, then the
///   earliest published, then by source id and item key.
/// - Link: among the same, a copy whose link is its source's own first, then
///   the earliest credible date, founding copies before late ones, then by
///   source id and item key.
pub fn choose(copies: &[CopyFacts<'_>]) -> Shown {
    let pool = speakers(copies);
    let dates = credible_dates(copies);
    let founder = founding(copies);
    let text = pool.iter().copied().min_by(|&a, &b| {
        let (x, y) = (&copies[a], &copies[b]);
        (!x.in_script, x.text_len == 0, std::cmp::Reverse(x.text_len))
            .cmp(&(!y.in_script, y.text_len == 0, std::cmp::Reverse(y.text_len)))
            .then(x.published.cmp(&y.published))
            .then(x.source.cmp(y.source))
            .then(x.key.cmp(y.key))
    });
    let link = pool
        .iter()
        .copied()
        .filter(|&i| copies[i].has_link)
        .min_by(|&a, &b| {
            let (x, y) = (&copies[a], &copies[b]);
            (!x.own_link, dates[a], !founder(x))
                .cmp(&(!y.own_link, dates[b], !founder(y)))
                .then(x.source.cmp(y.source))
                .then(x.key.cmp(y.key))
        });
    let title = text
        .filter(|&i| copies[i].has_title)
        .or(link.filter(|&i| copies[i].has_title))
        .or_else(|| {
            pool.iter()
                .copied()
                .filter(|&i| copies[i].has_title)
                .min_by(|&a, &b| {
                    (copies[a].source, copies[a].key).cmp(&(copies[b].source, copies[b].key))
                })
        });
    Shown {
        text,
        title,
        link,
        date: story_date(copies),
    }
}

/// The site a URL is on: its registrable domain (public suffix list:
/// `news.sina.com.cn` and `k.sina.com.cn` are one, `a.com.cn` and
/// `b.com.cn` are not), or its host when it has none (an IP address,
/// `localhost`).
pub fn site(u: &url::Url) -> Option<String> {
    let host = u.host_str()?.trim_end_matches('.').to_ascii_lowercase();
    if let Some(url::Host::Domain(_)) = u.host()
        && let Some(d) = psl::domain_str(&host)
    {
        return Some(d.to_string());
    }
    Some(host)
}

/// Are both URLs on one site (`site`)?
pub fn same_site(a: &url::Url, b: &url::Url) -> bool {
    matches!((site(a), site(b)), (Some(x), Some(y)) if x == y)
}

/// Is `link` on one of a source's own hosts: the registrable domain of its
/// feed URL, or a host listed in its `link_hosts` (exactly, or a subdomain
/// of it)? A source's own feed cannot vouch for other hosts (the feed's
/// `<link>` to a "site" is the source's claim, not ours).
pub fn owns_link(link: &str, feed_url: &str, link_hosts: &[String]) -> bool {
    url::Url::parse(link.trim()).is_ok_and(|l| owns_url(&l, feed_url, link_hosts))
}

thread_local! {
    /// `site` of each feed URL met (a handful per database): the rule runs
    /// for every copy that joins a story, and parsing the feed's URL and
    /// looking its domain up each time was most of its cost.
    static FEED_SITES: std::cell::RefCell<std::collections::HashMap<String, Option<String>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn feed_site(feed_url: &str) -> Option<String> {
    FEED_SITES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 100_000 {
            m.clear();
        }
        m.entry(feed_url.to_string())
            .or_insert_with(|| url::Url::parse(feed_url.trim()).ok().and_then(|u| site(&u)))
            .clone()
    })
}

/// `owns_link` of a parsed link.
pub fn owns_url(link: &url::Url, feed_url: &str, link_hosts: &[String]) -> bool {
    let Some(host) = link
        .host_str()
        .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
    else {
        return false;
    };
    if let Some(feed) = feed_site(feed_url)
        && site(link).is_some_and(|s| s == feed)
    {
        return true;
    }
    link_hosts.iter().any(|h| {
        let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
        !h.is_empty() && (host == h || host.ends_with(&format!(".{h}")))
    })
}

/// A copy a `Summary` names: its source and item key (which name one copy
/// of a store, and are what the rule breaks ties with).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub source: String,
    pub key: String,
}

impl Named {
    fn of(c: &CopyFacts<'_>) -> Named {
        Named {
            source: c.source.to_string(),
            key: c.key.to_string(),
        }
    }

    /// Is this copy `c`?
    pub fn is(&self, c: &CopyFacts<'_>) -> bool {
        self.source == c.source && self.key == c.key
    }

    fn ties(&self) -> (&str, &str) {
        (&self.source, &self.key)
    }
}

/// The copy whose text (and headline) a story shows, with what ranks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextBest {
    pub copy: Named,
    pub text_len: usize,
    pub published: i64,
    pub has_title: bool,
}

impl TextBest {
    /// `choose`'s text order, lower first (every copy in the script).
    fn rank(&self) -> (bool, std::cmp::Reverse<usize>, i64, (&str, &str)) {
        text_rank(self.text_len, self.published, self.copy.ties())
    }
}

fn text_rank<'a>(
    text_len: usize,
    published: i64,
    ties: (&'a str, &'a str),
) -> (bool, std::cmp::Reverse<usize>, i64, (&'a str, &'a str)) {
    (text_len == 0, std::cmp::Reverse(text_len), published, ties)
}

/// The copy whose link a story shows, with what ranks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkBest {
    pub copy: Named,
    pub own_link: bool,
    /// Its credible date (`credible_dates`).
    pub date: i64,
    pub founder: bool,
    pub has_title: bool,
}

impl LinkBest {
    /// `choose`'s link order, lower first.
    fn rank(&self) -> (bool, i64, bool, (&str, &str)) {
        (!self.own_link, self.date, !self.founder, self.copy.ties())
    }
}

/// What `choose` decided for a story's copies outside any topic, with
/// what it takes to decide again when one more copy joins without reading
/// the others (`Summary::join`): the store keeps it beside the story
/// (`stories.shown`), so a copy joining a story of twenty reads one row
/// instead of twenty. Re-reading every copy at every join was a quarter of
/// the writer's time on the real-length farm (issue 24).
///
/// Hand-written, as the rule it follows is. Exact: `join` answers what
/// `choose` would over all the copies, or `None` when it cannot know
/// without them (then the caller reads them and starts again with `of`);
/// a test checks the two against each other on random stories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The earliest `first_seen` (when the story was born).
    pub born: i64,
    /// The earliest date a founding copy claims.
    pub floor: i64,
    /// Some copy is not a founding one.
    pub late: bool,
    /// Some copy is of normal trust: only those may speak (`speakers`).
    pub normal: bool,
    pub text: Option<TextBest>,
    pub link: Option<LinkBest>,
    /// Among the copies that may speak and have a headline, the first by
    /// source and key: the headline when neither the text's nor the
    /// link's copy has one.
    pub titled: Option<Named>,
    /// The story's date (`story_date`).
    pub date: i64,
}

/// What a `Summary` shows: the copies named, and the date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownCopies<'a> {
    pub text: Option<&'a Named>,
    pub title: Option<&'a Named>,
    pub link: Option<&'a Named>,
    pub date: i64,
}

impl Summary {
    /// The summary of a story's copies, all seen outside any topic
    /// (`in_topic`, `in_script`); `None` when there are none.
    pub fn of(copies: &[CopyFacts<'_>]) -> Option<Summary> {
        debug_assert!(copies.iter().all(|c| c.in_topic && c.in_script));
        let born = copies.iter().map(|c| c.first_seen).min()?;
        let founder = founding(copies);
        let dates = credible_dates(copies);
        let shown = choose(copies);
        let pool = speakers(copies);
        Some(Summary {
            born,
            floor: copies
                .iter()
                .filter(|c| founder(c))
                .map(|c| c.published)
                .min()
                .unwrap_or(i64::MIN),
            late: copies.iter().any(|c| !founder(c)),
            normal: copies.iter().any(|c| !c.low_trust),
            text: shown.text.map(|i| TextBest {
                copy: Named::of(&copies[i]),
                text_len: copies[i].text_len,
                published: copies[i].published,
                has_title: copies[i].has_title,
            }),
            link: shown.link.map(|i| LinkBest {
                copy: Named::of(&copies[i]),
                own_link: copies[i].own_link,
                date: dates[i],
                founder: founder(&copies[i]),
                has_title: copies[i].has_title,
            }),
            titled: pool
                .iter()
                .copied()
                .filter(|&i| copies[i].has_title)
                .min_by(|&a, &b| {
                    (copies[a].source, copies[a].key).cmp(&(copies[b].source, copies[b].key))
                })
                .map(|i| Named::of(&copies[i])),
            date: shown.date,
        })
    }

    /// The summary once copy `c` has joined the story, or
    /// `None` when that needs the other copies: `c` is older than the
    /// story (it would found it anew), or it founds it with an earlier
    /// date while late copies are there (their credible dates move).
    pub fn join(&self, c: &CopyFacts<'_>) -> Option<Summary> {
        debug_assert!(c.in_topic && c.in_script);
        if c.first_seen < self.born {
            return None;
        }
        let mut s = self.clone();
        let founder = c.first_seen <= s.born.saturating_add(FOUNDING_SECS);
        if founder && c.published < s.floor {
            if s.late {
                return None;
            }
            // Every copy founds the story: each one's credible date is its
            // own, whatever the floor.
            s.floor = c.published;
        }
        s.late |= !founder;
        let date = if founder {
            c.published
        } else {
            c.published.max(s.floor)
        };
        if c.low_trust && s.normal {
            // It may not speak; what it changed (floor, late) moved no
            // credible date of a copy that may.
            return Some(s);
        }
        if !c.low_trust && !s.normal {
            // The first copy of normal trust: it alone may speak now.
            s.normal = true;
            s.text = None;
            s.link = None;
            s.titled = None;
            s.date = i64::MAX;
        }
        let ties = (c.source, c.key);
        if s.text
            .as_ref()
            .is_none_or(|t| text_rank(c.text_len, c.published, ties) < t.rank())
        {
            s.text = Some(TextBest {
                copy: Named::of(c),
                text_len: c.text_len,
                published: c.published,
                has_title: c.has_title,
            });
        }
        if c.has_link
            && s.link
                .as_ref()
                .is_none_or(|l| (!c.own_link, date, !founder, ties) < l.rank())
        {
            s.link = Some(LinkBest {
                copy: Named::of(c),
                own_link: c.own_link,
                date,
                founder,
                has_title: c.has_title,
            });
        }
        if c.has_title && s.titled.as_ref().is_none_or(|t| ties < t.ties()) {
            s.titled = Some(Named::of(c));
        }
        s.date = s.date.min(date);
        Some(s)
    }

    /// What the story shows (`choose`'s `Shown`, by copy).
    pub fn shown(&self) -> ShownCopies<'_> {
        let title = match (&self.text, &self.link) {
            (Some(t), _) if t.has_title => Some(&t.copy),
            (_, Some(l)) if l.has_title => Some(&l.copy),
            _ => self.titled.as_ref(),
        };
        ShownCopies {
            text: self.text.as_ref().map(|t| &t.copy),
            title,
            link: self.link.as_ref().map(|l| &l.copy),
            date: self.date,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy<'a>(
        source: &'a str,
        text_len: usize,
        published: i64,
        first_seen: i64,
    ) -> CopyFacts<'a> {
        CopyFacts {
            source,
            key: "k",
            low_trust: false,
            has_link: true,
            own_link: true,
            has_title: true,
            text_len,
            published,
            first_seen,
            in_script: true,
            in_topic: true,
        }
    }

    #[test]
    fn fullest_text_and_earliest_link_whatever_the_order() {
        let a = copy("a", 100, 1_000, 5_000);
        let b = copy("b", 900, 2_000, 5_010);
        let c = copy("c", 900, 1_500, 5_020);
        let orders = [
            vec![a.clone(), b.clone(), c.clone()],
            vec![c.clone(), b.clone(), a.clone()],
            vec![b.clone(), a.clone(), c.clone()],
        ];
        for copies in orders {
            let s = choose(&copies);
            // Equal text lengths: the earlier published (c) speaks.
            assert_eq!(copies[s.text.unwrap()].source, "c");
            assert_eq!(copies[s.title.unwrap()].source, "c");
            assert_eq!(copies[s.link.unwrap()].source, "a");
            assert_eq!(s.date, 1_000);
        }
    }

    #[test]
    fn a_late_copy_cannot_backdate_the_story_or_take_its_link() {
        let trusted = copy("trusted", 500, 1_000_000, 1_000_100);
        // Arrives two days later claiming 1972.
        let late = copy("attacker", 500, 70_000_000, 1_172_900);
        let late = CopyFacts {
            published: 63_072_000,
            ..late
        };
        for copies in [
            vec![trusted.clone(), late.clone()],
            vec![late.clone(), trusted.clone()],
        ] {
            let s = choose(&copies);
            assert_eq!(s.date, 1_000_000);
            assert_eq!(copies[s.link.unwrap()].source, "trusted");
        }
    }

    #[test]
    fn low_trust_and_other_topics_never_speak_while_others_can() {
        let low = CopyFacts {
            low_trust: true,
            ..copy("low", 9_000, 10, 10)
        };
        let outside = CopyFacts {
            in_topic: false,
            ..copy("untagged", 8_000, 5, 10)
        };
        let tagged = copy("tagged", 100, 20, 10);
        let copies = [low.clone(), outside.clone(), tagged];
        let s = choose(&copies);
        assert_eq!(s.text, Some(2));
        assert_eq!(s.link, Some(2));
        assert_eq!(s.date, 5, "dates of every normal copy count");
        // Alone, a low-trust source's story is its own.
        let s = choose(std::slice::from_ref(&low));
        assert_eq!(s.text, Some(0));
    }

    #[test]
    fn an_own_link_beats_a_borrowed_one() {
        let borrowed = CopyFacts {
            own_link: false,
            ..copy("copycat", 100, 1, 1)
        };
        let own = copy("outlet", 100, 50, 1);
        let s = choose(&[borrowed, own]);
        assert_eq!(s.link, Some(1));
    }

    #[test]
    fn the_script_comes_before_length() {
        let trad = CopyFacts {
            in_script: false,
            ..copy("tw", 900, 1, 1)
        };
        let simp = copy("cn", 100, 2, 1);
        assert_eq!(choose(&[trad, simp]).text, Some(1));
    }

    #[test]
    fn own_links_are_on_the_feeds_site_or_listed_hosts() {
        assert!(owns_link(
            "http://society.people.com.cn/n1/2023/1009/c1008.html",
            "http://www.people.com.cn/rss/society.xml",
            &[]
        ));
        assert!(!owns_link(
            "https://www.chinanews.com.cn/sh/2023/10-09/1.shtml",
            "https://evil.example/feed.xml",
            &[]
        ));
        assert!(owns_link(
            "https://www.chinanews.com.cn/sh/2023/10-09/1.shtml",
            "https://rsshub.example/chinanews",
            &["chinanews.com.cn".to_string()]
        ));
        assert!(!owns_link(
            "https://notchinanews.com.cn/x",
            "https://rsshub.example/chinanews",
            &["chinanews.com.cn".to_string()]
        ));
    }

    /// The rule is a function of the set of copies: any order of the same
    /// copies gives the same headline, text, link and date (`proptest`
    /// shuffles them; keys are unique per copy, as (source, item key) is).
    #[test]
    fn the_same_copies_in_any_order_show_the_same() {
        use proptest::prelude::*;
        let copy = (
            0usize..4,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            0i64..5,
            0i64..3,
            any::<bool>(),
            any::<bool>(),
        );
        let sources = ["a", "b", "c", "d"];
        let keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
        proptest!(|(raw in proptest::collection::vec(copy, 1..8), seed in any::<u64>())| {
            let copies: Vec<CopyFacts<'_>> = raw
                .iter()
                .enumerate()
                .map(|(i, &(s, low, link, own, title, len, publ, seen, script, topic))| CopyFacts {
                    source: sources[s],
                    key: keys[i],
                    low_trust: low,
                    has_link: link,
                    own_link: own && link,
                    has_title: title,
                    text_len: len * 100,
                    published: publ * 1800,
                    first_seen: seen * 3000,
                    in_script: script,
                    in_topic: topic,
                })
                .collect();
            let mut shuffled = copies.clone();
            // A Fisher–Yates shuffle from the seed.
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            fn name<'a>(c: &[CopyFacts<'a>], i: Option<usize>) -> Option<&'a str> {
                i.map(|i| c[i].key)
            }
            let (a, b) = (choose(&copies), choose(&shuffled));
            prop_assert_eq!(name(&copies, a.text), name(&shuffled, b.text));
            prop_assert_eq!(name(&copies, a.title), name(&shuffled, b.title));
            prop_assert_eq!(name(&copies, a.link), name(&shuffled, b.link));
            prop_assert_eq!(a.date, b.date);
        });
    }

    /// `Summary::join` is `Summary::of` over every copy so far: random
    /// stories, copies joining one by one (in any order of arrival: one
    /// older than the story, or an earlier founder beside late copies,
    /// gets `None`, and the summary is made again from all of them).
    #[test]
    fn a_summary_joined_copy_by_copy_is_the_summary_of_all_the_copies() {
        use proptest::prelude::*;
        let copy = (
            0usize..4,
            0u8..4,
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            0i64..5,
            0i64..4,
        );
        let sources = ["a", "b", "c", "d"];
        let keys = ["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9"];
        let (joined, again) = (std::cell::Cell::new(0usize), std::cell::Cell::new(0usize));
        proptest!(|(raw in proptest::collection::vec(copy, 1..10), sorted in any::<bool>())| {
            let mut copies: Vec<CopyFacts<'_>> = raw
                .iter()
                .enumerate()
                .map(|(i, &(s, low, link, own, title, len, publ, seen))| CopyFacts {
                    source: sources[s],
                    key: keys[i],
                    low_trust: low == 0,
                    has_link: link,
                    own_link: own && link,
                    has_title: title,
                    text_len: len * 100,
                    published: publ * 1800,
                    first_seen: seen * 2000,
                    in_script: true,
                    in_topic: true,
                })
                .collect();
            if sorted {
                // As a store sees them: each copy first seen no earlier than
                // the ones before it.
                copies.sort_by_key(|c| c.first_seen);
            }
            let mut summary = Summary::of(&copies[..1]).unwrap();
            for n in 2..=copies.len() {
                let all = Summary::of(&copies[..n]).unwrap();
                summary = match summary.join(&copies[n - 1]) {
                    Some(s) => {
                        joined.set(joined.get() + 1);
                        prop_assert_eq!(&s, &all);
                        s
                    }
                    None => {
                        again.set(again.get() + 1);
                        all
                    }
                };
                let (shown, chosen) = (summary.shown(), choose(&copies[..n]));
                let named = |i: Option<usize>| i.map(|i| Named::of(&copies[i]));
                prop_assert_eq!(shown.text.cloned(), named(chosen.text));
                prop_assert_eq!(shown.title.cloned(), named(chosen.title));
                prop_assert_eq!(shown.link.cloned(), named(chosen.link));
                prop_assert_eq!(shown.date, chosen.date);
            }
        });
        // Most joins need no other copy (the test is not all fallbacks).
        let (joined, again) = (joined.get(), again.get());
        assert!(joined > 4 * again, "joined {joined}, again {again}");
    }
}
