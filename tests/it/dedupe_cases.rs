//! Which copies become one story: a few dozen hand-written copies, each
//! transformation and each kind of hard negative, through the real binary
//! (`file://` feeds in a temp folder), asserting the exact groupings.
//!
//! `exact_copies_merge_and_hard_negatives_stay_apart` must pass with exact
//! content hashing alone. `near_duplicates_merge_and_hard_negatives_stay_apart`
//! needs near-duplicate detection (a summary cut from the full text, a
//! sentence more or less) and is ignored until it lands;
//! `near_duplicates_merge_whatever_the_arrival_order` also needs stories
//! that turn out to be one to become one. Run them with
//! `cargo test --test it dedupe_cases:: -- --include-ignored`.
//! Sources are polled one at a time in a fixed order, so results do not
//! depend on scheduling. The larger, generated evaluation is
//! `examples/dedupe_eval.rs`.

use crate::common::*;

// ---- the texts (written for this test) ----------------------------------------

const LIB_1: &str = "市图书馆新馆今天正式向读者开放，新馆建筑面积约5万平方米，设有少儿阅读区、古籍修复展示区和数字体验区等12个功能区。";
const LIB_2: &str = "开馆首日，不少市民一早就在门口排起长队。馆方介绍，新馆藏书量达到300万册，并引入AI智能借还系统，读者“刷脸”即可借书。";
const LIB_3: &str = "2025年底前，新馆还将开通24小时自助阅览室，方便上班族下班后阅读。";
const LIB_TITLE: &str = "市图书馆新馆正式开放";

const METRO_1: &str = "地铁六号线二期工程今天上午开通运营，线路全长十八点五公里，共设车站十二座。";
const METRO_2: &str = "开通初期，列车最小行车间隔为六分钟，首末班车时间与一期保持一致。据介绍，二期开通后，从城西客运站到会展中心的通勤时间将由一小时缩短至三十五分钟。";
const METRO_3: &str = "沿线多个站点还配建了公交接驳和非机动车停放设施，方便市民换乘。";
const METRO_TITLE: &str = "地铁六号线二期工程开通运营";

const GRAIN: &[&str] = &[
    "今年秋粮收购工作已全面展开，全省共设立收购网点一千二百余个，预计收购量将超过八百万吨。",
    "省粮食和物资储备局要求各地严格执行国家收购政策，做到随到随收，不压级压价，不打白条。",
    "为方便农民售粮，部分网点推出了线上预约和上门收粮服务。",
    "省里还安排专项资金支持烘干设施建设，减少粮食产后损失。",
    "截至目前，全省已累计收购秋粮一百六十万吨，收购进度快于去年同期。",
];
const GRAIN_TITLE: &str = "全省秋粮收购工作全面展开";

const CANTEEN: &[&str] = &[
    "城东街道首家社区养老食堂日前开门迎客，为辖区六十岁以上老人提供早中晚三餐。",
    "食堂菜品由专业营养师搭配，每餐两荤两素一汤，老人凭卡就餐可享受八折优惠，八十岁以上老人再减两元。",
    "街道负责人表示，下一步将为行动不便的老人提供送餐上门服务，并计划年内在辖区再开设两家同类食堂。",
];
const CANTEEN_TITLE: &str = "城东街道首家社区养老食堂开张";

/// Two unrelated notices titled "通知", two "乔迁新居".
const NOTICE_WATER: &str = "因供水管网改造施工，本周六上午八时至下午六时幸福里小区暂停供水，请居民提前做好储水准备。特此通知。";
const NOTICE_MEETING: &str = "学校定于下周一下午三时在行政楼三楼会议室召开全体教职工大会，请各部门负责人通知到人，准时参会。";
const MOVE_TAX: &str = "区税务局第二分局已于本月十日迁入新址办公，新址位于长安路三百六十九号，原址同时停止办理业务，咨询电话不变。";
const MOVE_COMMUNITY: &str = "经过半年装修，阳光社区居委会日前搬进了新建成的党群服务中心，居民办事、参加活动都有了更宽敞的场所。";

