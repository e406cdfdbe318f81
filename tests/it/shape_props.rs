//! Property tests of the text shapes (issue 20): for any article A (drawn
//! from sentences written here, with figures) and headline T, every copy
//! derived the ways real feeds derive them — a flattened summary of 50–300
//! characters, with an `原标题` span, the headline, a byline or a dateline
//! run into its start, other punctuation and widths, Traditional script —
//! lands in A's story: it shares an index key with A's full text (the store
//! finds the story) and `dedupe::judge` calls them the same. A follow-up that
//! reuses A's lead and figures, then says something new, stays apart from A
//! and from every such copy long enough to tell.

use crate::common::{parsed_item as item, store_would_merge as same};
use newsriver::normalize::Normalizer;
use newsriver::script;
use newsriver::wording::Script;
use proptest::prelude::*;

/// Sentences of invented reports (each with its own words and figures).
const SENTENCES: &[&str] = &[
    "市交通运输局昨天召开新闻发布会，通报今年前三季度全市公共交通运行情况。",
    "数据显示，全市公交日均客运量达到286万人次，同比增长7.4%。",
    "地铁线网总里程已达312公里，日均客流首次突破400万人次。",
    "为缓解早晚高峰拥堵，相关部门将在年底前新开通定制公交线路18条。",
    "市民可通过手机应用提前预约座位，票价按里程分段计算。",
    "与此同时，全市还将新建公交专用道45公里，重点覆盖中心城区主干道。",
    "发布会上，有关负责人还回答了记者关于出租车运价调整的提问。",
    "他表示，运价调整方案仍在听取各方意见，将在充分论证后择机公布。",
    "省农业农村厅介绍，今年全省粮食播种面积稳定在1.1亿亩以上。",
    "受夏季持续高温影响，部分地区玉米单产有所下降，但水稻长势良好。",
    "为确保颗粒归仓，全省组织农机具32万台套参与秋收作业。",
    "各地还开通了农机跨区作业绿色通道，免收通行费。",
    "据气象部门预测，未来十天全省以晴好天气为主，有利于秋收秋种。",
    "农业专家提醒，农户要抓住晴好天气及时晾晒，防止粮食霉变。",
    "市卫生健康委近日发布通知，全市二级以上医院将全面推行检查结果互认。",
    "首批纳入互认范围的项目共有86项，涵盖血常规、肝功能和胸部影像等。",
    "患者在一家医院做过的检查，转到另一家医院就诊时原则上不再重复检查。",
    "据测算，这项措施每年可为患者节省医疗费用约1.3亿元。",
    "通知还要求各医院在今年底前完成信息系统改造，实现检查结果在线调阅。",
    "对于确有必要重复检查的，医生应当向患者说明理由。",
];

/// Sentences of a follow-up: what is new the next days.
const FOLLOW: &[&str] = &[
    "记者今天从有关部门了解到，相关工作已进入第二阶段，进展总体顺利。",
    "截至昨天，已有超过一半的区县完成了前期准备，其余区县将在本月内完成。",
    "部分市民反映，相关信息公开还不够及时，希望能有更多渠道了解进展。",
    "对此，有关负责人表示，将每周通过官方网站发布一次工作进展情况。",
];

const HEADLINES: &[&str] = &[
    "全市公共交通前三季度运行情况通报",
    "定制公交线路年底前新开通",
    "全省秋收工作全面展开",
    "二级以上医院将推行检查结果互认",
    "多项民生措施陆续落地",
];

