//! What readers receive (issue 19): the real binary polls feed files of a
//! Simplified and a Traditional outlet into a real SQLite file, and the
//! rendered topic feeds are read back: the topic's language and script, no
//! English inside a Chinese feed, each outlet named once, an entry id per
//! topic, the everything river, and a purged outlet's words gone.

use crate::common::*;

/// One wire story, as a mainland outlet (Simplified) and a Taiwan outlet
/// (Traditional) carry it.
const SIMPLIFIED: &str = "北京市教委今天发布通知，二〇二六年京津冀三地将联合开展中小学教师培训，首批两千名教师参加。三地教育部门表示，将推进优质教育资源共享，加强课程建设和教学研究合作，形成协同发展的新格局。";
const TRADITIONAL: &str = "北京市教委今天發布通知，二〇二六年京津冀三地將聯合開展中小學教師培訓，首批兩千名教師參加。三地教育部門表示，將推進優質教育資源共享，加強課程建設和教學研究合作，形成協同發展的新格局。";
/// A story only the Taiwan outlet carries.
const ONLY_TW: &str = "行政院會今天通過國土計畫法修正草案，將送立法院審議。內政部表示，修法後各縣市國土計畫的檢討時程將更有彈性，並強化農地保護與災害防治的規劃。";
/// A story only the mainland outlet carries, not about education.
const ONLY_CN: &str = "国家统计局今天发布数据显示，十月份全国居民消费价格同比上涨，环比持平。其中城市上涨，农村略有下降；食品价格下降，非食品价格上涨，市场供应总体充足。";

const DATE: &str = "Mon, 09 Oct 2023 08:00:00 +0800";
const LATER: &str = "Mon, 09 Oct 2023 09:00:00 +0800";

fn item<'a>(guid: &'a str, title: &'a str, body: &'a str, date: &'a str) -> Item<'a> {
    Item {
        guid: Some(guid),
        link: Some(guid),
        title: Some(title),
        description: Some(body),
        pub_date: Some(date),
    }
}

const TOPICS: &str = "\
[[topic]]\nslug = \"edu\"\ntitle = \"京津冀教育\"\nquery = \"教育\"\nscript = \"simplified\"\n\n\
[[topic]]\nslug = \"edu-tw\"\ntitle = \"京津冀教育（繁體）\"\nquery = \"教育\"\nlanguage = \"zh-Hant\"\n\n\
[[topic]]\nslug = \"all\"\ntitle = \"全部\"\nquery = \"*\"\nscript = \"as-published\"\n";

fn env() -> Env {
    let env = Env::new(&[]);
    std::fs::write(
        env.path("cn.xml"),
        rss2(
            "大陆网",
            &[
                item(
                    "https://cn.example/1",
                    "京津冀联合开展教师培训",
                    SIMPLIFIED,
                    DATE,
                ),
                item(
                    "https://cn.example/2",
                    "十月居民消费价格同比上涨",
                    ONLY_CN,
                    DATE,
                ),
            ],
        ),
    )
    .unwrap();
    std::fs::write(
        env.path("tw.xml"),
        rss2(
            "臺灣社",
            &[
                item(
                    "https://tw.example/1",
                    "京津冀聯合開展教師培訓",
                    TRADITIONAL,
                    LATER,
                ),
                item(
                    "https://tw.example/2",
                    "國土計畫法修正草案通過",
                    ONLY_TW,
                    DATE,
                ),
            ],
        ),
    )
    .unwrap();
    let sources = [
        Src {
            extra: "name = \"臺灣社\"\n".into(),
            ..src("tw", &env.file_url("tw.xml"))
        },
        Src {
            extra: "name = \"大陆网\"\n".into(),
            ..src("cn", &env.file_url("cn.xml"))
        },
    ];
    env.write_config(
        FETCH,
        &sources,
        &format!("[server]\nlanguage = \"zh-Hans\"\n\n{TOPICS}"),
    );
    // The Traditional outlet is polled first: it carried the story first.
    let run = env.poll(&["--source", "tw"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = env.poll(&["--source", "cn"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    env
}

fn render(env: &Env, slug: &str, format: &str) -> String {
    let run = env.run(&["render", slug, "--format", format]);
    assert_eq!(run.code, Some(0), "{run:?}");
    run.stdout
}

fn items(env: &Env, slug: &str) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&render(env, slug, "json")).unwrap();
    json["items"].as_array().cloned().unwrap_or_default()
}

/// The text a reader sees of some HTML: tags (and their attributes) gone.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    html_escape::decode_html_entities(&out).into_owned()
}

fn is_traditional(s: &str) -> bool {
    newsriver::script::is_traditional(s)
}

#[test]
fn a_simplified_topic_shows_no_traditional_and_says_everything_in_chinese() {
    let env = env();
    assert_eq!(env.stories(), 3, "the two scripts' copies are one story");
    let entries = items(&env, "edu");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0];
    let title = e["title"].as_str().unwrap();
    let html = e["content_html"].as_str().unwrap();
    assert_eq!(
        title, "京津冀联合开展教师培训",
        "the copy in the topic's script"
    );
    assert!(!is_traditional(&visible(html)), "{html}");
    assert!(html.contains("正文来自") || html.contains("首发"), "{html}");
    // Each outlet once, as published (the Taiwan outlet's name stays).
    assert_eq!(html.matches("臺灣社").count(), 1, "{html}");
    assert_eq!(html.matches("大陆网").count(), 1, "{html}");
    // Nothing English a reader would read, in any format.
    for format in ["atom", "rss", "json"] {
        let feed = render(&env, "edu", format);
        let parsed = feed_rs::parser::parse(feed.as_bytes()).unwrap();
        for entry in &parsed.entries {
            let content = entry
                .content
                .as_ref()
                .and_then(|c| c.body.clone())
                .or(entry.summary.as_ref().map(|s| s.content.clone()))
                .unwrap_or_default();
            let text = visible(&content);
            assert!(
                !text.chars().any(|c| c.is_ascii_alphabetic()),
                "{format}: {text}"
            );
        }
        let lang = parsed.language.as_deref().map(str::to_ascii_lowercase);
        assert_eq!(lang.as_deref(), Some("zh-hans"), "{format}");
        let description = parsed.description.map(|d| d.content).unwrap_or_default();
        assert!(
            !description.contains("merged by"),
            "{format}: {description}"
        );
    }
    assert!(render(&env, "edu", "atom").contains("xml:lang=\"zh-Hans\""));
    assert!(render(&env, "edu", "rss").contains("<language>zh-Hans</language>"));
}