/// A stock opening, then two different reports.
const STOCK: &str =
    "为深入贯彻落实党中央、国务院关于安全生产工作的决策部署，切实保障人民群众生命财产安全，";
const GAS: &str = "市应急管理局从即日起在全市范围内开展为期三个月的燃气安全专项整治，重点检查餐饮场所、老旧小区和农贸市场的燃气使用情况，对发现的隐患实行清单管理、限期整改。";
const TRANSPORT: &str = "市交通运输局决定在国庆假期前对全市客运站、码头和长途客运车辆开展拉网式安全检查，严查超员超载、疲劳驾驶等违法行为，确保群众出行平安。";

/// Follow-ups: the metro five days later (same title, a recap of the first
/// report), the library the next day (new title, new text).
const METRO_LATER: &str = "地铁六号线二期开通五天来，累计客运量已突破一百二十万人次，日均客流比预期高出近三成。运营公司表示，将根据客流变化在早晚高峰加开临客，并优化部分站点的进出站组织。此前报道，地铁六号线二期工程已于本月九日上午开通运营，线路全长十八点五公里，共设车站十二座。";
const LIB_LATER: &str = "记者昨天从市图书馆获悉，新馆开放首日共接待读者两万余人次，办理新读者证三千余张，借还图书一万八千册次。针对首日出现的排队时间较长问题，馆方表示将增设临时借还点，并延长周末开放时间。";
const LIB_LATER_TITLE: &str = "市图书馆新馆开放首日接待读者两万人次";

/// Two short items that share nothing but the long list of other titles
/// after them: were the list kept as text, it would make them 67% alike.
const RAIN: &str = "市气象台今天下午发布暴雨蓝色预警，预计今晚全市有大到暴雨。";
const BUSES: &str = "本市首批五十辆新能源公交车昨天投入运营，服务城东六条线路。";
const RELATED: &[&str] = &[
    "第十届全民读书节下月开幕",
    "老旧小区加装电梯提速",
    "国庆假期全市接待游客创新高",
    "中小学课后服务实现全覆盖",
    "滨江公园完成提升改造",
    "新一批人才公寓开始配租",
    "城西污水处理厂扩建完工",
    "全市新增公共充电桩三千个",
    "社区卫生服务中心延时服务",
    "冬季供暖准备工作就绪",
];

const DAY: &str = "Thu, 09 Oct 2025 10:00:00 +0800";
const DAY_LATER: &str = "Thu, 09 Oct 2025 15:30:00 +0800";
const NEXT_DAY: &str = "Fri, 10 Oct 2025 08:00:00 +0800";
const FIVE_DAYS_LATER: &str = "Tue, 14 Oct 2025 09:00:00 +0800";

// ---- the ways outlets change a text --------------------------------------------

/// Full-width digits and Latin letters.
fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' | 'A'..='Z' | 'a'..='z' => char::from_u32(c as u32 + 0xFEE0).unwrap(),
            c => c,
        })
        .collect()
}

/// “” → 「」.
fn corner_quotes(s: &str) -> String {
    s.replace('“', "「").replace('”', "」")
}

/// “” → "" and half-width commas, colons and parentheses.
fn ascii_punct(s: &str) -> String {
    s.replace(['“', '”'], "\"")
        .replace('，', ",")
        .replace('：', ":")
        .replace('（', "(")
        .replace('）', ")")
}

fn paragraphs(ps: &[&str]) -> String {
    ps.iter().map(|p| format!("<p>{p}</p>")).collect()
}

/// A "相关推荐" block: heading, then the titles, one `<p>` each.
fn related_heading() -> String {
    let mut s = "<p>相关推荐</p>".to_string();
    for t in RELATED {
        s.push_str(&format!("<p>{t}</p>"));
    }
    s
}

/// The same titles as bare `- ` lines (no heading), for a plain-text body.
fn related_bare() -> String {
    RELATED.iter().map(|t| format!("\n- {t}")).collect()
}

/// The first `n` characters.
fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

// ---- feeds, the binary, the groupings -----------------------------------------

/// One item of an outlet's feed. Guids are unique across outlets.
struct FeedItem {
    outlet: &'static str,
    guid: &'static str,
    title: String,
    /// `None`: a title-only item.
    body: Option<String>,
    date: &'static str,
}

