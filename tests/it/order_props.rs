//! Issue 19, item 3: what merges must not depend on poll order. A property
//! test over a real SQLite store (`store::Writer`, the writer the daemon
//! uses): copies of a few wire stories — in Simplified and Traditional
//! script (with a Taiwan dateline), summaries cut at ~100 characters, a
//! sentence dropped or added, a word edited, and a hostile copy made of one
//! story followed by another — are stored in random arrival orders, one or
//! several items a poll, polls grouped at random into the writer's group
//! transactions. Every order must give the same partition (as a set of sets
//! of (source, item key)) and the same shown title, link and date per story.
//! With `NEWSRIVER_TEST_STORE=postgres`, each store is a PostgreSQL
//! database instead.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeZone, Utc};
use newsriver::dedupe::Params;
use newsriver::model::{ParsedItem, SourceId, Validators};
use newsriver::normalize::{Normalizer, simplified};
use newsriver::store::{
    Location, NewCopy, PageCounts, PollOutcome, PollToStore, SourceRow, Writer,
};
use proptest::prelude::*;

/// Wire stories, written in Traditional script (the Simplified copies are
/// `simplified` of them): distinct texts with their own figures.
pub(crate) const STORIES: [&str; 4] = [
    "今天,記者從北京市教委了解到,2023年京津冀教育協同發展工作會議在京召開。三地將積極推進各級各類教育融合發展,在更大範圍、更深領域加強教育協同,形成更加緊密的新發展格局。天津市委教育工委常務副書記荊洪陽在講話中表示,天津把推進京津冀教育科技人才協同發展作為首項任務。河北省副省長董兆偉表示,河北省全力推進京津優質中小學基礎教育資源同河北合作共享。會上,三地共同簽署行動計劃和研究中心總體框架協議。",
    "國家統計局今天發布數據顯示,十月份全國居民消費價格同比上漲百分之零點一,環比持平。其中城市上漲百分之零點二,農村下降百分之零點一;食品價格下降百分之二點五,非食品價格上漲百分之零點七。統計局城市司首席統計師表示,國內消費需求持續恢復,部分服務價格有所回升。分析人士認為,隨著促消費政策持續發力,物價有望保持溫和回升態勢。",
    "氣象部門預計,受冷空氣影響,本週後期華北、黃淮等地將出現大風降溫天氣,氣溫普遍下降八至十度,局地降幅可達十二度以上。中央氣象台提醒,公眾需注意添衣保暖,設施農業需做好防風防凍措施。交通運輸部門表示,將密切關注天氣變化,及時發布路況信息,保障旅客出行安全。專家指出,今冬以來冷空氣活動較為頻繁,各地應提前做好能源保供準備。",
    "記者從市交通委獲悉,地鐵十七號線北段將於年底前開通試運營,全線共設車站十二座,其中換乘站五座。開通後,從未來科學城到望京的通勤時間將縮短至四十分鐘以內。市交通委相關負責人介紹,新線採用全自動運行系統,最高運行速度每小時一百公里。沿線居民表示,新線開通將極大方便日常出行,期待早日乘坐。",
];

/// A sentence an outlet adds.
const ADDED: &str = "本報將持續關注此事的後續進展。";

/// How one outlet dresses its copy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Dress {
    Simplified,
    /// Traditional, with a Taiwan dateline in front.
    Traditional,
    /// A summary cut at `n` characters (Simplified), with "…" or not.
    Summary(usize, bool),
    /// The same, cut from the Traditional text.
    SummaryTraditional(usize),
    /// A sentence (index modulo the count) dropped.
    Dropped(usize),
    /// A sentence added at the end.
    Added,
    /// A word of a sentence edited.
    Edited(usize),
    /// The whole text followed by the next story's (a hostile bridge).
    WithNext,
}

fn dress() -> impl Strategy<Value = Dress> {
    prop_oneof![
        Just(Dress::Simplified),
        Just(Dress::Traditional),
        (90usize..115, any::<bool>()).prop_map(|(n, e)| Dress::Summary(n, e)),
        (90usize..115).prop_map(Dress::SummaryTraditional),
        (0usize..4).prop_map(Dress::Dropped),
        Just(Dress::Added),
        (0usize..4).prop_map(Dress::Edited),
        Just(Dress::WithNext),
    ]
}

fn sentences(text: &str) -> Vec<String> {
    text.split_inclusive('。').map(str::to_string).collect()
}

