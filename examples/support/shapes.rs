//! Shapes of copies that real Chinese feeds produce and the rest of the
//! generator does not (issue 20): each a class drawn from the seed's
//! generator, never a fixed string. An outlet has a probability per shape
//! (`Mix`), so the copies of one story combine shapes.
//!
//! * `原标题 inline` — `原标题：X` (X the item title or an earlier
//!   headline, with or without a site suffix such as `_手机网易网`) run into
//!   the text: a space, an ideographic space or nothing between.
//! * `headline run-in` — the headline run into the start of the text, with
//!   or without decorations (`【快讯】`, `_雨雪`, `(图)`).
//! * `byline run-together` — bylines of 1–3 people with role words, paper
//!   names, `(www.xxx.cn)`, `<place>报道`, run into the text;
//!   `byline cut` — the text begins inside the byline (`记者 李某)…`).
//! * `TW/HK dateline` — `（中央社記者王小明台北3日電）`, `【明報專訊】`…
//! * `punctuation` — commas, ellipses, quotes, full-width digits and
//!   letters, ideographic-space indents, mixed within one copy.
//! * `lead added` — an outlet's sentence before the lead (ends in `！`).
//! * `first para removed` — the first paragraph is not carried.
//! * `promo lines` — `关注我们…`, `往期推荐●…`, `↓↓↓`… before, inside or
//!   after the text.

use super::Rng;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Shape {
    OrigTitleInline,
    HeadlineRunIn,
    Byline,
    BylineCut,
    TwHkDateline,
    Punctuation,
    LeadAdded,
    FirstParaRemoved,
    Promo,
}

impl Shape {
    /// Shapes an outlet draws a probability for (`BylineCut` is a variant
    /// of `Byline`, recorded on its own).
    pub const DRAWN: [Shape; 8] = [
        Shape::OrigTitleInline,
        Shape::HeadlineRunIn,
        Shape::Byline,
        Shape::TwHkDateline,
        Shape::Punctuation,
        Shape::LeadAdded,
        Shape::FirstParaRemoved,
        Shape::Promo,
    ];
    pub const ALL: [Shape; 9] = [
        Shape::OrigTitleInline,
        Shape::HeadlineRunIn,
        Shape::Byline,
        Shape::BylineCut,
        Shape::TwHkDateline,
        Shape::Punctuation,
        Shape::LeadAdded,
        Shape::FirstParaRemoved,
        Shape::Promo,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Shape::OrigTitleInline => "原标题 inline",
            Shape::HeadlineRunIn => "headline run-in",
            Shape::Byline => "byline run-together",
            Shape::BylineCut => "byline cut",
            Shape::TwHkDateline => "TW/HK dateline",
            Shape::Punctuation => "punctuation",
            Shape::LeadAdded => "lead added",
            Shape::FirstParaRemoved => "first para removed",
            Shape::Promo => "promo lines",
        }
    }
}

/// An outlet's probability of each shape (`Shape::DRAWN` order): three
/// outlets in five never use a given shape, the others on 15–60% of their
/// copies (about one shape a copy on average, several on some).
#[derive(Clone, Debug, Default)]
pub struct Mix(pub [f64; 8]);

impl Mix {
    pub fn draw(rng: &mut Rng) -> Mix {
        let mut p = [0.0; 8];
        for x in &mut p {
            if rng.chance(0.4) {
                *x = 0.15 + 0.45 * rng.below(1000) as f64 / 1000.0;
            }
        }
        Mix(p)
    }

    /// The shapes one copy gets.
    pub fn pick(&self, rng: &mut Rng) -> Vec<Shape> {
        Shape::DRAWN
            .iter()
            .zip(self.0)
            .filter(|&(_, p)| rng.chance(p))
            .map(|(&s, _)| s)
            .collect()
    }
}