/// How the copy opens before the report.
#[derive(Clone, Debug)]
enum Opening {
    None,
    /// `原标题:` and the headline, then a separator (or a site suffix).
    OriginalTitle(&'static str),
    /// The headline run into the text, with or without a decoration.
    Headline(&'static str),
    /// A byline: roles and names, a paper, a place.
    Byline(String),
    /// A dateline, mainland or Taiwan/Hong Kong.
    Dateline(String),
}

fn opening() -> impl Strategy<Value = Opening> {
    let names = prop::sample::select(vec!["王小明", "李华", "张某", "赵大年", "陈静"]);
    let roles = prop::sample::select(vec!["记者", "实习记者", "通讯员", "首席记者", "见习记者"]);
    let byline = (
        roles.clone(),
        names.clone(),
        roles,
        names.clone(),
        0..4usize,
    )
        .prop_map(|(r1, n1, r2, n2, form)| match form {
            0 => format!("{r1} {n1} {r2} {n2} "),
            1 => format!("本报讯({n1} {r2} {n2})"),
            2 => format!("新民网讯({r1}{n1}\u{3000}通讯员{n2})"),
            _ => format!("{r1} {n1} 某某晨报(www.example.cn){r2} {n2} 南京报道"),
        });
    let dateline = (names, 1..28u32, 0..4usize).prop_map(|(n, day, form)| match form {
        0 => format!("中新网北京10月{day}日电 (记者 {n}) "),
        1 => format!("（中央社記者{n}台北{day}日電）"),
        2 => "【明報專訊】".to_string(),
        _ => format!("新华社杭州9月{day}日电（记者{n}）"),
    });
    prop_oneof![
        Just(Opening::None),
        prop::sample::select(vec![" ", "\u{3000}", "_手机网易网", "  "])
            .prop_map(Opening::OriginalTitle),
        prop::sample::select(vec!["", "(图)", " ", "(组图)"]).prop_map(Opening::Headline),
        byline.prop_map(Opening::Byline),
        dateline.prop_map(Opening::Dateline),
    ]
}

/// Punctuation and width as an outlet prints them.
fn punctuate(text: &str, form: u8) -> String {
    match form % 4 {
        0 => text.to_string(),
        1 => text
            .replace('，', ",")
            .replace('。', ".")
            .replace(['“', '”'], "\""),
        2 => text
            .chars()
            .map(|c| match c {
                '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                '.' => '．',
                '%' => '％',
                c => c,
            })
            .collect(),
        _ => text
            .replace('“', "「")
            .replace('”', "」")
            .replace('。', "。\u{3000}"),
    }
}

/// An article: 4–8 distinct sentences, two or three to a paragraph.
fn article() -> impl Strategy<Value = Vec<&'static str>> {
    prop::sample::subsequence(SENTENCES.to_vec(), 4..9).prop_shuffle()
}

fn full_html(sentences: &[&str]) -> String {
    sentences
        .chunks(2)
        .map(|p| format!("<p>{}</p>", p.concat()))
        .collect()
}

/// The copy's body: `opening`, then the first `cut` characters of the
/// article on one line (a flattened summary), punctuated by `form`.
fn derive(sentences: &[&str], headline: &str, opening: &Opening, cut: usize, form: u8) -> String {
    let flat: String = sentences.concat();
    let mut summary: String = flat.chars().take(cut).collect();
    if summary.chars().count() < flat.chars().count() {
        summary.push('…');
    }
    let lead = match opening {
        Opening::None => String::new(),
        Opening::OriginalTitle(sep) => format!("原标题：{headline}{sep}"),
        Opening::Headline(deco) => format!("{headline}{deco}"),
        Opening::Byline(b) => b.clone(),
        Opening::Dateline(d) => d.clone(),
    };
    format!("{lead}{}", punctuate(&summary, form))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_derived_copy_lands_in_its_articles_story(
        sentences in article(),
        headline in prop::sample::select(HEADLINES.to_vec()),
        opening in opening(),
        cut in 50..300usize,
        form in 0..4u8,
        traditional in prop::bool::weighted(0.25),
    ) {
        let n = Normalizer::default();
        let full = n.normalize(&item(headline, &full_html(&sentences)));
        let mut body = derive(&sentences, headline, &opening, cut, form);
        if traditional {
            body = script::convert(&body, Script::Traditional).into_owned();
        }
        let copy = n.normalize_explained(&item(headline, &body));
        prop_assert!(!copy.text.is_empty());
        let (same, why) = same(&copy.text, &full.text, 0);
        prop_assert!(
            same,
            "{why}\ncopy: {:?}\nnormalized: {:?}\nremoved: {:?}\nfull: {:?}",
            body, copy.text, copy.removed, full.text
        );
    }

    #[test]
    fn a_follow_up_reusing_the_lead_and_figures_stays_apart(
        sentences in article(),
        new in prop::sample::subsequence(FOLLOW.to_vec(), 3..5),
        headline in prop::sample::select(HEADLINES.to_vec()),
        opening in opening(),
        cut in 50..300usize,
        form in 0..4u8,
    ) {
        let n = Normalizer::default();
        // The follow-up repeats the report's lead sentence (its figures
        // too), then tells what is new; published two days later.
        let mut follow = vec![sentences[0]];
        follow.extend(new);
        let follow = n.normalize(&item(headline, &full_html(&follow)));
        let full = n.normalize(&item(headline, &full_html(&sentences)));
        let two_days = 2 * 86_400;
        let (same_full, why) = same(&follow.text, &full.text, two_days);
        prop_assert!(!same_full, "{why}\nfollow-up: {:?}\nfull: {:?}", follow.text, full.text);
        let copy = n.normalize(&item(headline, &derive(&sentences, headline, &opening, cut, form)));
        let (same_copy, why) = same(&follow.text, &copy.text, two_days);
        prop_assert!(!same_copy, "{why}\nfollow-up: {:?}\ncopy: {:?}", follow.text, copy.text);
    }
}