pub(crate) fn body(story: usize, d: Dress) -> String {
    let trad = STORIES[story % STORIES.len()];
    let simp = simplified(trad).into_owned();
    let cut = |t: &str, n: usize| t.chars().take(n).collect::<String>();
    match d {
        Dress::Simplified => simp,
        Dress::Traditional => format!("（中央社台北3日電）{trad}"),
        Dress::Summary(n, ellipsis) => cut(&simp, n) + if ellipsis { "…" } else { "" },
        Dress::SummaryTraditional(n) => cut(trad, n) + "…",
        Dress::Dropped(k) => {
            let mut s = sentences(&simp);
            let k = k % s.len();
            s.remove(k);
            s.concat()
        }
        Dress::Added => format!("{simp}{}", simplified(ADDED)),
        Dress::Edited(k) => {
            let mut s = sentences(&simp);
            let k = k % s.len();
            s[k] = s[k].replacen("表示", "指出", 1).replacen('将', "会", 1);
            s.concat()
        }
        Dress::WithNext => {
            let next = simplified(STORIES[(story + 1) % STORIES.len()]).into_owned();
            format!("{simp}{next}")
        }
    }
}

/// One copy: its source, guid, and how it is dressed.
#[derive(Clone, Debug)]
struct Copy {
    source: usize,
    story: usize,
    n: usize,
    dress: Dress,
    /// Hours after the story's first report.
    hours: i64,
}

const SOURCES: usize = 6;

fn copies() -> impl Strategy<Value = Vec<Copy>> {
    // Two to four stories, each carried by two to five copies.
    prop::collection::vec(
        prop::collection::vec((0..SOURCES, dress(), 0i64..6), 2..6),
        2..5,
    )
    .prop_map(|stories| {
        let mut out = Vec::new();
        for (story, copies) in stories.into_iter().enumerate() {
            for (n, (source, dress, hours)) in copies.into_iter().enumerate() {
                out.push(Copy {
                    source,
                    story,
                    n,
                    dress,
                    hours,
                });
            }
        }
        out
    })
}

fn new_copy(c: &Copy) -> NewCopy {
    let text = body(c.story, c.dress);
    let guid = format!("{}-{}", c.story, c.n);
    let item = ParsedItem {
        guid: Some(guid.clone()),
        link: Some(format!("https://s{}.example/{guid}", c.source)),
        title: Some(format!("标题 {guid}")),
        content_html: Some(format!("<p>{text}</p>")),
        published: Some(
            Utc.with_ymd_and_hms(2024, 10, 3, 1, 0, 0).unwrap()
                + chrono::Duration::hours(c.hours)
                + chrono::Duration::days(c.story as i64 % 2),
        ),
        ..Default::default()
    };
    let norm = Normalizer::default().normalize(&item);
    let key = item.key();
    NewCopy::new(item, norm, key)
}

fn poll(source: usize, items: Vec<NewCopy>) -> PollToStore {
    PollToStore {
        source_id: SourceId::from(format!("s{source}").as_str()),
        started: Utc::now(),
        duration_ms: 1,
        outcome: PollOutcome::Fetched {
            status: 200,
            moved_to: None,
            validators: Validators::default(),
            bytes: 1,
            feed_title: None,
            feed_language: None,
            feed_format: "RSS 2.0".into(),
            charset_json: "{}".into(),
            items,
            parse: Box::default(),
            pages: PageCounts::default(),
        },
        lease: None,
    }
}

/// A story's copies, as (source, item key).
type Members = BTreeSet<(String, String)>;
/// The title, link and date a story shows.
type Shown = (String, Option<String>, i64);
/// Stories as compared: each one's copies, and what it shows.
type Stories = BTreeMap<Members, Shown>;

/// Stores `copies` in `order`: a new poll where the source changes or
/// `cuts` says so, polls handed to the writer in groups `groups` decides.
fn ingest(copies: &[Copy], order: &[usize], cuts: &[bool], groups: &[bool]) -> Stories {
    let dir = tempfile::tempdir().unwrap();
    let at = match crate::common::all_on_postgres() {
        true => Location::Postgres(
            crate::common::pg_database("order_props")
                .expect("NEWSRIVER_TEST_STORE=postgres needs a PostgreSQL server"),
        ),
        false => Location::Sqlite(dir.path().join("t.db")),
    };
    let mut store = Writer::open_at(&at).unwrap();
    let ids: Vec<SourceId> = (0..SOURCES)
        .map(|s| SourceId::from(format!("s{s}").as_str()))
        .collect();
    let tags: Vec<String> = Vec::new();
    let rows: Vec<SourceRow<'_>> = ids
        .iter()
        .map(|id| SourceRow {
            id,
            name: id,
            url: "https://example.org/",
            tags: &tags,
            low_trust: false,
            link_hosts: &[],
        })
        .collect();
    store.sync_sources(&rows).unwrap();
    let mut polls: Vec<(usize, Vec<NewCopy>)> = Vec::new();
    for (i, &k) in order.iter().enumerate() {
        let c = &copies[k];
        match polls.last_mut() {
            Some((s, items)) if *s == c.source && !cuts[i % cuts.len()] => items.push(new_copy(c)),
            _ => polls.push((c.source, vec![new_copy(c)])),
        }
    }
    let near = Params::default();
    let mut group = Vec::new();
    let n = polls.len();
    for (i, (s, items)) in polls.into_iter().enumerate() {
        group.push(poll(s, items));
        if groups[i % groups.len()] || i + 1 == n {
            let results = store
                .record_polls(std::mem::take(&mut group), &|_| Vec::new(), &near)
                .unwrap();
            assert!(results.iter().all(Result::is_ok));
        }
    }
    drop(store);
    let db: newsriver::store::sql::Connection = match &at {
        Location::Sqlite(path) => rusqlite::Connection::open(path).unwrap().into(),
        Location::Postgres(url) => {
            newsriver::store::sql::Connection::connect_postgres(url).unwrap()
        }
    };
    let mut stmt = db
        .prepare(
            "SELECT c.source_id, c.item_key, st.title, st.link, st.published, st.sid
             FROM copies c JOIN stories st ON st.sid = c.story",
        )
        .unwrap();
    let mut by_story: BTreeMap<i64, (Members, Shown)> = BTreeMap::new();
    let rows = stmt
        .query_map(crate::common::NONE, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })
        .unwrap();
    for row in rows {
        let (source, key, title, link, published, sid) = row.unwrap();
        by_story
            .entry(sid)
            .or_insert_with(|| (BTreeSet::new(), (title, link, published)))
            .0
            .insert((source, key));
    }
    by_story.into_values().collect()
}