#[rustfmt::skip]
const SURNAMES: &[char] = &[
    '王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '马', '朱', '胡', '郭',
    '何', '高', '林', '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹', '彭', '曾',
    '肖', '田', '董', '袁', '潘', '蒋', '蔡', '余', '杜', '叶', '程', '苏', '魏', '吕', '丁', '任',
];
#[rustfmt::skip]
const GIVEN: &[char] = &[
    '伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋', '勇', '艳', '杰', '娟', '涛', '明',
    '超', '秀', '霞', '平', '刚', '桂', '英', '华', '玉', '兰', '萍', '红', '鹏', '晨', '宇', '浩',
    '凯', '婷', '雪', '琳', '欣', '怡', '思', '远', '博', '文', '佳', '俊', '子', '一', '天', '晓',
];
pub const ROLES: &[&str] = &[
    "记者",
    "通讯员",
    "实习记者",
    "实习生",
    "见习记者",
    "特约记者",
    "首席记者",
];
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "北京", "上海", "广州", "深圳", "成都", "武汉", "杭州", "南京", "西安", "重庆", "长沙", "郑州",
    "济南", "福州", "合肥", "南宁", "贵阳", "兰州", "银川", "海口", "石家庄", "太原", "呼和浩特",
];
const PAPER_KINDS: &[&str] = &[
    "日报",
    "晚报",
    "时报",
    "商报",
    "都市报",
    "法治报",
    "青年报",
    "晨报",
];
const NET_PREFIXES: &[&str] = &[
    "正义",
    "人民",
    "光明",
    "央广",
    "中国青年",
    "法治",
    "大众",
    "东方",
    "南方",
    "北青",
];

/// A name of 2–3 Han characters.
pub fn name(rng: &mut Rng) -> String {
    let mut s = String::new();
    s.push(rng.pick(SURNAMES));
    for _ in 0..rng.range(1, 2) {
        s.push(rng.pick(GIVEN));
    }
    s
}

fn sep(rng: &mut Rng) -> &'static str {
    rng.pick(&[" ", "、", "\u{3000}", ""])
}

fn letters(rng: &mut Rng, lo: usize, hi: usize) -> String {
    (0..rng.range(lo, hi))
        .map(|_| (b'a' + rng.below(26) as u8) as char)
        .collect()
}

/// `原标题：X` (the title or an earlier headline, maybe with a site suffix),
/// then the separator to the text.
pub fn original_title(rng: &mut Rng, title: &str, lead: &str, outlet: &str) -> (String, String) {
    let earlier = || -> Option<String> {
        let clause: String = lead
            .split(['，', '。', ',', '！', '？'])
            .find(|c| (8..=26).contains(&c.chars().count()))?
            .to_string();
        Some(clause)
    };
    let x = if rng.chance(0.35) {
        earlier().unwrap_or_else(|| title.to_string())
    } else {
        title.to_string()
    };
    let suffix = match rng.below(10) {
        0..5 => String::new(),
        5 => format!("_{outlet}"),
        _ => rng
            .pick(&[
                "_手机网易网",
                "_网易新闻",
                "_手机新浪网",
                "_新浪网",
                "|澎湃新闻",
                "-搜狐",
                "_凤凰网",
                "_腾讯新闻",
            ])
            .to_string(),
    };
    let colon = rng.pick(&["：", ":", ": "]);
    let gap = rng.pick(&[" ", "", "\u{3000}", "  "]);
    (format!("原标题{colon}{x}{suffix}"), gap.to_string())
}

/// The headline, maybe decorated, run into the text.
pub fn headline(rng: &mut Rng, title: &str, city: &str) -> String {
    let pre = match rng.below(6) {
        0 => "【快讯】".to_string(),
        1 => "【独家】".to_string(),
        2 => format!("【{city}】"),
        _ => String::new(),
    };
    let post = match rng.below(7) {
        0 => format!(
            "_{}",
            rng.pick(&["雨雪", "天气", "社会", "财经", "教育", "民生", "要闻"])
        ),
        1 => rng
            .pick(&["(图)", "（图）", "(组图)", "（视频）"])
            .to_string(),
        2 => "|图".to_string(),
        _ => String::new(),
    };
    let gap = rng.pick(&["", "", "", " "]);
    format!("{pre}{title}{post}{gap}")
}

