//! Round three of the red team (docs/security.md): one source must not put
//! words in another's mouth. Each test is an attack end to end — the real
//! binary polling feed files, a real SQLite file, the rendered topic feed —
//! and what must hold afterwards: text shown under an outlet's name is that
//! outlet's, an edited copy is judged again, a late copy cannot backdate a
//! story, a bridge needs related stories, tags and `trust = "low"` decide
//! who may speak, and a story's index keys stay bounded.

use crate::common::*;

/// The trusted outlet's report (long enough for near-duplicate judging).
const REPORT: &str = "今天记者从北京市教委了解到，二〇二六年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展，在更大范围、更深领域加强教育协同，形成更加紧密的协同发展新格局。天津市教育部门负责人在讲话中表示，天津把推进京津冀教育科技人才协同发展作为首项任务。河北省有关负责人表示，河北省全力推进京津优质中小学基础教育资源同河北合作共享。";

/// A long unrelated report: found as a candidate by most of its index keys
/// when it is the longer half of a bridging copy.
const LONG: &str = "国家统计局今天发布数据显示，十月份全国居民消费价格同比上涨，环比持平。其中城市上涨，农村略有下降；食品价格下降，非食品价格上涨。统计局城市司首席统计师表示，国内消费需求持续恢复，部分服务价格有所回升，能源价格随国际油价波动，市场供应总体充足，价格运行平稳有序。从环比看，鲜菜价格因天气转凉、生产成本上升而有所上涨，鲜果价格因应季水果大量上市而下降，猪肉价格继续回落。从同比看，服务价格涨幅扩大，其中旅游、交通出行价格随着假期出行需求释放而上涨，教育文化娱乐价格保持稳定。扣除食品和能源价格的核心指数同比上涨，涨幅与上月相同，显示国内需求稳步恢复。工业生产者出厂价格同比降幅收窄，环比由降转平，主要受国际原油价格波动和国内部分行业需求改善等因素影响。分析人士认为，随着稳增长政策持续发力，内需有望进一步回暖，物价总体将保持温和运行，全年物价调控目标能够实现。";

/// What the attacker writes once inside a story.
const LIES: &str = "这是一段捏造的文字，冒充可信媒体的名义发布，内容与原始报道毫无关系，读者不应在可信媒体的名下看到它，无论它以何种方式混入这个故事之中，也无论它比原文长多少。";

const TOPIC: &str =
    "[[topic]]\nslug = \"t\"\ntitle = \"测试\"\nquery = \"教育 OR 统计局 OR 捏造\"\n";

fn item<'a>(
    guid: &'a str,
    link: &'a str,
    title: &'a str,
    body: &'a str,
    date: &'a str,
) -> Item<'a> {
    Item {
        guid: Some(guid),
        link: Some(link),
        title: Some(title),
        description: Some(body),
        pub_date: Some(date),
    }
}

const DATE: &str = "Mon, 09 Oct 2023 08:00:00 +0800";