fn item(
    outlet: &'static str,
    guid: &'static str,
    title: &str,
    body: &str,
    date: &'static str,
) -> FeedItem {
    FeedItem {
        outlet,
        guid,
        title: title.to_string(),
        body: Some(body.to_string()),
        date,
    }
}

/// Outlet "e" is GBK bytes declared `encoding="gb2312"`, the others UTF-8.
const OUTLETS: &[&str] = &["a", "b", "c", "d", "e"];

/// Writes one RSS file per outlet, polls them one at a time in `order`
/// (merging depends on what is already stored: a fixed order keeps the
/// result reproducible), and returns the stories as sorted lists of
/// `outlet/guid`.
fn stories_of(copies: &[FeedItem], order: &[&str]) -> Vec<Vec<String>> {
    let env = Env::new(&[]);
    let mut sources = Vec::new();
    for &outlet in OUTLETS {
        let items: Vec<Item<'_>> = copies
            .iter()
            .filter(|c| c.outlet == outlet)
            .map(|c| Item {
                guid: Some(c.guid),
                link: None,
                title: Some(&c.title),
                description: c.body.as_deref(),
                pub_date: Some(c.date),
            })
            .collect();
        let xml = rss2(&format!("outlet {outlet}"), &items);
        let bytes = if outlet == "e" {
            gbk(&xml.replace("encoding=\"utf-8\"", "encoding=\"gb2312\""))
        } else {
            xml.into_bytes()
        };
        let file = format!("{outlet}.xml");
        std::fs::write(env.path(&file), bytes).unwrap();
        sources.push(src(outlet, &env.file_url(&file)));
    }
    env.write_config(FETCH, &sources, "");
    for outlet in order {
        let run = env.poll(&["--source", outlet]);
        assert_eq!(summary_counts(&run.stderr), (1, 0, 0), "{run:?}");
    }
    let mut stories: Vec<Vec<String>> = env
        .export(&[])
        .iter()
        .map(|story| {
            let mut g: Vec<String> = story["copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    format!(
                        "{}/{}",
                        c["source"].as_str().unwrap(),
                        c["guid"].as_str().unwrap()
                    )
                })
                .collect();
            g.sort();
            g
        })
        .collect();
    stories.sort();
    assert_eq!(
        stories.iter().map(Vec::len).sum::<usize>(),
        copies.len(),
        "every copy is in the export"
    );
    stories
}

/// The expected stories, in the form `stories_of` returns.
fn expect(groups: &[&[&str]], copies: &[FeedItem]) -> Vec<Vec<String>> {
    let outlet_of = |guid: &str| {
        copies
            .iter()
            .find(|c| c.guid == guid)
            .unwrap_or_else(|| panic!("no copy {guid}"))
            .outlet
    };
    let mut out: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let mut v: Vec<String> = g
                .iter()
                .map(|guid| format!("{}/{guid}", outlet_of(guid)))
                .collect();
            v.sort();
            v
        })
        .collect();
    out.sort();
    assert_eq!(
        out.iter().map(Vec::len).sum::<usize>(),
        copies.len(),
        "the expectation names every copy once"
    );
    out
}