/// A byline: people with role words, paper, site, place; `cut` starts it
/// at a later role word or name (the text begins inside it).
pub fn byline(rng: &mut Rng, city: &str, m: u32, d: u32, cut: bool) -> Option<String> {
    let credit = |rng: &mut Rng, with_space: bool| -> String {
        let role = rng.pick(ROLES);
        let gap = if with_space {
            rng.pick(&[" ", "", "\u{3000}"])
        } else {
            ""
        };
        format!("{role}{gap}{}", name(rng))
    };
    let people = rng.range(1, 3);
    let paper = format!("{}{}", rng.pick(PLACES), rng.pick(PAPER_KINDS));
    let s = match rng.below(4) {
        // 实习记者 张某 某某时报(www.x.cn)记者 李某 深圳报道
        0 | 1 => {
            let mut s = String::new();
            for k in 0..people {
                if k > 0 {
                    s.push_str(sep(rng));
                }
                s.push_str(&credit(rng, true));
                if k == 0 && rng.chance(0.6) {
                    s.push(' ');
                    s.push_str(&paper);
                    if rng.chance(0.5) {
                        let open = rng.pick(&["(", "（"]);
                        let close = if open == "(" { ")" } else { "）" };
                        s.push_str(&format!("{open}www.{}.cn{close}", letters(rng, 3, 9)));
                    }
                } else if k + 1 < people {
                    s.push(' ');
                }
            }
            if rng.chance(0.5) {
                s.push_str(&format!(" {city}报道"));
            }
            s.push_str(rng.pick(&["", " ", "\u{3000}", "："]));
            s
        }
        // 本报讯(王某 记者 李某)10月18日
        2 => {
            let open = rng.pick(&["(", "（"]);
            let close = if open == "(" { ")" } else { "）" };
            let mut inner = Vec::new();
            for _ in 0..people {
                inner.push(if rng.chance(0.3) {
                    name(rng)
                } else {
                    let spaced = rng.chance(0.5);
                    credit(rng, spaced)
                });
            }
            let joint = rng.pick(&[" ", "、", "\u{3000}", ""]);
            let date = if rng.chance(0.5) {
                format!("{m}月{d}日，")
            } else {
                String::new()
            };
            format!(
                "{}讯{open}{}{close}{date}",
                rng.pick(&["本报", "本刊", "本网"]),
                inner.join(joint)
            )
        }
        // 正义网讯(记者张某　通讯员李某)
        _ => {
            let open = rng.pick(&["(", "（"]);
            let close = if open == "(" { ")" } else { "）" };
            let mut inner = Vec::new();
            for _ in 0..people.max(2) {
                let spaced = rng.chance(0.3);
                inner.push(credit(rng, spaced));
            }
            let joint = rng.pick(&[" ", "、", "\u{3000}", ""]);
            format!(
                "{}网讯{open}{}{close}",
                rng.pick(NET_PREFIXES),
                inner.join(joint)
            )
        }
    };
    if !cut {
        return Some(s);
    }
    // Where a later role word starts (not at 0).
    let mut spots: Vec<usize> = ROLES
        .iter()
        .flat_map(|r| s.match_indices(r).map(|(i, _)| i))
        .filter(|&i| i > 0)
        .collect();
    // A longer role word contains a shorter one (实习记者 ⊃ 记者): both spots
    // are kept, cuts inside the role word are real too.
    spots.sort_unstable();
    spots.dedup();
    if spots.is_empty() {
        return None;
    }
    let at = spots[rng.below(spots.len())];
    Some(s[at..].to_string())
}

