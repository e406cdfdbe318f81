//! Full text (issue 14): a local server serves a summary-only feed and its
//! article pages in three house templates modelled on Chinese news pages
//! (one in GBK); the stored text must be the article without the page's
//! navigation, lists, comments or footer; failing pages keep the feed's text.

use std::time::Duration;

use crate::common::*;

const BOILERPLATE: &[&str] = &[
    "网站首页",
    "当前位置",
    "责任编辑",
    "相关推荐",
    "热门排行",
    "分享到",
    "网友评论",
    "京ICP备",
    "版权所有",
    "热门新闻",
    "猜你喜欢",
    "编辑：",
    "编辑:",
];

/// A news site's chrome around the article: nav, breadcrumb, 责任编辑,
/// 相关推荐 and 热门 lists, share bar, comments, ICP footer.
pub(crate) fn page(template: u8, charset: &str, title: &str, paras: &[&str]) -> String {
    let body: String = paras.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    let list = |h: &str| {
        format!(
            "<div class=\"list\"><h3>{h}</h3><ul>{}</ul></div>",
            (1..=6)
                .map(|i| format!("<li><a href=\"/x/{i}.html\">热门新闻标题第{i}条：某地举办活动吸引众多市民参与</a></li>"))
                .collect::<String>()
        )
    };
    let nav = "<div class=\"nav\"><a href=\"/\">网站首页</a> | <a href=\"/gn/\">国内</a> | <a href=\"/gj/\">国际</a> | <a href=\"/cj/\">财经</a> | <a href=\"/ty/\">体育</a></div>";
    let share = "<div class=\"share\">分享到：<a href=\"#\">微信</a><a href=\"#\">微博</a><a href=\"#\">QQ空间</a></div>";
    let comments = "<div id=\"comments\"><h3>网友评论</h3><div class=\"c\"><span>网友甲</span><p>说得好，支持！</p></div><div class=\"c\"><span>网友乙</span><p>希望早日落实。</p></div></div>";
    let footer = "<div class=\"footer\"><p>关于我们 | 联系我们 | 广告服务</p><p>版权所有 (C) 2026 某某新闻网 京ICP备12345678号</p></div>";
    let head = format!(
        "<!DOCTYPE html><html><head><meta {charset}><title>{title}_某某新闻网</title></head><body>"
    );
    match template {
        1 => format!(
            "{head}{nav}<div class=\"crumb\">当前位置：<a href=\"/\">首页</a> &gt; <a href=\"/gn/\">国内新闻</a> &gt; 正文</div>\
             <div class=\"content\"><h1>{title}</h1><div class=\"info\">2026年10月09日 10:21 来源：某某新闻网</div>\
             <div class=\"left_zw\">{body}<div class=\"editor\">【责任编辑：张三】</div></div>{share}\
             {}</div><div class=\"side\">{}</div>{comments}{footer}</body></html>",
            list("相关推荐"),
            list("热门排行")
        ),
        2 => format!(
            "{head}<div id=\"top\">{nav}</div><div class=\"wrap\"><div class=\"main\">\
             <h1 class=\"main-title\">{title}</h1><div class=\"date-source\"><span>2026年10月09日</span> <a>某某日报</a></div>\
             <div id=\"artibody\" class=\"article\">{body}<p class=\"show_author\">责任编辑：李四</p></div>\
             {share}{}{comments}</div><div class=\"sidebar\">{}{}</div></div>{footer}</body></html>",
            list("相关新闻"),
            list("热门新闻"),
            list("猜你喜欢")
        ),
        _ => format!(
            "{head}<header>{nav}</header><nav class=\"bread\">当前位置：首页 &gt; 时事</nav><main>\
             <article><h1>{title}</h1><section class=\"body\">{body}</section><footer class=\"by\">编辑：王五 校对：赵六</footer></article>\
             <aside>{}</aside>{share}<section>{comments}</section></main><footer>{footer}</footer></body></html>",
            list("热门排行")
        ),
    }
}