/// The hard negatives (with the stories they must stay apart from), and
/// their expected stories: each a story of its own, or merged only with
/// identical copies of itself.
fn hard_negatives() -> (Vec<FeedItem>, Vec<&'static [&'static str]>) {
    let lib = format!("<p>{LIB_1}</p><p>{LIB_2}</p><p>{LIB_3}</p>");
    let metro = format!("<p>{METRO_1}</p><p>{METRO_2}</p><p>{METRO_3}</p>");
    let copies = vec![
        // The reports the follow-ups follow.
        item("a", "a-lib-origin", LIB_TITLE, &lib, DAY),
        item("b", "b-metro-origin", METRO_TITLE, &metro, DAY),
        // Follow-ups: the same title five days later; a new title the next day.
        item(
            "c",
            "c-metro-later",
            METRO_TITLE,
            &format!("<p>{METRO_LATER}</p>"),
            FIVE_DAYS_LATER,
        ),
        item(
            "d",
            "d-lib-later",
            LIB_LATER_TITLE,
            &format!("<p>{LIB_LATER}</p>"),
            NEXT_DAY,
        ),
        // Same title, different notices; the water notice copied by two outlets.
        item(
            "a",
            "a-notice-water",
            "通知",
            &format!("<p>{NOTICE_WATER}</p>"),
            DAY,
        ),
        item("c", "c-notice-water", "通知", NOTICE_WATER, DAY_LATER),
        item(
            "b",
            "b-notice-meeting",
            "通知",
            &format!("<p>{NOTICE_MEETING}</p>"),
            DAY,
        ),
        item(
            "c",
            "c-move-tax",
            "乔迁新居",
            &format!("<p>{MOVE_TAX}</p>"),
            DAY,
        ),
        item(
            "d",
            "d-move-community",
            "乔迁新居",
            &format!("<p>{MOVE_COMMUNITY}</p>"),
            DAY,
        ),
        // Title-only items with the same short title.
        FeedItem {
            outlet: "a",
            guid: "a-bulletin",
            title: "公告".into(),
            body: None,
            date: DAY,
        },
        FeedItem {
            outlet: "e",
            guid: "e-bulletin",
            title: "公告".into(),
            body: None,
            date: DAY,
        },
        // The same stock opening, then different reports.
        item(
            "b",
            "b-stock-gas",
            "全市开展燃气安全专项整治",
            &format!("<p>{STOCK}{GAS}</p>"),
            DAY,
        ),
        item(
            "e",
            "e-stock-transport",
            "节前客运安全大检查启动",
            &format!("<p>{STOCK}{TRANSPORT}</p>"),
            DAY_LATER,
        ),
        // Nothing in common but the list of other titles after them; the
        // bus item copied again with the list bare.
        item(
            "a",
            "a-rain",
            "暴雨蓝色预警发布",
            &format!("<p>{RAIN}</p>{}", related_heading()),
            DAY,
        ),
        item(
            "b",
            "b-buses",
            "新能源公交车投入运营",
            &format!("<p>{BUSES}</p>{}", related_heading()),
            DAY,
        ),
        item(
            "d",
            "d-buses",
            "新能源公交车投入运营",
            &format!("{BUSES}{}", related_bare()),
            DAY_LATER,
        ),
    ];
    let groups: Vec<&'static [&'static str]> = vec![
        &["a-lib-origin"],
        &["b-metro-origin"],
        &["c-metro-later"],
        &["d-lib-later"],
        &["a-notice-water", "c-notice-water"],
        &["b-notice-meeting"],
        &["c-move-tax"],
        &["d-move-community"],
        &["a-bulletin"],
        &["e-bulletin"],
        &["b-stock-gas"],
        &["e-stock-transport"],
        &["a-rain"],
        &["b-buses", "d-buses"],
    ];
    (copies, groups)
}