/// A Taiwan or Hong Kong dateline (in Traditional script by the caller).
pub fn tw_hk_dateline(rng: &mut Rng, d: u32) -> String {
    let place = rng.pick(&[
        "台北",
        "高雄",
        "台中",
        "台南",
        "新竹",
        "花莲",
        "香港",
        "澳门",
        "东京",
        "华盛顿",
        "首尔",
    ]);
    let agency = rng.pick(&["中央社", "中通社", "法新社", "路透社", "共同社", "美联社"]);
    let (open, close) = rng.pick(&[("（", "）"), ("(", ")"), ("【", "】")]);
    match rng.below(5) {
        0 => format!("{open}{agency}{place}{d}日电{close}"),
        1 | 2 => format!("{open}{agency}记者{}{place}{d}日电{close}", name(rng)),
        3 => format!(
            "【{}专讯】",
            rng.pick(&["明报", "星岛", "东方", "信报", "成报", "文汇", "大公"])
        ),
        _ => format!(
            "{open}{}报道{close}",
            rng.pick(&[
                "星岛日报",
                "香港01",
                "文汇报",
                "大公报",
                "东方日报",
                "明报",
                "经济日报"
            ])
        ),
    }
}

/// An outlet's sentence before the lead (`{m}`, `{d}`, `{city}` filled in).
pub fn lead_sentence(rng: &mut Rng, m: u32, d: u32, city: &str) -> String {
    let spot = rng.pick(&[
        "火车站",
        "市民中心",
        "步行街",
        "体育馆",
        "高新区",
        "会展中心",
        "人民广场",
        "地铁站",
    ]);
    let wd = rng.pick(&["一", "二", "三", "四", "五", "六", "日"]);
    let h = rng.range(7, 20);
    match rng.below(7) {
        0 => format!("{m}月{d}日{h}时许，{city}{spot}人头攒动！"),
        1 => format!("今天是{m}月{d}日，星期{wd}！"),
        2 => format!(
            "早上好！{city}今天{}，气温{}℃至{}℃。",
            rng.pick(&["晴", "多云", "小雨", "阴"]),
            rng.range(5, 15),
            rng.range(16, 30)
        ),
        3 => format!("{m}月{d}日，记者来到{city}{spot}！"),
        4 => rng
            .pick(&["刚刚！", "重磅！", "最新消息！", "突发！", "好消息！"])
            .to_string(),
        5 => format!("{city}人注意了！"),
        _ => format!("{m}月{d}日，{city}{spot}，一起来看！"),
    }
}

/// One promo line; `others` are other stories' titles.
pub fn promo(rng: &mut Rng, outlet: &str, others: &[String]) -> String {
    let dot = rng.pick(&["●", "▶", "·", "■"]);
    match rng.below(10) {
        0 => rng
            .pick(&[
                "关注我们，获取更多精彩资讯！",
                "关注我们，获取更多精彩内容",
                "关注我们 获取更多资讯",
            ])
            .to_string(),
        1 | 2 => {
            let k = rng.range(1, 3).min(others.len());
            let list: String = others[..k].iter().map(|t| format!("{dot}{t}")).collect();
            format!(
                "{}{list}{}",
                rng.pick(&["往期推荐", "往期回顾", "推荐阅读 "]),
                rng.pick(&["点个在看再走", "点个在看，你最好看", "", "喜欢就点个在看吧"])
            )
        }
        3 => rng.pick(&["↓↓↓", "↓↓↓点击下方阅读原文", "▼▼▼"]).to_string(),
        4 => rng
            .pick(&[
                "点击上方蓝字关注我们",
                "点击上方蓝字 关注我们",
                "点击上方“蓝字”关注我们",
            ])
            .to_string(),
        5 => rng
            .pick(&["长按二维码关注", "长按识别二维码关注", "扫码关注我们"])
            .to_string(),
        6 => format!("更多精彩内容，请下载{outlet}客户端"),
        7 => rng
            .pick(&[
                "喜欢本文就点个赞吧！",
                "觉得有用就转发给朋友吧！",
                "欢迎在评论区留言！",
            ])
            .to_string(),
        8 => format!("{outlet}（ID：{}）", letters(rng, 5, 10)),
        _ => rng
            .pick(&[
                "分享到微信朋友圈",
                "来源：网络，如有侵权请联系删除",
                "本文来源：综合",
            ])
            .to_string(),
    }
}

