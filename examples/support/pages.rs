//! Article pages in three house templates modelled on Chinese news sites,
//! shared by `fulltext_eval` (extraction quality) and `dedupe_eval --web`
//! (dedupe with full text fetched from a local server) through `#[path]`:
//!
//! 0. a portal (chinanews-like): navigation, breadcrumbs, a date/source
//!    line, share bar, 责任编辑 line, 相关推荐 and 热门 lists, readers'
//!    comments, ICP footer; UTF-8 with the charset in HTTP;
//! 1. the same shape in a table layout (sina-like), GBK bytes whose charset
//!    is only in the page (`http-equiv … charset=gb2312`);
//! 2. an `article`/`aside` layout (thepaper-like) with 猜你喜欢 and a
//!    comment section.

/// Templates defined here.
pub const TEMPLATES: usize = 3;

/// Their names, for reports.
pub const NAMES: [&str; TEMPLATES] = [
    "portal (utf-8)",
    "portal (GBK, http-equiv)",
    "article/aside",
];

/// The chrome of a page: strings that must not survive extraction.
pub struct Chrome {
    pub nav: &'static str,
    pub related_heading: &'static str,
    pub hot_heading: &'static str,
    pub share: &'static str,
    pub comment: &'static str,
    pub footer: &'static str,
}

pub const CHROMES: [Chrome; TEMPLATES] = [
    Chrome {
        nav: "首页 | 滚动 | 国内 | 国际 | 社会 | 财经 | 体育 | 视频",
        related_heading: "相关推荐",
        hot_heading: "热门推荐",
        share: "分享到：微信 微博 QQ空间",
        comment: "网友评论：这篇报道写得很好，支持一下！",
        footer: "京ICP备05004340号-1 | 版权所有 未经授权禁止转载",
    },
    Chrome {
        nav: "新闻中心 体育 娱乐 财经 科技 博客 视频 邮箱",
        related_heading: "相关新闻",
        hot_heading: "24小时热门排行",
        share: "转发 收藏 打印 关闭窗口",
        comment: "我要评论 已有2381位网友参与 热评：说得太对了",
        footer: "Copyright © 1996-2026 新浪公司 版权所有 京ICP证000007",
    },
    Chrome {
        nav: "要闻 时事 财经 思想 生活 澎湃号",
        related_heading: "猜你喜欢",
        hot_heading: "热门评论",
        share: "扫码下载客户端 分享至朋友圈",
        comment: "评论（128） 最热 最新 匿名用户：期待后续报道",
        footer: "沪ICP备14003370号 沪公网安备31010602000299号 增值电信业务经营许可证",
    },
];

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// What one page shows besides its article.
pub struct Dressing<'a> {
    /// Other stories' titles, for the 相关 and 热门 lists.
    pub others: &'a [&'a str],
    /// The first number of the lists' links.
    pub story: usize,
    /// `2026年10月09日 10:21`.
    pub date: &'a str,
    /// `责任编辑：张明`.
    pub editor: &'a str,
}

/// Template `t`'s page (as text, before encoding) for an article of
/// `title` and `paragraphs` (plain text, escaped here).
pub fn html(t: usize, title: &str, paragraphs: &[String], d: &Dressing<'_>) -> String {
    let c = &CHROMES[t % TEMPLATES];
    let body: String = paragraphs
        .iter()
        .map(|p| format!("<p>{}</p>\n", esc(p)))
        .collect();
    let list = |heading: &str| -> String {
        let items: String = d
            .others
            .iter()
            .enumerate()
            .map(|(k, o)| {
                format!(
                    "<li><a href=\"/n/{}.shtml\">{}</a></li>",
                    d.story + k,
                    esc(o)
                )
            })
            .collect();
        format!("<div class=\"list\"><h3>{heading}</h3><ul>{items}</ul></div>")
    };
    let title = esc(title);
    let (nav, share, comment, footer) = (c.nav, c.share, c.comment, c.footer);
    let (related, hot) = (list(c.related_heading), list(c.hot_heading));
    let (date, editor) = (d.date, d.editor);
    match t % TEMPLATES {
        0 => format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}-中新网</title></head><body>\
             <div class=\"nav\"><a href=\"/\">{nav}</a></div>\
             <div class=\"crumb\">您当前的位置：首页 &gt; 社会 &gt; 正文</div>\
             <div class=\"content\"><h1>{title}</h1><div class=\"info\">{date} 来源：中国新闻网</div>\
             <div class=\"left_zw\">{body}<p>{editor}</p></div>\
             <div class=\"share\">{share}</div></div>{related}{hot}\
             <div class=\"comment\">{comment}</div><div class=\"footer\">{footer}</div></body></html>",
        ),
        1 => format!(
            "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\">\
             <title>{title}_新浪新闻</title></head><body>\
             <div id=\"top\">{nav}</div><table width=\"100%\"><tr><td class=\"main\">\
             <h1 id=\"artibodyTitle\">{title}</h1><span class=\"date\">{date}</span>\
             <div id=\"artibody\">{body}<p class=\"editor\">{editor}</p></div>\
             <div class=\"tools\">{share}</div>{related}</td>\
             <td class=\"side\">{hot}</td></tr></table>\
             <div id=\"comment\">{comment}</div><div id=\"footer\">{footer}</div></body></html>",
        ),
        _ => format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{title}</title></head><body>\
             <header><nav>{nav}</nav></header><main><article><h1>{title}</h1>\
             <div class=\"meta\">澎湃新闻记者 {date}</div>{body}<footer class=\"byline\">{editor}</footer></article>\
             <aside>{related}{hot}</aside><section class=\"comments\">{comment}</section>\
             <div class=\"share\">{share}</div></main><footer>{footer}</footer></body></html>",
        ),
    }
}

/// The bytes served and their `Content-Type`: template 1 is GBK with the
/// charset only in the page, the others UTF-8 saying so in HTTP.
pub fn encode(t: usize, html: String) -> (Vec<u8>, &'static str) {
    if t % TEMPLATES == 1 {
        let (bytes, _, _) = encoding_rs::GBK.encode(&html);
        (bytes.into_owned(), "text/html")
    } else {
        (html.into_bytes(), "text/html; charset=utf-8")
    }
}