#[test]
fn a_traditional_topic_shows_no_simplified_and_stored_copies_stay_as_published() {
    let env = env();
    let entries = items(&env, "edu-tw");
    assert_eq!(entries.len(), 1, "{entries:?}");
    let title = entries[0]["title"].as_str().unwrap();
    assert_eq!(title, "京津冀聯合開展教師培訓");
    let html = entries[0]["content_html"].as_str().unwrap();
    assert!(html.contains("首發") || html.contains("正文來自"), "{html}");
    // The everything river, as published: the Simplified-only story stays
    // Simplified, the Traditional-only one Traditional.
    let all = items(&env, "all");
    assert_eq!(all.len(), 3, "every story, once: {all:?}");
    let titles: Vec<&str> = all.iter().filter_map(|e| e["title"].as_str()).collect();
    assert!(titles.contains(&"十月居民消费价格同比上涨"), "{titles:?}");
    assert!(titles.contains(&"國土計畫法修正草案通過"), "{titles:?}");
    // A Simplified topic over everything converts the Traditional-only
    // story for display and says so; the stored copy is unchanged.
    let config = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        config.replace("script = \"as-published\"", "script = \"simplified\""),
    )
    .unwrap();
    let all = items(&env, "all");
    let converted = all
        .iter()
        .find(|e| e["title"] == "国土计划法修正草案通过")
        .unwrap_or_else(|| panic!("{all:?}"));
    let html = converted["content_html"].as_str().unwrap();
    assert!(html.contains("本条由繁体转换为简体显示"), "{html}");
    assert!(!is_traditional(&visible(html)), "{html}");
    assert!(
        env.copy_titles("tw")
            .contains(&"國土計畫法修正草案通過".to_string())
    );
}

#[test]
fn overlapping_topics_give_a_story_an_id_in_each_stable_across_renders() {
    let env = env();
    let id = |slug: &str| {
        items(&env, slug)
            .iter()
            .find(|e| {
                e["title"]
                    .as_str()
                    .is_some_and(|t| t.contains("教师培训") || t.contains("教師培訓"))
            })
            .map(|e| e["id"].as_str().unwrap().to_string())
            .unwrap()
    };
    let (edu, tw, all) = (id("edu"), id("edu-tw"), id("all"));
    assert_ne!(edu, tw);
    assert_ne!(edu, all);
    assert_ne!(tw, all);
    assert_eq!(edu, id("edu"), "stable across renders");
    // The same id in all three formats.
    assert!(render(&env, "edu", "atom").contains(&format!("<id>{edu}</id>")));
    assert!(render(&env, "edu", "rss").contains(&format!(">{edu}</guid>")));
}

#[test]
fn a_purged_outlets_headline_and_text_leave_every_story() {
    let env = env();
    let run = env.run(&["sources", "remove", "cn", "--purge"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let all = items(&env, "all");
    assert_eq!(all.len(), 2, "{all:?}");
    for e in &all {
        let html = e["content_html"].as_str().unwrap();
        assert!(!html.contains("大陆网"), "{html}");
        assert!(!html.contains("联合开展"), "{html}");
    }
    let edu = items(&env, "edu");
    assert_eq!(edu.len(), 1, "{edu:?}");
    // Only the Traditional copy is left: shown converted, single outlet,
    // no attribution line.
    let html = edu[0]["content_html"].as_str().unwrap();
    assert!(!html.contains("首发"), "{html}");
    assert!(html.contains("本条由繁体转换为简体显示"), "{html}");
}