/// Copies of one text that only boilerplate, typography and markup tell
/// apart: the content hash already makes them one story.
#[test]
fn exact_copies_merge_and_hard_negatives_stay_apart() {
    let (mut copies, mut groups) = hard_negatives();
    copies.extend([
        // The library report, five ways.
        item(
            "b",
            "b-lib",
            &format!("{LIB_TITLE}_华夏网"),
            &format!(
                "<p>中新网北京10月9日电（记者 杜燕）{LIB_1}</p><p>{LIB_2}</p><p>{LIB_3}(完)</p>\
                 <p>【责任编辑：王五】</p>{}",
                related_heading()
            ),
            DAY,
        ),
        item(
            "c",
            "c-lib",
            &format!("【文化】{LIB_TITLE}"),
            &format!(
                "<div>原标题：新馆开门迎客<br>新华社北京10月9日电（记者张三）{}<br>{}<br>{}</div>",
                fullwidth(LIB_1),
                corner_quotes(&fullwidth(LIB_2)),
                fullwidth(LIB_3)
            ),
            DAY_LATER,
        ),
        item(
            "d",
            "d-lib",
            LIB_TITLE,
            &format!(
                "本报讯（记者 李四）{}\n{}\n{}\n责任编辑：赵六{}",
                ascii_punct(LIB_1),
                ascii_punct(LIB_2),
                ascii_punct(LIB_3),
                related_bare()
            ),
            DAY_LATER,
        ),
        item(
            "e",
            "e-lib",
            &format!("{LIB_TITLE} - 东方快报"),
            &format!("<p>{LIB_1}{LIB_2}{LIB_3}</p>"),
            NEXT_DAY,
        ),
        // The metro report: a dateline alone on its line, (完), credits.
        item(
            "a",
            "a-metro",
            &format!("{METRO_TITLE}|江南时报"),
            &format!(
                "<p>新华社上海10月9日电</p><p>{METRO_1}</p><p>{METRO_2}</p><p>{METRO_3}</p><p>（完）</p><p>（责编：王五、赵六）</p>"
            ),
            DAY_LATER,
        ),
        item(
            "e",
            "e-metro",
            METRO_TITLE,
            &format!("{METRO_1}<br>{METRO_2}<br>{METRO_3}<br>编辑：孙悦"),
            DAY,
        ),
    ]);
    groups.retain(|g| !g.contains(&"a-lib-origin") && !g.contains(&"b-metro-origin"));
    groups.push(&["a-lib-origin", "b-lib", "c-lib", "d-lib", "e-lib"]);
    groups.push(&["b-metro-origin", "a-metro", "e-metro"]);
    assert_eq!(stories_of(&copies, OUTLETS), expect(&groups, &copies));
}

/// Copies that are not the same text: summaries cut from the start of the
/// full text (with and without "…"), a sentence dropped or added. Exact
/// hashing keeps each apart; the hard negatives must stay apart still.
fn near_duplicates() -> (Vec<FeedItem>, Vec<&'static [&'static str]>) {
    let (mut copies, mut groups) = hard_negatives();
    let grain_text = GRAIN.concat();
    copies.extend([
        item("a", "a-grain", GRAIN_TITLE, &paragraphs(GRAIN), DAY),
        // A summary of 120 characters with "…", one of 90 without.
        item(
            "b",
            "b-grain-summary",
            &format!("{GRAIN_TITLE}_华夏网"),
            &format!("{}…", prefix(&grain_text, 120)),
            DAY,
        ),
        item(
            "c",
            "c-grain-summary",
            GRAIN_TITLE,
            &format!("新华社济南10月9日电 {}", prefix(&grain_text, 90)),
            DAY_LATER,
        ),
        // A sentence dropped; a sentence added.
        item(
            "d",
            "d-grain-dropped",
            GRAIN_TITLE,
            &paragraphs(&[GRAIN[0], GRAIN[1], GRAIN[3], GRAIN[4]]),
            DAY_LATER,
        ),
        item(
            "e",
            "e-grain-added",
            &format!("【财经】{GRAIN_TITLE}"),
            &format!(
                "{}<p>记者了解到，今年全省秋粮总体丰收，品质好于常年。</p>",
                paragraphs(GRAIN)
            ),
            NEXT_DAY,
        ),
        // The canteen: the full text, and a summary first (in another feed).
        item(
            "c",
            "c-canteen",
            CANTEEN_TITLE,
            &paragraphs(CANTEEN),
            DAY_LATER,
        ),
        item(
            "b",
            "b-canteen-summary",
            CANTEEN_TITLE,
            &format!("{}……", prefix(&CANTEEN.concat(), 85)),
            DAY,
        ),
    ]);
    groups.push(&[
        "a-grain",
        "b-grain-summary",
        "c-grain-summary",
        "d-grain-dropped",
        "e-grain-added",
    ]);
    groups.push(&["c-canteen", "b-canteen-summary"]);
    (copies, groups)
}

#[test]
fn near_duplicates_merge_and_hard_negatives_stay_apart() {
    let (copies, groups) = near_duplicates();
    assert_eq!(stories_of(&copies, OUTLETS), expect(&groups, &copies));
}