pub(crate) const P1: &[&str] = &[
    "中新网北京10月9日电 今天，记者从北京市教委了解到，2026年京津冀教育协同发展工作会议在京召开。",
    "三地将积极推进各级各类教育融合发展，在更大范围、更深领域加强教育协同，形成更加紧密的新发展格局。",
    "会议指出，要深化区域内高校师资队伍、学科建设、成果转化等方面的合作。",
    "目前，京津两地二百余所中小学幼儿园与河北多所学校开展办学合作，三地高校共建十六个高校联盟。",
    "下一步，三地教育部门将建立常态化沟通机制，推动优质教育资源共享。",
];
pub(crate) const P2: &[&str] = &[
    "本报讯 今年前三季度，我省粮食生产再获丰收，秋粮收购工作全面展开。",
    "据省粮食局介绍，全省已有三百多个收购网点开秤收粮，收购价格总体平稳。",
    "为方便农民售粮，各地延长收购时间，推行预约收购和上门服务。",
    "粮食部门提醒，农民朋友要注意晾晒，确保粮食质量达标，避免霉变损失。",
];
pub(crate) const P3: &[&str] = &[
    "记者从市交通委获悉，新建地铁线路今天开通试运营，全长二十八公里。",
    "线路共设车站二十座，其中换乘站六座，连接城市东西两大居住区。",
    "开通初期，列车最小行车间隔为六分钟，运营时间为早六点至晚十一点。",
    "市民可通过手机扫码乘车，也可使用交通卡和银行卡闪付进站。",
];

pub(crate) fn summary(paras: &[&str]) -> String {
    paras[0].chars().take(40).collect()
}