/// The punctuation variants one copy takes (several at once).
#[derive(Clone, Debug, Default)]
pub struct Punct {
    /// Share of `，` written `,`.
    pub commas: f64,
    /// `……` written as this.
    pub ellipsis: Option<&'static str>,
    /// Quotes as ASCII or corner brackets (some or all).
    pub quotes: Option<(char, char, f64)>,
    /// Digits and Latin letters full-width.
    pub fullwidth: bool,
    /// Full-width digits written half-width (the opposite).
    pub halfwidth: bool,
    /// Paragraphs indented with two ideographic spaces.
    pub indent: bool,
    /// `：` `（）` half-width.
    pub ascii_marks: bool,
}

impl Punct {
    pub fn draw(rng: &mut Rng) -> Punct {
        let mut p = Punct::default();
        let k = rng.range(2, 4);
        let mut kinds = [0, 1, 2, 3, 4, 5];
        rng.shuffle(&mut kinds);
        for &kind in &kinds[..k] {
            match kind {
                0 => p.commas = 0.2 + 0.8 * rng.below(100) as f64 / 100.0,
                1 => p.ellipsis = Some(rng.pick(&["…", "...", "。。。", "……"])),
                2 => {
                    let (a, b) = rng.pick(&[('"', '"'), ('「', '」'), ('“', '”')]);
                    p.quotes = Some((a, b, 0.3 + 0.7 * rng.below(100) as f64 / 100.0));
                }
                3 => {
                    if rng.chance(0.6) {
                        p.fullwidth = true;
                    } else {
                        p.halfwidth = true;
                    }
                }
                4 => p.indent = true,
                _ => p.ascii_marks = true,
            }
        }
        p
    }

    pub fn describe(&self) -> String {
        let mut v = Vec::new();
        if self.commas > 0.0 {
            v.push(format!("commas {:.0}%", 100.0 * self.commas));
        }
        if let Some(e) = self.ellipsis {
            v.push(format!("ellipsis {e}"));
        }
        if let Some((a, b, _)) = self.quotes {
            v.push(format!("quotes {a}{b}"));
        }
        if self.fullwidth {
            v.push("full-width".into());
        }
        if self.halfwidth {
            v.push("half-width".into());
        }
        if self.indent {
            v.push("indent".into());
        }
        if self.ascii_marks {
            v.push("ascii marks".into());
        }
        v.join(", ")
    }

    /// One paragraph (or flattened text) restyled; `rng` decides the mixed ones.
    pub fn apply(&self, rng: &mut Rng, s: &str) -> String {
        let s = match self.ellipsis {
            Some(e) => s
                .replace("……", "\u{1}")
                .replace('…', "\u{1}")
                .replace('\u{1}', e),
            None => s.to_string(),
        };
        let mut open = true;
        let mut out = String::with_capacity(s.len());
        for c in s.chars() {
            let c = match c {
                '，' if self.commas > 0.0 && rng.chance(self.commas) => ',',
                '：' if self.ascii_marks => ':',
                '（' if self.ascii_marks => '(',
                '）' if self.ascii_marks => ')',
                '“' | '”' | '"' | '「' | '」' => match self.quotes {
                    Some((a, b, share)) if rng.chance(share) => {
                        let was_open = matches!(c, '“' | '「') || (c == '"' && open);
                        if c == '"' {
                            open = !open;
                        }
                        if was_open { a } else { b }
                    }
                    _ => c,
                },
                '0'..='9' | 'A'..='Z' | 'a'..='z' if self.fullwidth => {
                    char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                }
                '０'..='９' if self.halfwidth => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                c => c,
            };
            out.push(c);
        }
        if self.indent {
            format!("\u{3000}\u{3000}{out}")
        } else {
            out
        }
    }
}