/// The same copies arriving in another order: the two summaries and the
/// copy with a sentence dropped first. The first summary includes the
/// dropped sentence's opening, so it is not contained in that copy; when
/// the full text arrives it bridges two stories that must become one.
#[test]
fn near_duplicates_merge_whatever_the_arrival_order() {
    let (copies, groups) = near_duplicates();
    assert_eq!(
        stories_of(&copies, &["b", "d", "a", "c", "e"]),
        expect(&groups, &copies)
    );
}

/// The bridge itself, step by step: a summary and a copy with a sentence
/// dropped are stored as two stories; the full text matches both, and the
/// two become one — under the id readers saw first, with the other's copies
/// moved over and its feed entry gone, and nothing left dangling.
#[test]
fn a_copy_that_matches_two_stories_merges_them_under_the_first_seen_id() {
    let env = Env::new(&[]);
    let grain = GRAIN.concat();
    let feeds = [
        ("b", format!("{}…", prefix(&grain, 120)), "b-summary"),
        (
            "d",
            paragraphs(&[GRAIN[0], GRAIN[1], GRAIN[3], GRAIN[4]]),
            "d-dropped",
        ),
        ("a", paragraphs(GRAIN), "a-full"),
    ];
    let mut sources = Vec::new();
    for (outlet, body, guid) in &feeds {
        let xml = rss2(
            outlet,
            &[Item {
                guid: Some(guid),
                link: Some(&format!("https://{outlet}.example/{guid}")),
                title: Some(GRAIN_TITLE),
                description: Some(body),
                pub_date: Some(DAY),
            }],
        );
        let file = format!("{outlet}.xml");
        std::fs::write(env.path(&file), xml).unwrap();
        sources.push(src(outlet, &env.file_url(&file)));
    }
    env.write_config(
        FETCH,
        &sources,
        "[[topic]]\nslug = \"grain\"\ntitle = \"秋粮\"\nquery = \"秋粮\"\n",
    );
    env.poll(&["--source", "b"]);
    let first = env.export(&[])[0]["id"].as_str().unwrap().to_string();
    // first_seen has one-second resolution: make "seen first" unambiguous.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    env.poll(&["--source", "d"]);
    assert_eq!(env.stories(), 2, "stored apart: neither contains the other");

    let run = env.poll(&["--source", "a"]);
    assert!(run.stderr.contains("1 joined to another"), "{run:?}");
    let stories = env.export(&[]);
    assert_eq!(stories.len(), 1, "{stories:?}");
    assert_eq!(
        stories[0]["id"],
        first.as_str(),
        "the id readers saw first stays"
    );
    let methods: Vec<(String, String)> = stories[0]["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["method"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        methods.contains(&("d".into(), "bridge".into())),
        "{methods:?}"
    );
    assert_eq!(methods.len(), 3);
    assert_eq!(stories[0]["topics"], serde_json::json!(["grain"]));
    assert_eq!(env.count("SELECT count(*) FROM story_topics"), 1);
    // The near-duplicate keys live in each story's row (migration 0010):
    // none can outlive its story; every story left still has its own.
    assert_eq!(
        env.count(
            "SELECT count(*) FROM stories s LEFT JOIN story_texts t ON t.sid = s.sid
             WHERE t.near_keys IS NULL"
        ),
        0
    );
    assert_eq!(env.dangling(), 0);
    // The story's text is now the full one.
    let text_len = env.count("SELECT CAST(length(text) AS BIGINT) FROM story_texts");
    assert!(
        text_len as usize >= grain.chars().count() - 10,
        "{text_len}"
    );
    let feed = env.run(&["render", "grain", "--format", "json"]);
    let feed: serde_json::Value = serde_json::from_str(&feed.stdout).unwrap();
    assert_eq!(feed["items"].as_array().unwrap().len(), 1);
}

// ---- Traditional and Simplified script ----------------------------------------

const EDU_SIMPLIFIED: &str = "记者从北京市教委了解到，2023年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展，在更大范围、更深领域加强教育协同，形成更加紧密的新发展格局。";
const EDU_TRADITIONAL: &str = "記者從北京市教委了解到，2023年京津冀教育協同發展工作會議在京召開。三地將積極推進各級各類教育融合發展，在更大範圍、更深領域加強教育協同，形成更加緊密的新發展格局。";