/// Writes `name.xml` in the env's folder.
fn feed(env: &Env, name: &str, channel: &str, items: &[Item<'_>]) {
    std::fs::write(env.path(&format!("{name}.xml")), rss2(channel, items)).unwrap();
}

fn source(env: &Env, id: &str, extra: &str) -> Src {
    Src {
        extra: format!("name = {}\n{extra}", toml_str(&format!("{id} 媒体"))),
        ..src(id, &env.file_url(&format!("{id}.xml")))
    }
}

/// The topic's JSON Feed items.
fn rendered(env: &Env) -> Vec<serde_json::Value> {
    let run = env.run(&["render", "t", "--format", "json"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    json["items"].as_array().cloned().unwrap_or_default()
}

fn html_of(entry: &serde_json::Value) -> &str {
    entry["content_html"].as_str().unwrap_or_default()
}

/// An env with `trusted` and `attacker` sources (attacker's extra config).
fn two_sources(attacker_extra: &str) -> Env {
    let env = Env::new(&[]);
    let sources = [
        // Its feed would be on its own site; here a file, so it says so.
        source(&env, "trusted", "link_hosts = [\"trusted.example\"]\n"),
        source(&env, "attacker", attacker_extra),
    ];
    env.write_config(FETCH, &sources, TOPIC);
    env
}

/// Moves everything stored back by `secs` (time passing between polls;
/// first_seen has one-second resolution and the founding window is an hour).
fn age(env: &Env, secs: i64) {
    let db = env.store_rw();
    db.execute(
        // The display rule's stored summary (`stories.shown`) holds when
        // the story was born: moved too, by letting the next refresh make it.
        "UPDATE stories SET first_seen = first_seen - ?1, updated_at = updated_at - ?1,
           shown = NULL",
        [secs],
    )
    .unwrap();
    db.execute(
        "UPDATE copies SET first_seen = first_seen - ?1, last_seen = last_seen - ?1",
        [secs],
    )
    .unwrap();
}

#[test]
fn an_exact_copy_edited_afterwards_leaves_the_story_and_speaks_only_for_itself() {
    let env = two_sources("");
    let link = "https://trusted.example/edu/1.html";
    feed(
        &env,
        "trusted",
        "可信",
        &[item("t-1", link, "京津冀教育协同发展", REPORT, DATE)],
    );
    feed(
        &env,
        "attacker",
        "攻击",
        &[item("a-1", link, "京津冀教育协同发展", REPORT, DATE)],
    );
    env.poll(&[]);
    assert_eq!(env.stories(), 1, "an exact copy joins");
    // The attacker edits its copy into anything.
    let lies = format!("{LIES}{LIES}{LIES}");
    feed(
        &env,
        "attacker",
        "攻击",
        &[item("a-1", link, "可信媒体宣布捏造消息", &lies, DATE)],
    );
    env.poll(&[]);
    let stories = env.export(&[]);
    assert_eq!(
        stories.len(),
        2,
        "the edited copy left the story: {stories:?}"
    );
    let trusted = stories
        .iter()
        .find(|s| {
            s["copies"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["source"] == "trusted")
        })
        .unwrap();
    assert_eq!(trusted["copies"].as_array().unwrap().len(), 1, "{trusted}");
    assert_eq!(trusted["title"], "京津冀教育协同发展");
    for entry in rendered(&env) {
        let html = html_of(&entry);
        if html.contains("捏造") {
            // The lies are shown only as the attacker's, never under the
            // trusted outlet's name.
            assert!(!html.contains("trusted 媒体"), "{html}");
            assert!(html.contains("attacker 媒体"), "{html}");
        } else {
            assert_eq!(entry["title"], "京津冀教育协同发展", "{entry}");
            assert!(!html.contains("attacker 媒体"), "{html}");
        }
    }
}

#[test]
fn a_longer_copy_under_the_trusted_link_is_shown_as_its_own_outlets_words() {
    let link = "https://trusted.example/edu/1.html";
    let injected = format!("{REPORT}{LIES}");
    for low in [false, true] {
        let env = two_sources(if low { "trust = \"low\"\n" } else { "" });
        feed(
            &env,
            "trusted",
            "可信",
            &[item("t-1", link, "京津冀教育协同发展", REPORT, DATE)],
        );
        env.poll(&["--source", "trusted"]);
        feed(
            &env,
            "attacker",
            "攻击",
            &[item("a-1", link, "京津冀教育协同发展", &injected, DATE)],
        );
        env.poll(&["--source", "attacker"]);
        assert_eq!(env.stories(), 1, "joined by containment");
        let entries = rendered(&env);
        assert_eq!(entries.len(), 1);
        let html = html_of(&entries[0]);
        assert_eq!(entries[0]["url"], link);
        if low {
            // A low-trust source joins but supplies nothing shown.
            assert!(!html.contains("捏造"), "{html}");
            let text: String = env
                .store()
                .query_row("SELECT text FROM story_texts", NONE, |r| r.get(0))
                .unwrap();
            assert!(!text.contains("捏造"), "its text is not the story's");
        } else {
            // Shown, but as the attacker's text: named by source, though
            // its link is the trusted one.
            assert!(html.contains("捏造"), "{html}");
            assert!(
                html.contains("正文来自：<a href=\"https://trusted.example/edu/1.html\" rel=\"nofollow\">attacker 媒体</a>"),
                "{html}"
            );
            assert!(html.contains("首发：<a href=\"https://trusted.example/edu/1.html\" rel=\"nofollow\">trusted 媒体</a>"), "{html}");
        }
    }
}

#[test]
fn a_late_backdated_copy_takes_neither_the_link_nor_the_date_and_retention_keeps_the_story() {
    let env = two_sources("");
    let now = chrono::Utc::now();
    let date = (now - chrono::TimeDelta::hours(3)).to_rfc2822();
    let link = "https://trusted.example/edu/1.html";
    feed(
        &env,
        "trusted",
        "可信",
        &[item("t-1", link, "京津冀教育协同发展", REPORT, &date)],
    );
    env.poll(&["--source", "trusted"]);
    age(&env, 2 * 3600);
    // Two hours later: an exact copy with its own link, dated 1972.
    feed(
        &env,
        "attacker",
        "攻击",
        &[item(
            "a-1",
            "https://attacker.example/x",
            "京津冀教育协同发展",
            REPORT,
            "Sat, 01 Jan 1972 00:00:00 +0000",
        )],
    );
    env.poll(&["--source", "attacker"]);
    let stories = env.export(&[]);
    assert_eq!(stories.len(), 1);
    assert_eq!(stories[0]["link"], link, "{stories:?}");
    let published =
        chrono::DateTime::parse_from_rfc3339(stories[0]["published"].as_str().unwrap()).unwrap();
    assert!(
        (published.timestamp() - (now.timestamp() - 3 * 3600)).abs() < 5,
        "the story keeps its date: {published}"
    );
    // Retention keys on when the story was seen, not on a claimed date.
    let text = std::fs::read_to_string(&env.config).unwrap();
    std::fs::write(
        &env.config,
        text.replace(
            "path = \"news.db\"",
            "path = \"news.db\"\nretention_days = 7",
        ),
    )
    .unwrap();
    env.poll(&[]);
    assert_eq!(env.stories(), 1, "the trusted story is still there");
    assert_eq!(env.copies(), 2);
    let entries = rendered(&env);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["url"], link);
}

#[test]
fn one_item_made_of_two_stories_does_not_merge_them() {
    let env = two_sources("");
    feed(
        &env,
        "trusted",
        "可信",
        &[
            item(
                "t-1",
                "https://trusted.example/1",
                "京津冀教育协同发展",
                REPORT,
                DATE,
            ),
            item(
                "t-2",
                "https://trusted.example/2",
                "十月份居民消费价格",
                LONG,
                DATE,
            ),
        ],
    );
    env.poll(&["--source", "trusted"]);
    assert_eq!(env.stories(), 2);
    // The short story first (found by its lead), the long one after it
    // (found by most of its keys): a copy the same as both.
    let both = format!("{REPORT}{LONG}");
    feed(
        &env,
        "attacker",
        "攻击",
        &[item(
            "a-1",
            "https://attacker.example/x",
            "合集",
            &both,
            DATE,
        )],
    );
    env.poll(&["--source", "attacker"]);
    assert_eq!(env.stories(), 2, "still two stories: {:?}", env.export(&[]));
    let entries = rendered(&env);
    assert_eq!(entries.len(), 2, "{entries:?}");
    for e in &entries {
        let html = html_of(e);
        // Whatever the attacker's copy shows is named as its own.
        if e["title"] == "合集" {
            assert!(
                html.contains(
                    "正文来自：<a href=\"https://attacker.example/x\" rel=\"nofollow\">attacker 媒体</a>"
                ),
                "{html}"
            );
        } else {
            assert!(!html.contains("attacker"), "{html}");
        }
    }
    assert!(
        entries.iter().any(|e| e["title"] == "十月份居民消费价格"),
        "{entries:?}"
    );
    // The item gone, both stay as they are.
    feed(&env, "attacker", "攻击", &[]);
    env.poll(&[]);
    assert_eq!(env.stories(), 2);
}

#[test]
fn a_topic_limited_by_tags_shows_only_its_sources_headline_link_and_text() {
    let env = Env::new(&[]);
    let sources = [
        source(&env, "tagged", "tags = [\"national\"]\n"),
        source(&env, "untagged", ""),
    ];
    env.write_config(
        FETCH,
        &sources,
        "[[topic]]\nslug = \"t\"\ntitle = \"测试\"\nquery = \"教育\"\ntags = [\"national\"]\n",
    );
    // The untagged source carries the story first, with its own headline,
    // link and a fuller text.
    let fuller = format!("{REPORT}另据了解，三地还将联合举办教师培训。");
    feed(
        &env,
        "untagged",
        "未标记",
        &[item(
            "u-1",
            "https://untagged.example/1",
            "假标题：教育大新闻",
            &fuller,
            "Mon, 09 Oct 2023 07:00:00 +0800",
        )],
    );
    env.poll(&["--source", "untagged"]);
    assert!(
        rendered(&env).is_empty(),
        "not in the topic without a tagged copy"
    );
    feed(
        &env,
        "tagged",
        "标记",
        &[item(
            "t-1",
            "https://tagged.example/1",
            "京津冀教育协同发展",
            REPORT,
            DATE,
        )],
    );
    env.poll(&["--source", "tagged"]);
    let entries = rendered(&env);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["title"], "京津冀教育协同发展");
    assert_eq!(entries[0]["url"], "https://tagged.example/1");
    assert!(
        !html_of(&entries[0]).contains("联合举办教师培训"),
        "{}",
        html_of(&entries[0])
    );
}

#[test]
fn a_correction_to_the_shown_copy_reaches_the_feed_with_a_later_update() {
    let env = two_sources("");
    let short: String = REPORT.chars().take(100).collect();
    feed(
        &env,
        "trusted",
        "可信",
        &[item(
            "t-1",
            "https://trusted.example/1",
            "京津冀教育协同发展",
            REPORT,
            DATE,
        )],
    );
    feed(
        &env,
        "attacker",
        "攻击",
        &[item(
            "a-1",
            "https://attacker.example/1",
            "京津冀教育",
            &short,
            DATE,
        )],
    );
    env.poll(&[]);
    assert_eq!(rendered(&env)[0]["title"], "京津冀教育协同发展");
    // The trusted outlet edits its item: the entry after, and whether its
    // `date_modified` moved.
    let correct = |title: &str, body: &str| {
        // What was stored is ten seconds old (dates have one-second resolution).
        age(&env, 10);
        let before = rendered(&env);
        feed(
            &env,
            "trusted",
            "可信",
            &[item("t-1", "https://trusted.example/1", title, body, DATE)],
        );
        env.poll(&[]);
        let after = rendered(&env);
        assert_eq!(after.len(), 1, "{after:?}");
        let moved = after[0]["date_modified"].as_str() > before[0]["date_modified"].as_str();
        (after[0].clone(), moved)
    };
    let corrected = format!("{REPORT}（更正：会议于十月九日召开。）");
    let (after, moved) = correct("更正：京津冀教育协同发展会议", &corrected);
    assert_eq!(after["title"], "更正：京津冀教育协同发展会议");
    assert!(html_of(&after).contains("更正"));
    assert!(moved, "a new headline moves date_modified: {after}");
    // A correction of the text alone moves `date_modified` too.
    let again = format!("{corrected}另据了解，三地还将联合举办教师培训。");
    let (after, moved) = correct("更正：京津冀教育协同发展会议", &again);
    assert!(html_of(&after).contains("教师培训"));
    assert!(moved, "a longer text moves date_modified: {after}");
}

#[test]
fn a_storys_index_keys_stay_bounded_however_many_variants_join() {
    let env = Env::new(&[]);
    let fetch = FETCH.replace("max_body_bytes = 65536", "max_body_bytes = 10000000");
    env.write_config(&fetch, &[source(&env, "variants", "")], TOPIC);
    const N: usize = 400;
    let bodies: Vec<String> = (0..N)
        .map(|i| {
            // Words, not figures (copies with other figures are other stories).
            let w = ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛", "壬", "癸"];
            format!(
                "{REPORT}附记{}{}{}：补充说明{}",
                w[i % 10],
                w[i / 10 % 10],
                w[i / 100],
                "另外".repeat(i % 7 + 1)
            )
        })
        .collect();
    let guids: Vec<String> = (0..N).map(|i| format!("v-{i}")).collect();
    let links: Vec<String> = (0..N).map(|i| format!("https://v.example/{i}")).collect();
    let items: Vec<Item<'_>> = (0..N)
        .map(|i| item(&guids[i], &links[i], "京津冀教育协同发展", &bodies[i], DATE))
        .collect();
    feed(&env, "variants", "变体", &items);
    env.poll(&[]);
    assert!(
        env.stories() < 10,
        "the variants join: {} stories",
        env.stories()
    );
    let max_keys = env.count("SELECT max(length(near_keys)) / 8 FROM story_texts");
    // At the cap: without it the variants' keys would go past it.
    assert_eq!(max_keys, 256, "{max_keys} keys in one story");
}

#[test]
fn check_names_a_wrong_trust_or_link_host() {
    let env = Env::new(&[]);
    let sources = [
        source(&env, "a", "trust = \"lowish\"\n"),
        source(&env, "b", "link_hosts = [\"https://b.example/\"]\n"),
    ];
    env.write_config(FETCH, &sources, "");
    let run = env.run(&["check"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(run.stderr.contains("source[0].trust"), "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown trust \"lowish\""),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("source[1].link_hosts"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("is not a host name"), "{}", run.stderr);
}

#[test]
fn a_lone_copy_whose_edit_tells_another_story_joins_it() {
    // The article page fetched after the feed's summary, or an outlet's
    // edit: a story of one copy whose new text is another story's joins
    // that story instead of staying apart (the demo's 雄安 report did).
    let env = two_sources("");
    let date = DATE;
    feed(
        &env,
        "trusted",
        "可信",
        &[item(
            "t-1",
            "https://trusted.example/edu/1.html",
            "京津冀教育协同发展",
            REPORT,
            date,
        )],
    );
    feed(
        &env,
        "attacker",
        "另一家",
        &[item(
            "a-1",
            "https://attacker.example/1",
            "统计数据",
            LIES,
            date,
        )],
    );
    env.poll(&[]);
    assert_eq!(env.stories(), 2);
    // The second outlet's item now carries the report (its full text),
    // with a sentence of its own: near, not identical.
    let near = format!("{REPORT}与会代表还参观了雄安新区的几所新建学校。");
    feed(
        &env,
        "attacker",
        "另一家",
        &[item(
            "a-1",
            "https://attacker.example/1",
            "京津冀教育协同发展会议召开",
            &near,
            date,
        )],
    );
    let run = env.poll(&[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(env.stories(), 1, "{:?}", env.export(&[]));
    let entries = rendered(&env);
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(!html_of(&entries[0]).contains("捏造"), "{entries:?}");
}