fn stored(env: &Env, link_part: &str) -> (Option<String>, String) {
    let (body, text): (Vec<u8>, String) = env
        .store()
        .query_row(
            "SELECT c.body, t.text FROM copies c JOIN story_texts t ON t.sid = c.story WHERE c.link LIKE ?1",
            [format!("%{link_part}")],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let parts = newsriver::store::body::decode(&body).unwrap();
    (parts.full_html, text)
}

fn compact(s: &str) -> String {
    newsriver::normalize::nfkc(s)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
}

#[test]
fn articles_replace_summaries_and_failures_keep_the_feed_text() {
    let server = TestServer::start();
    let other = TestServer::start();
    other.fixed(
        "/x.html",
        Response::ok("text/html", page(1, "charset=\"utf-8\"", "别处", P1)),
    );
    server.fixed(
        "/a/1.html",
        Response::ok(
            "text/html; charset=utf-8",
            page(1, "charset=\"utf-8\"", "京津冀教育协同发展工作会议召开", P1),
        ),
    );
    server.fixed(
        "/b/2.shtml",
        // The charset only in the page: `http-equiv`, GBK.
        Response::ok(
            "text/html",
            gbk(&page(
                2,
                "http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"",
                "全省秋粮收购全面展开",
                P2,
            )),
        ),
    );
    server.fixed(
        "/c/3.html",
        Response::ok(
            "text/html",
            page(3, "charset=utf-8", "新建地铁线路开通试运营", P3),
        ),
    );
    server.fixed("/gone.html", Response::new(404));
    server.fixed(
        "/slow.html",
        Response::ok("text/html", page(1, "charset=utf-8", "慢", P1)).delay(Duration::from_secs(4)),
    );
    // A redirect from the source's own (exempt) origin to another private address.
    server.fixed(
        "/hop.html",
        Response::new(302).header("Location", &other.url("/x.html")),
    );
    let items: Vec<(String, String, String)> = vec![
        ("1", "/a/1.html", summary(P1)),
        ("2", "/b/2.shtml", summary(P2)),
        ("3", "/c/3.html", summary(P3)),
        (
            "4",
            "/gone.html",
            "四百零四页面的摘要文字，原文已经删除。".to_string(),
        ),
        (
            "5",
            "/slow.html",
            "超时页面的摘要文字，服务器迟迟不回应。".to_string(),
        ),
        (
            "6",
            "/hop.html",
            "跳转到内网地址的页面摘要，应被拒绝。".to_string(),
        ),
    ]
    .into_iter()
    .map(|(g, p, s)| (g.to_string(), server.url(p), s))
    .collect();
    let feed = |items: &[(String, String, String)]| {
        let its: Vec<Item<'_>> = items
            .iter()
            .map(|(g, l, s)| Item {
                guid: Some(g),
                link: Some(l),
                title: Some(g),
                description: Some(s),
                pub_date: None,
            })
            .collect();
        rss2("某某新闻网", &its)
    };
    server.fixed(
        "/feed.xml",
        Response::ok("application/rss+xml", feed(&items)),
    );
    let fetch = "[fetch]\ntimeout_secs = 2\nmax_body_bytes = 262144\nfull_text = true\n";
    let mut s = src("zh", &server.url("/feed.xml"));
    s.extra = "allow_private_addresses = true\n".into();
    let env = Env::with(fetch, &[s], "");
    let r = env.poll(&[]);
    assert!(
        r.stderr
            .contains("full text: 3 pages fetched, 3 failed, 0 skipped"),
        "{}",
        r.stderr
    );

    for (link, paras) in [("/a/1.html", P1), ("/b/2.shtml", P2), ("/c/3.html", P3)] {
        let (full, text) = stored(&env, link);
        let full = full.unwrap_or_else(|| panic!("{link}: no full text"));
        let text = compact(&text);
        for p in paras.iter().skip(1) {
            // The dateline is cut from the text, the rest is all there.
            assert!(
                text.contains(&compact(p)),
                "{link}: {p:?} missing from {text}"
            );
        }
        for b in BOILERPLATE {
            assert!(!text.contains(&compact(b)), "{link}: {b:?} left in {text}");
            assert!(!full.contains(b), "{link}: {b:?} left in {full}");
        }
        assert!(!text.contains("网友"), "{link}: comments left in {text}");
    }
    for (link, feed_text) in [
        ("/gone.html", "原文已经删除"),
        ("/slow.html", "迟迟不回应"),
        ("/hop.html", "应被拒绝"),
    ] {
        let (full, text) = stored(&env, link);
        assert_eq!(full, None, "{link}");
        assert!(text.contains(feed_text), "{link}: {text}");
    }
    assert!(
        other.requests("/x.html").is_empty(),
        "the guard let a redirect through"
    );

    // Known items are not fetched again, nor pages that failed for good
    // (404, refused); the page that timed out is tried again; an edited
    // item is fetched again.
    env.poll(&[]);
    assert_eq!(server.requests("/a/1.html").len(), 1);
    assert_eq!(server.requests("/gone.html").len(), 1);
    assert_eq!(server.requests("/hop.html").len(), 1);
    assert_eq!(server.requests("/slow.html").len(), 2);
    let mut edited = items.clone();
    edited[0].2 = format!("{}（更新）", edited[0].2);
    server.fixed(
        "/feed.xml",
        Response::ok("application/rss+xml", feed(&edited)),
    );
    let r = env.poll(&[]);
    assert!(
        r.stderr.contains("full text: 1 pages fetched, 1 failed"),
        "the edited item's page, and the third and last try of the slow one: {}",
        r.stderr
    );
    assert_eq!(server.requests("/slow.html").len(), 3);
    assert_eq!(server.requests("/a/1.html").len(), 2);
    assert_eq!(server.requests("/b/2.shtml").len(), 1);
    assert!(stored(&env, "/a/1.html").0.is_some());

    let show = env.run(&["sources", "show", "zh"]);
    assert!(
        show.stdout
            .contains("full text 3 fetched / 3 failed / 0 skipped"),
        "{}",
        show.stdout
    );
    assert!(
        show.stdout.contains("full text 1 fetched / 1 failed"),
        "{}",
        show.stdout
    );

    // The topic feed's readers get the article.
    let stories = env.export(&[]);
    assert!(stories.iter().any(|s| {
        s["text"]
            .as_str()
            .is_some_and(|t| t.contains("三地高校共建十六个高校联盟"))
    }));
}

#[test]
fn a_selector_applies_only_on_the_sources_own_site() {
    let server = TestServer::start();
    let pick = "<div class=\"pick\"><p>选择器选中的这一段文字，比摘要长得多，用来证明选择器确实生效了，而不是提取器自己的选择。</p></div>";
    let with_pick = |title: &str| {
        page(1, "charset=utf-8", title, P1).replace(
            "<div class=\"side\">",
            &format!("<div class=\"side\">{pick}"),
        )
    };
    server.fixed("/own.html", Response::ok("text/html", with_pick("本站")));
    server.fixed(
        "/elsewhere.html",
        Response::ok("text/html", with_pick("外站")),
    );
    // The same server under another name: another site.
    let elsewhere = format!("http://localhost:{}/elsewhere.html", server.port());
    let own = server.url("/own.html");
    let feed = rss2(
        "t",
        &[
            Item {
                guid: Some("own"),
                link: Some(&own),
                title: Some("本站"),
                description: Some("短摘要一。"),
                pub_date: None,
            },
            Item {
                guid: Some("far"),
                link: Some(&elsewhere),
                title: Some("外站"),
                description: Some("短摘要二。"),
                pub_date: None,
            },
        ],
    );
    server.fixed("/feed.xml", Response::ok("application/rss+xml", feed));
    let mut s = src("sel", &server.url("/feed.xml"));
    // Pages on another private host need the source's own switch too
    // (issue 22, item 13), not only `[fetch].allow_private_addresses`.
    s.extra =
        "full_text = true\nfull_text_selector = \"div.pick\"\nallow_private_addresses = true\n"
            .into();
    let env = Env::new(&[s]);
    env.poll(&[]);
    let (own_html, own_text) = stored(&env, "/own.html");
    assert!(own_html.is_some());
    assert!(own_text.contains("选择器选中"), "{own_text}");
    assert!(!own_text.contains("高校联盟"), "{own_text}");
    let (_, far_text) = stored(&env, "/elsewhere.html");
    assert!(far_text.contains("高校联盟"), "{far_text}");
    assert!(!far_text.contains("选择器选中"), "{far_text}");
}

#[test]
fn full_text_is_off_by_default_and_a_bad_selector_names_its_line() {
    let server = TestServer::start();
    server.fixed(
        "/a.html",
        Response::ok("text/html", page(1, "charset=utf-8", "标题", P1)),
    );
    let link = server.url("/a.html");
    server.fixed(
        "/feed.xml",
        Response::ok(
            "application/rss+xml",
            rss2(
                "t",
                &[Item {
                    guid: Some("1"),
                    link: Some(&link),
                    title: Some("标题"),
                    description: Some("摘要。"),
                    pub_date: None,
                }],
            ),
        ),
    );
    let env = Env::new(&[src("off", &server.url("/feed.xml"))]);
    let r = env.poll(&[]);
    assert!(!r.stderr.contains("full text:"), "{}", r.stderr);
    assert!(server.requests("/a.html").is_empty());

    let mut s = src("bad", &server.url("/feed.xml"));
    s.extra = "full_text_selector = \"div[\"\n".into();
    let env = Env::new(&[s]);
    let r = env.run(&["check"]);
    assert_ne!(r.code, Some(0));
    let line = std::fs::read_to_string(&env.config)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("full_text_selector"))
        .unwrap()
        + 1;
    assert!(
        r.stderr.contains(&format!("config.toml:{line}:"))
            && r.stderr.contains("full_text_selector"),
        "{}",
        r.stderr
    );
    let mut s = src("typo", &server.url("/feed.xml"));
    s.extra = "full_txt = true\n".into();
    let r = Env::new(&[s]).run(&["check"]);
    assert!(r.stderr.contains("full_text"), "{}", r.stderr);
}