fn case() -> impl Strategy<Value = (Vec<Copy>, Vec<usize>, Vec<bool>, Vec<bool>)> {
    copies().prop_flat_map(|copies| {
        let n = copies.len();
        (
            Just(copies),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
            prop::collection::vec(any::<bool>(), 1..8),
            prop::collection::vec(any::<bool>(), 1..8),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_same_copies_make_the_same_stories_in_any_order(
        (copies, order, cuts, groups) in case()
    ) {
        // The reference: sources in order, each one poll, one group.
        let mut by_source: Vec<usize> = (0..copies.len()).collect();
        by_source.sort_by_key(|&k| (copies[k].source, k));
        let reference = ingest(&copies, &by_source, &[false], &[false]);
        // Sources reversed, one poll each.
        let mut reversed = by_source.clone();
        reversed.sort_by_key(|&k| (std::cmp::Reverse(copies[k].source), k));
        prop_assert_eq!(&ingest(&copies, &reversed, &[false], &[true]), &reference, "sources reversed");
        // A random arrival order, polls and groups cut at random.
        prop_assert_eq!(&ingest(&copies, &order, &cuts, &groups), &reference, "random order");
    }
}

/// The case proptest found against the code before issue 19 (shrunk): a
/// copy made of story 2 followed by story 3 among copies of stories 0–2,
/// polled source by source and in arrival order, made other stories.
#[test]
fn the_case_proptest_found_merges_the_same_in_both_orders() {
    let copies: Vec<Copy> = [
        (3, 0, Dress::Added, 5),
        (5, 0, Dress::Dropped(0), 0),
        (0, 1, Dress::Added, 2),
        (5, 1, Dress::Summary(111, true), 2),
        (3, 2, Dress::WithNext, 5),
        (4, 2, Dress::Edited(0), 0),
        (0, 2, Dress::Simplified, 5),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (source, story, dress, hours))| Copy {
        source,
        story,
        n,
        dress,
        hours,
    })
    .collect();
    let arrival: Vec<usize> = (0..copies.len()).collect();
    let mut by_source = arrival.clone();
    by_source.sort_by_key(|&k| (copies[k].source, k));
    let a = ingest(&copies, &arrival, &[false], &[false]);
    let b = ingest(&copies, &by_source, &[false], &[false]);
    assert_eq!(a, b);
}

/// The cases the first version of this test found (kept as plain tests,
/// so they run without proptest's search): a chain of a summary, the full
/// text and a Traditional copy, arriving in both orders.
#[test]
fn a_summary_a_full_text_and_a_traditional_copy_merge_in_every_order() {
    let copies: Vec<Copy> = [
        (0, Dress::Summary(100, true)),
        (1, Dress::Dropped(3)),
        (2, Dress::Traditional),
        (3, Dress::SummaryTraditional(95)),
        (4, Dress::Added),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (source, dress))| Copy {
        source,
        story: 0,
        n,
        dress,
        hours: n as i64,
    })
    .collect();
    let forward: Vec<usize> = (0..copies.len()).collect();
    let mut backward = forward.clone();
    backward.reverse();
    let a = ingest(&copies, &forward, &[true], &[true]);
    let b = ingest(&copies, &backward, &[true], &[true]);
    assert_eq!(a, b);
    assert_eq!(a.len(), 1, "one story: {a:?}");
}