#[test]
fn traditional_and_simplified_copies_merge_and_a_query_in_either_script_finds_them() {
    let server = TestServer::start();
    let feed = |title: &str, body: &str, guid: &str| {
        rss2(
            "教育",
            &[Item {
                guid: Some(guid),
                link: Some("https://outlet.example/edu.html"),
                title: Some(title),
                description: Some(body),
                pub_date: Some(DAY),
            }],
        )
    };
    server.fixed(
        "/xinhua",
        Response::ok(
            RSS_TYPE,
            feed("京津冀教育协同发展工作会议召开", EDU_SIMPLIFIED, "s-1"),
        ),
    );
    server.fixed(
        "/cna",
        Response::ok(
            RSS_TYPE,
            feed("京津冀教育協同發展工作會議召開", EDU_TRADITIONAL, "t-1"),
        ),
    );
    let topics = "\n[[topic]]\nslug = \"edu\"\ntitle = \"教育\"\nquery = '教育 AND 协同'\n\
                  \n[[topic]]\nslug = \"edu-t\"\ntitle = \"教育\"\nquery = '會議'\n";
    let env = Env::with(
        FETCH,
        &[
            src("xinhua", &server.url("/xinhua")),
            src("cna", &server.url("/cna")),
        ],
        topics,
    );
    env.poll(&[]);
    assert_eq!(env.copies(), 2);
    assert_eq!(env.stories(), 1, "one story in two scripts");
    let stories = env.export(&[]);
    assert_eq!(stories[0]["copies"].as_array().unwrap().len(), 2);
    let topics: Vec<&str> = stories[0]["topics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t.as_str())
        .collect();
    assert_eq!(topics, vec!["edu", "edu-t"], "{stories:?}");
    // `text` is what topics matched and dedupe compared: the normalized text
    // of the copy stored first (the two are equally long), in its script.
    let text = stories[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("记者从北京市教委了解到,2023年京津冀教育协同")
            || text.starts_with("記者從北京市教委了解到,2023年京津冀教育協同"),
        "{text}"
    );
    // What readers see keeps each outlet's script.
    let titles = env.copy_titles("cna");
    assert_eq!(titles, vec!["京津冀教育協同發展工作會議召開".to_string()]);
}

// ---- issue 14: a follow-up that reuses the lead, in two scripts ---------------

/// A report whose long first sentence a follow-up repeats the next day.
const TOUR_LEAD: &str = "记者从市文化和旅游局获悉，今年国庆假期全市共接待游客八百六十万人次，实现旅游收入七十二亿元，两项指标均创历史新高。";
const TOUR_LEAD_TRADITIONAL: &str = "記者從市文化和旅遊局獲悉，今年國慶假期全市共接待遊客八百六十萬人次，實現旅遊收入七十二億元，兩項指標均創歷史新高。";
const TOUR_REPORT: &[&str] = &[
    "假期期间，全市各大景区推出夜游、非遗展演等一百多项特色活动，古城景区单日最高接待游客十二万人次。",
    "文旅部门提醒，秋季出游仍需提前预约，错峰出行，注意安全。",
];
const TOUR_REPORT_TRADITIONAL: &str = "假期期間，全市各大景區推出夜遊、非遺展演等一百多項特色活動";
const TOUR_FOLLOW_UP: &[&str] = &[
    "不过，记者走访发现，部分景区周边停车难、如厕难问题依然突出，一些游客反映排队时间过长。",
    "对此，市文旅局表示，将会同交通、城管等部门制定整改方案，并在下月底前完成景区周边停车场扩容。",
];

/// The full text of the report or the follow-up: the shared lead, then
/// the story's own two paragraphs.
fn tour_full(rest: &[&str]) -> String {
    format!("<p>{TOUR_LEAD}{}</p><p>{}</p>", rest[0], rest[1])
}

/// A report, its copies (full text, a Traditional summary behind a
/// Traditional dateline, a ~300-character style summary with its
/// paragraphs glued, a summary that is only the lead published hours
/// later), and the next day's follow-up that opens with the report's first
/// sentence (full text, a summary, and a summary that is the lead and four
/// characters more): two stories, whatever the summaries share.
#[test]
fn a_follow_up_reusing_the_lead_stays_apart_and_each_story_keeps_its_summaries() {
    let (report_full, follow_full) = (tour_full(TOUR_REPORT), tour_full(TOUR_FOLLOW_UP));
    let glued = format!(
        "{TOUR_LEAD}{}{}…",
        TOUR_REPORT[0],
        prefix(TOUR_REPORT[1], 12)
    );
    let copies = vec![
        item(
            "a",
            "r-full",
            "国庆假期全市接待游客创新高",
            &report_full,
            DAY,
        ),
        item(
            "b",
            "r-trad",
            "國慶假期全市接待遊客創新高",
            &format!("本報訊（記者 王五）{TOUR_LEAD_TRADITIONAL}{TOUR_REPORT_TRADITIONAL}……"),
            DAY,
        ),
        item("c", "r-glued", "国庆假期全市接待游客创新高", &glued, DAY),
        item(
            "d",
            "r-lead",
            "国庆假期全市接待游客创新高",
            &format!("{TOUR_LEAD}…"),
            DAY_LATER,
        ),
        item(
            "a",
            "f-full",
            "景区停车难如厕难问题待解",
            &follow_full,
            NEXT_DAY,
        ),
        item(
            "d",
            "f-sum",
            "景区停车难如厕难问题待解",
            &format!("{TOUR_LEAD}{}…", prefix(TOUR_FOLLOW_UP[0], 30)),
            NEXT_DAY,
        ),
        item(
            "e",
            "f-lead",
            "景区停车难如厕难问题待解",
            &format!("{TOUR_LEAD}不过，记者…"),
            NEXT_DAY,
        ),
    ];
    let groups: Vec<&[&str]> = vec![
        &["r-full", "r-trad", "r-glued", "r-lead"],
        &["f-full", "f-sum", "f-lead"],
    ];
    assert_eq!(stories_of(&copies, OUTLETS), expect(&groups, &copies));
    // Summaries first, full texts last: the same two stories.
    assert_eq!(
        stories_of(&copies, &["e", "d", "c", "b", "a"]),
        expect(&groups, &copies)
    );
}

/// `stories explain` lists the stories that were candidates and judged
/// different: a follow-up that reuses a report's lead (found by the lead
/// key, kept apart by the rest of its text) names the report.
#[test]
fn explain_names_the_report_whose_lead_a_follow_up_reuses_as_a_near_miss() {
    let (report, follow) = (tour_full(TOUR_REPORT), tour_full(TOUR_FOLLOW_UP));
    let env = Env::new(&[]);
    let xml = rss2(
        "outlet a",
        &[
            Item {
                guid: Some("r"),
                title: Some("国庆假期全市接待游客创新高"),
                description: Some(&report),
                pub_date: Some(DAY),
                ..Default::default()
            },
            Item {
                guid: Some("f"),
                title: Some("景区停车难如厕难问题待解"),
                description: Some(&follow),
                pub_date: Some(NEXT_DAY),
                ..Default::default()
            },
        ],
    );
    std::fs::write(env.path("a.xml"), xml).unwrap();
    env.write_config(FETCH, &[src("a", &env.file_url("a.xml"))], "");
    env.poll(&[]);
    let stories = env.export(&[]);
    assert_eq!(stories.len(), 2, "{stories:?}");
    let id_of = |title: &str| {
        stories
            .iter()
            .find(|s| s["title"] == title)
            .and_then(|s| s["id"].as_str())
            .unwrap_or_else(|| panic!("no story {title}: {stories:?}"))
            .to_string()
    };
    let (report_id, follow_id) = (
        id_of("国庆假期全市接待游客创新高"),
        id_of("景区停车难如厕难问题待解"),
    );
    let run = env.run(&["stories", "explain", &follow_id]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let misses = run
        .stdout
        .split("near misses")
        .nth(1)
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(misses.contains(&report_id[..16]), "{run:?}");
    assert!(misses.contains("国庆假期全市接待游客创新高"), "{run:?}");
}