/// An RSS feed of `n` items linking to `/p/{i}.html`, each with a short summary.
fn numbered_feed(server: &TestServer, n: usize) -> String {
    let links: Vec<String> = (0..n)
        .map(|i| server.url(&format!("/p/{i}.html")))
        .collect();
    let guids: Vec<String> = (0..n).map(|i| format!("g{i}")).collect();
    let titles: Vec<String> = (0..n).map(|i| format!("第{i}条新闻")).collect();
    let summaries: Vec<String> = (0..n).map(|i| format!("第{i}条新闻的摘要。")).collect();
    let items: Vec<Item<'_>> = (0..n)
        .map(|i| Item {
            guid: Some(&guids[i]),
            link: Some(&links[i]),
            title: Some(&titles[i]),
            description: Some(&summaries[i]),
            pub_date: None,
        })
        .collect();
    rss2("某某新闻网", &items)
}

/// Article `i`: P3 with its number in front, so that every page differs.
fn numbered_page(i: usize) -> String {
    let first = format!("第{i}条：{}", P3[0]);
    let mut paras: Vec<&str> = vec![&first];
    paras.extend_from_slice(&P3[1..]);
    page(1, "charset=utf-8", &format!("第{i}条新闻"), &paras)
}

#[test]
fn a_page_that_failed_for_a_passing_reason_is_tried_again_three_times_in_all() {
    let server = TestServer::start();
    // /p/0: 503 twice, then the article. /p/1: always 503. /p/2: 404 (for
    // good). /p/3: the server closes the connection (a network error) once.
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c0 = calls.clone();
    server.route("/p/0.html", move |_| {
        if c0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            Response::new(503)
        } else {
            Response::ok("text/html; charset=utf-8", numbered_page(0))
        }
    });
    server.fixed("/p/1.html", Response::new(503));
    server.fixed("/p/2.html", Response::new(404));
    let c3 = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let c3b = c3.clone();
    server.route("/p/3.html", move |_| {
        if c3b.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            // Far past the 2 s timeout: a failure that may pass.
            Response::ok("text/html", numbered_page(3)).delay(Duration::from_secs(4))
        } else {
            Response::ok("text/html; charset=utf-8", numbered_page(3))
        }
    });
    server.fixed(
        "/feed.xml",
        Response::ok("application/rss+xml", numbered_feed(&server, 4)),
    );
    let fetch = "[fetch]\ntimeout_secs = 2\nfull_text = true\n";
    let mut s = src("zh", &server.url("/feed.xml"));
    s.extra = "allow_private_addresses = true\n".into();
    let env = Env::with(fetch, &[s], "");
    let tries = |i: usize| -> Option<i64> {
        env.store()
            .query_row(
                "SELECT page_tries FROM copies WHERE guid = ?1",
                [format!("g{i}")],
                |r| r.get(0),
            )
            .unwrap()
    };
    let full = |i: usize| -> bool {
        env.copy_html(
            "SELECT body FROM copies WHERE guid = ?1",
            &[&format!("g{i}")],
        )
        .full_html
        .is_some()
    };

    let r = env.poll(&[]);
    assert!(
        r.stderr.contains("full text: 0 pages fetched, 4 failed"),
        "{}",
        r.stderr
    );
    assert_eq!(
        (tries(0), tries(1), tries(2), tries(3)),
        (Some(1), Some(1), None, Some(1))
    );

    // Second poll: 0 fails again, 3 works now; 2 (404) is not asked again.
    let r = env.poll(&[]);
    assert!(
        r.stderr.contains("full text: 1 pages fetched, 2 failed"),
        "{}",
        r.stderr
    );
    assert!(full(3) && !full(0));
    assert_eq!((tries(0), tries(1), tries(3)), (Some(2), Some(2), None));

    // Third poll: the third attempt at 0 gives the article; 1 fails a third time.
    let r = env.poll(&[]);
    assert!(
        r.stderr.contains("full text: 1 pages fetched, 1 failed"),
        "{}",
        r.stderr
    );
    assert!(
        full(0),
        "the article replaced the summary on the third attempt"
    );
    assert_eq!((tries(0), tries(1)), (None, Some(3)));
    let text: String = env
        .store()
        .query_row(
            "SELECT t.text FROM story_texts t JOIN copies c ON c.story = t.sid WHERE c.guid = 'g0'",
            NONE,
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        text.contains("换乘站六座"),
        "the story shows the article: {text}"
    );

    // Given up after three attempts: a fourth poll asks for nothing.
    let r = env.poll(&[]);
    assert!(!r.stderr.contains("pages fetched"), "{}", r.stderr);
    assert_eq!(server.requests("/p/0.html").len(), 3);
    assert_eq!(server.requests("/p/1.html").len(), 3);
    assert_eq!(server.requests("/p/2.html").len(), 1);
    assert_eq!(server.requests("/p/3.html").len(), 2);
}

#[test]
fn pages_per_poll_are_capped_and_the_rest_wait_for_later_polls() {
    let server = TestServer::start();
    for i in 0..7 {
        server.fixed(
            &format!("/p/{i}.html"),
            Response::ok("text/html; charset=utf-8", numbered_page(i)),
        );
    }
    server.fixed(
        "/feed.xml",
        Response::ok("application/rss+xml", numbered_feed(&server, 7)),
    );
    let fetch = "[fetch]\nfull_text = true\nmax_pages_per_poll = 3\n";
    let mut s = src("zh", &server.url("/feed.xml"));
    s.extra = "allow_private_addresses = true\n".into();
    let env = Env::with(fetch, &[s], "");
    let pages_asked = || -> usize {
        (0..7)
            .map(|i| server.requests(&format!("/p/{i}.html")).len())
            .sum()
    };
    let with_article = || {
        (0..7)
            .filter(|i| {
                env.copy_html(
                    "SELECT body FROM copies WHERE guid = ?1",
                    &[&format!("g{i}")],
                )
                .full_html
                .is_some()
            })
            .count() as i64
    };

    let r = env.poll(&[]);
    assert!(
        r.stderr
            .contains("full text: 3 pages fetched, 0 failed, 4 skipped"),
        "{}",
        r.stderr
    );
    assert_eq!((pages_asked(), with_article()), (3, 3));
    let r = env.poll(&[]);
    assert!(
        r.stderr
            .contains("full text: 3 pages fetched, 0 failed, 1 skipped"),
        "{}",
        r.stderr
    );
    assert_eq!((pages_asked(), with_article()), (6, 6));
    env.poll(&[]);
    assert_eq!((pages_asked(), with_article()), (7, 7));
    // All done: nothing more is fetched.
    let r = env.poll(&[]);
    assert!(!r.stderr.contains("pages fetched"), "{}", r.stderr);
    assert_eq!(pages_asked(), 7);

    // `check` refuses a cap below 1 and names the key.
    let mut s = src("zh", &server.url("/feed.xml"));
    s.extra = "allow_private_addresses = true\n".into();
    let bad = Env::with("[fetch]\nmax_pages_per_poll = 0\n", &[s], "");
    let r = bad.run(&["check"]);
    assert_ne!(r.code, Some(0));
    assert!(
        r.stderr.contains("max_pages_per_poll") && r.stderr.contains("at least 1"),
        "{}",
        r.stderr
    );
}
