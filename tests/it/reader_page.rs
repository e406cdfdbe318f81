//! The reader page in a real browser: `newsriver serve` over a database
//! polled from local fixture feeds (Chinese stories in Simplified and
//! Traditional script, one carried by two outlets), read by headless
//! Chromium (Debian's `chromium`): the DOM it builds of `/` and of a
//! topic's pages, its console, the requests the pages could make, and a
//! phone-sized screenshot (`UPDATE_SCREENSHOT=1` copies it to
//! `docs/reader-page.png`). Skips, saying so, without a `chromium` binary
//! (CI installs it, and there a missing browser fails the test).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Datelike;

use crate::common::*;

/// The browser, or None (with a note) when there is none.
fn chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"]
        .into_iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join(name))
                    .find(|p| p.is_file())
            })
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the reader page's browser test: .ci/run installs chromium"
        );
        eprintln!(
            "SKIPPED reader_page: no chromium binary on PATH (apt-get install chromium to run it)"
        );
    }
    found
}

/// One headless Chromium run: its stdout (the DOM with `--dump-dom`) and
/// stderr (its log, console messages included).
fn browse(browser: &Path, profile: &Path, extra: &[&str], url: &str) -> (String, String) {
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--mute-audio",
        "--enable-logging=stderr",
        "--v=0",
        // Nothing but the test's own servers resolves: a page that asked
        // for anything elsewhere would fail to load it (and log it).
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(url)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = cmd.spawn().expect("chromium starts");
    let out = wait_output(child, Duration::from_secs(90));
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The child's output, killing it (and failing) after `limit`.
fn wait_output(mut child: Child, limit: Duration) -> std::process::Output {
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("chromium's output"),
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("chromium's output");
                panic!(
                    "chromium did not finish within {limit:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

/// Console messages and uncaught errors in a Chromium log.
fn console_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect()
}

/// `dump-dom`'s document, parsed.
fn dom(html: &str) -> scraper::Html {
    let doc = scraper::Html::parse_document(html);
    assert!(
        doc.select(&sel("body")).next().is_some(),
        "no DOM from chromium: {html}"
    );
    doc
}

fn sel(s: &str) -> scraper::Selector {
    scraper::Selector::parse(s).unwrap()
}

fn texts(doc: &scraper::Html, selector: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .map(|e| e.text().collect::<String>().trim().to_string())
        .collect()
}

fn attrs(doc: &scraper::Html, selector: &str, attr: &str) -> Vec<String> {
    doc.select(&sel(selector))
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}

/// What a page would load by itself from elsewhere than `base` (not the
/// links a reader follows): `src` of any element, `href` of `<link>` other
/// than alternates, `srcset`, `poster`, `data` of `<object>`, `action` of
/// forms, `url()` and `@import` in style; and any script.
fn external_loads(doc: &scraper::Html, base: &str) -> Vec<String> {
    let mut loads: Vec<String> = Vec::new();
    for (selector, attr) in [
        ("[src]", "src"),
        ("[srcset]", "srcset"),
        ("[poster]", "poster"),
        ("object[data]", "data"),
        ("form[action]", "action"),
        ("link[href]:not([rel=alternate])", "href"),
    ] {
        loads.extend(attrs(doc, selector, attr));
    }
    let mut found: Vec<String> = loads
        .into_iter()
        .filter(|url| {
            let relative = !url.contains("://") && !url.starts_with("//");
            !(relative || url.starts_with(base) || url.starts_with("data:"))
        })
        .collect();
    if doc.select(&sel("script")).next().is_some() {
        found.push("a script".into());
    }
    found.extend(
        texts(doc, "style")
            .into_iter()
            .filter(|s| s.contains("url(") || s.contains("@import")),
    );
    found
}

fn assert_no_external_loads(doc: &scraper::Html, page: &str, base: &str) {
    let found = external_loads(doc, base);
    assert!(found.is_empty(), "{page} loads from elsewhere: {found:?}");
}

/// `newsriver serve`, stopped on drop.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(env: &Env) -> Served {
    let mut child = binary()
        .arg("--config")
        .arg(&env.config)
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(" on http://").nth(1) {
                let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("serve prints its address");
    Served {
        child,
        base: format!("http://{}", addr.trim_end_matches('/')),
    }
}

/// A GET with headers: (status, headers, body).
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .no_brotli()
            .build()
            .unwrap();
        let mut req = client.get(url).timeout(Duration::from_secs(10));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        (status, headers, resp.text().await.unwrap())
    })
}

const CHINANEWS_1: &str = "https://www.chinanews.com.cn/gn/2026/12-05/1.shtml";
const PEOPLE_1: &str = "http://society.people.com.cn/n1/2026/1205/c1008-1.html";
const CNA_1: &str = "https://www.cna.com.tw/news/aipl/202612050001.aspx";
const EDU_TEXT: &str = "今天，记者从北京市教委了解到，2026年京津冀教育协同发展工作会议在京召开。会议总结了过去一年三地教育协同发展取得的成效，部署了下一阶段的重点任务，包括基础教育优质资源共享、职业教育协同发展和高等教育合作办学。";

/// The fixture: three outlets, four stories; the first carried by two.
fn outlets(server: &TestServer) -> Vec<Src> {
    let chinanews = rss2(
        "中国新闻网",
        &[
            Item {
                guid: Some("cn-1"),
                link: Some(CHINANEWS_1),
                title: Some("京津冀教育协同发展工作会议在京召开"),
                description: Some(&format!("<p>{EDU_TEXT}</p>")),
                pub_date: Some("Sat, 05 Dec 2026 02:32:00 +0000"),
            },
            Item {
                guid: Some("cn-2"),
                link: Some("https://www.chinanews.com.cn/cj/2026/12-04/2.shtml"),
                title: Some("海南外贸进出口增长两成"),
                description: Some(
                    "<p>海关总署海口海关发布数据，前十一个月海南货物贸易进出口总值同比增长两成，其中出口增速高于进口，民营企业进出口占比继续提高。</p>",
                ),
                pub_date: Some("Fri, 04 Dec 2026 01:00:00 +0000"),
            },
            Item {
                guid: Some("cn-3"),
                link: Some("https://www.chinanews.com.cn/sh/2026/12-03/3.shtml"),
                title: Some("北方多地迎来今冬首场降雪"),
                description: Some(
                    "<p>受冷空气影响，北方多地迎来今冬首场降雪，气象部门提醒公众注意交通安全，出行前关注道路通行信息，农业生产需做好防寒防冻工作。</p>",
                ),
                pub_date: Some("Thu, 03 Dec 2026 06:10:00 +0000"),
            },
        ],
    );
    let people = rss2(
        "人民网",
        &[Item {
            guid: Some("rm-1"),
            link: Some(PEOPLE_1),
            title: Some("京津冀教育协同发展工作会议在京召开"),
            description: Some(&format!("<p>{EDU_TEXT}</p>")),
            pub_date: Some("Sat, 05 Dec 2026 02:40:00 +0000"),
        }],
    );
    let cna = rss2(
        "中央社",
        &[Item {
            guid: Some("cna-1"),
            link: Some(CNA_1),
            title: Some("臺灣高鐵新車廂下月上路 乘客座位更寬敞"),
            description: Some("<p>臺灣高鐵公司今天表示，新一代車廂將於下月正式上路，座位比現有車廂更寬敞，並增設充電插座與無障礙空間，票價維持不變。</p>"),
            pub_date: Some("Fri, 04 Dec 2026 09:00:00 +0000"),
        }],
    )
    .replace("<language>zh-CN</language>", "<language>zh-TW</language>");
    let mut sources = Vec::new();
    // Each outlet's links are its own (`link_hosts`: its feed is on the
    // test server): a single outlet is then named as the source, not as
    // the words of a page elsewhere.
    for (id, name, host, body) in [
        ("chinanews", "中国新闻网", "chinanews.com.cn", chinanews),
        ("people", "人民网", "people.com.cn", people),
        ("cna", "中央社", "cna.com.tw", cna),
    ] {
        let path = format!("/{id}.xml");
        server.fixed(&path, Response::ok(RSS_TYPE, body));
        let mut s = src(id, &server.url(&path));
        s.extra = format!(
            "name = {}\nlink_hosts = [{}]\n",
            toml_str(name),
            toml_str(host)
        );
        sources.push(s);
    }
    sources
}

#[test]
fn the_reader_page_in_a_real_browser() {
    let Some(browser) = chromium() else { return };
    let feeds = TestServer::start();
    let port = free_port();
    let env = Env::with(
        FETCH,
        &outlets(&feeds),
        &format!(
            "{}output_dir = \"public\"\nitems_per_feed = 2\nlanguage = \"zh-Hans\"\ntimezone = \"Asia/Shanghai\"\n\n\
             [[topic]]\nslug = \"news\"\ntitle = \"要闻\"\nquery = \"*\"\n\n\
             [[topic]]\nslug = \"tw\"\ntitle = \"要聞（繁體）\"\nquery = \"*\"\nlanguage = \"zh-Hant\"\n",
            server_section(port)
        ),
    );
    let polled = env.poll(&[]);
    assert_eq!(polled.code, Some(0), "{polled:?}");
    assert_eq!(env.stories(), 4, "the two outlets' copies are one story");
    let served = serve(&env);
    let base = served.base.clone();
    assert_eq!(base, format!("http://127.0.0.1:{port}"));
    let profile = tempfile::tempdir().unwrap();
    let shots = tempfile::tempdir().unwrap();

    // The index: each topic with its count and its three feeds.
    let (html, log) = browse(
        &browser,
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/"),
    );
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let doc = dom(&html);
    assert_no_external_loads(&doc, "/", &base);
    assert_eq!(attrs(&doc, "html", "lang"), ["zh-Hans"]);
    assert_eq!(texts(&doc, "h1"), ["话题"]);
    assert_eq!(texts(&doc, "li h2 a"), ["要闻", "要聞（繁體）"]);
    assert_eq!(
        attrs(&doc, "li h2 a", "href"),
        ["topics/news/", "topics/tw/"]
    );
    let meta = texts(&doc, "li .meta");
    assert!(meta[0].starts_with("4 条新闻 · 更新于 "), "{meta:?}");
    assert_eq!(
        attrs(&doc, "li .feeds a", "href")[..3],
        ["topics/news.atom", "topics/news.rss", "topics/news.json"]
    );
    assert_eq!(attrs(&doc, "link[rel=alternate]", "href").len(), 6);

    // A topic's newest page: headlines linked to the chosen copy, local
    // times, outlets, excerpts, feeds, a link to older stories.
    let river = format!("{base}/topics/news/");
    let (html, log) = browse(&browser, profile.path(), &["--dump-dom"], &river);
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let doc = dom(&html);
    assert_no_external_loads(&doc, "/topics/news/", &base);
    assert_eq!(attrs(&doc, "html", "lang"), ["zh-Hans"]);
    assert_eq!(texts(&doc, "h1"), ["要闻"]);
    assert_eq!(
        texts(&doc, "li h2"),
        [
            "京津冀教育协同发展工作会议在京召开",
            "台湾高铁新车厢下月上路 乘客座位更宽敞"
        ],
        "newest first, the Traditional story in Simplified script"
    );
    assert_eq!(attrs(&doc, "li h2 a", "href"), [CHINANEWS_1, CNA_1]);
    let shanghai = chrono_tz::Asia::Shanghai;
    let this_year = chrono::Utc::now().with_timezone(&shanghai).year() == 2026;
    let shown = |text: &str| {
        if this_year {
            text.to_string()
        } else {
            format!("2026年{text}")
        }
    };
    assert_eq!(
        attrs(&doc, "li time", "datetime"),
        ["2026-12-05T10:32:00+08:00", "2026-12-04T17:00:00+08:00"]
    );
    assert_eq!(
        texts(&doc, "li time"),
        [shown("12月5日 10:32"), shown("12月4日 17:00")]
    );
    let lines = texts(&doc, "li .meta");
    assert!(
        lines[0].ends_with("首发：中国新闻网 · 另见：人民网"),
        "{lines:?}"
    );
    assert!(lines[1].ends_with("来源：中央社"), "{lines:?}");
    assert_eq!(
        attrs(&doc, "li .meta a", "href"),
        [CHINANEWS_1, PEOPLE_1, CNA_1],
        "each outlet linked to its own copy"
    );
    let excerpts = texts(&doc, "li .excerpt");
    assert!(
        excerpts[0].starts_with("今天，记者从北京市教委了解到"),
        "{excerpts:?}"
    );
    assert!(excerpts[0].chars().count() <= 121, "{excerpts:?}");
    assert!(
        excerpts[1].starts_with("台湾高铁公司今天表示"),
        "{excerpts:?}"
    );
    assert_eq!(texts(&doc, ".note"), ["本条由繁体转换为简体显示。"]);
    assert_eq!(
        attrs(&doc, "link[rel=alternate]", "type"),
        [
            "application/atom+xml",
            "application/rss+xml",
            "application/feed+json"
        ]
    );
    assert_eq!(
        attrs(&doc, "link[rel=alternate]", "href"),
        ["../news.atom", "../news.rss", "../news.json"]
    );
    assert_eq!(texts(&doc, ".feeds a"), ["Atom", "RSS", "JSON Feed"]);
    assert_eq!(attrs(&doc, "header nav a", "href"), ["../../"]);
    assert_eq!(texts(&doc, "nav.pages a"), ["更早的新闻"]);
    let older = attrs(&doc, "nav.pages a", "href").remove(0);
    assert!(older.starts_with("?before="), "{older}");

    // Every link on it leads somewhere: the feeds and the index answer.
    for path in [
        "/topics/news.atom",
        "/topics/news.rss",
        "/topics/news.json",
        "/",
    ] {
        assert_eq!(get(&format!("{base}{path}"), &[]).0, 200, "{path}");
    }

    // The older page: the two stories left, a link back to the newest.
    let (html, log) = browse(
        &browser,
        profile.path(),
        &["--dump-dom"],
        &format!("{river}{older}"),
    );
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let doc = dom(&html);
    assert_no_external_loads(&doc, "an older page", &base);
    assert_eq!(
        texts(&doc, "li h2"),
        ["海南外贸进出口增长两成", "北方多地迎来今冬首场降雪"]
    );
    assert_eq!(texts(&doc, "nav.pages a"), ["最新新闻"]);
    assert_eq!(attrs(&doc, "nav.pages a", "href"), ["./"]);

    // The same stories in a Traditional topic: its words, its script.
    let (html, _) = browse(
        &browser,
        profile.path(),
        &["--dump-dom"],
        &format!("{base}/topics/tw/"),
    );
    let doc = dom(&html);
    assert_eq!(attrs(&doc, "html", "lang"), ["zh-Hant"]);
    assert_eq!(
        texts(&doc, "li h2"),
        [
            "京津冀教育協同發展工作會議在京召開",
            "臺灣高鐵新車廂下月上路 乘客座位更寬敞"
        ]
    );
    let lines = texts(&doc, "li .meta");
    assert!(
        lines[0].ends_with("首發：中国新闻网 · 另見：人民网"),
        "{lines:?}"
    );
    assert_eq!(texts(&doc, "nav.pages a"), ["更早的新聞"]);

    // The checks see what they look for (they are no checks otherwise).
    let loader = dom(
        "<!DOCTYPE html><html><head><link rel=stylesheet href=\"https://cdn.example/x.css\">\
         <style>@import 'x.css';</style></head><body><img src=\"//img.example/a.png\">\
         <img src=\"b.png\"><script>1</script></body></html>",
    );
    assert_eq!(
        external_loads(&loader, &base).len(),
        4,
        "{:?}",
        external_loads(&loader, &base)
    );
    feeds.fixed(
        "/noisy.html",
        Response::ok(
            "text/html; charset=utf-8",
            "<!DOCTYPE html><title>x</title><script>console.error('noisy page'); undefinedCall();</script>",
        ),
    );
    let (_, log) = browse(
        &browser,
        profile.path(),
        &["--dump-dom"],
        &feeds.url("/noisy.html"),
    );
    let noise = console_lines(&log);
    assert!(
        noise.iter().any(|l| l.contains("noisy page"))
            && noise.iter().any(|l| l.contains("Uncaught")),
        "the console check must see console errors: {log}"
    );

    // A phone-sized screenshot of the Chinese river.
    let shot = shots.path().join("reader-page.png");
    let (_, log) = browse(
        &browser,
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=420,900",
            "--hide-scrollbars",
        ],
        &river,
    );
    assert!(
        console_lines(&log).is_empty(),
        "console: {:?}",
        console_lines(&log)
    );
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot ({e}): {log}"));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    if std::env::var_os("UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reader-page.png");
        std::fs::copy(&shot, &docs).unwrap();
        eprintln!("wrote {}", docs.display());
    }
    if let Some(dir) = std::env::var_os("READER_PAGE_SHOTS") {
        // For a person to look at: the dark scheme too.
        let dark = Path::new(&dir).join("reader-page-dark.png");
        browse(
            &browser,
            profile.path(),
            &[
                &format!("--screenshot={}", dark.display()),
                "--window-size=420,900",
                "--hide-scrollbars",
                "--force-dark-mode",
                "--blink-settings=preferredColorScheme=0",
            ],
            &river,
        );
        std::fs::copy(&shot, Path::new(&dir).join("reader-page.png")).unwrap();
        for (name, url) in [
            ("reader-index.png", format!("{base}/")),
            ("reader-tw.png", format!("{base}/topics/tw/")),
            ("reader-older.png", format!("{river}{older}")),
            ("reader-404.png", format!("{base}/topics/nope/")),
        ] {
            let path = Path::new(&dir).join(name);
            browse(
                &browser,
                profile.path(),
                &[
                    &format!("--screenshot={}", path.display()),
                    "--window-size=420,900",
                    "--hide-scrollbars",
                ],
                &url,
            );
        }
    }
    drop(served);
}

/// Over plain HTTP: caching, the error pages, the redirects, and the files
/// in `output_dir`; no browser needed.
#[test]
fn reader_pages_are_cached_and_errors_are_pages() {
    let feeds = TestServer::start();
    let port = free_port();
    let env = Env::with(
        FETCH,
        &outlets(&feeds),
        &format!(
            "{}output_dir = \"public\"\nitems_per_feed = 2\ntimezone = \"Asia/Shanghai\"\n\n\
             [[topic]]\nslug = \"news\"\ntitle = \"要闻\"\nquery = \"*\"\n",
            server_section(port)
        ),
    );
    assert_eq!(env.poll(&[]).code, Some(0));
    let served = serve(&env);
    let base = served.base.clone();

    let (status, headers, body) = get(&format!("{base}/topics/news/"), &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(
        headers["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, _, _) = get(&format!("{base}/topics/news/"), &[("If-None-Match", &etag)]);
    assert_eq!(status, 304);
    let (status, headers, _) = get(
        &format!("{base}/topics/news/"),
        &[("Accept-Encoding", "gzip")],
    );
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");

    // The page's language is its stories' when nothing says: Chinese.
    assert!(body.contains("<html lang=\"zh-Hans\">"), "{body}");
    let older = body
        .split("href=\"?before=")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a link to older stories")
        .to_string();
    let older_url = format!("{base}/topics/news/?before={older}");
    let (status, headers, page) = get(&older_url, &[]);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("北方多地迎来今冬首场降雪"), "{page}");
    let etag = headers["etag"].to_str().unwrap().to_string();
    assert_eq!(get(&older_url, &[("If-None-Match", &etag)]).0, 304);

    // Damaged cursors are a 400 page, never a 500; an unknown topic a 404 page.
    for garbage in [
        "x",
        "1_2",
        "1_2_ZZ",
        "%FF%FE",
        "99999999999999999999999_1_ab",
        "1_2_ab%27%20OR%201%3D1",
        "",
    ] {
        let (status, headers, body) = get(&format!("{base}/topics/news/?before={garbage}"), &[]);
        assert_eq!(status, 400, "{garbage}: {body}");
        assert_eq!(headers["content-type"], "text/html; charset=utf-8");
        assert!(body.contains("这个翻页链接无效。"), "{body}");
    }
    // A cursor past the last story: a page with none, not an error.
    let (status, _, body) = get(&format!("{base}/topics/news/?before=0_0_00"), &[]);
    assert_eq!(status, 200);
    assert!(body.contains("暂无新闻。"), "{body}");
    let (status, _, body) = get(&format!("{base}/topics/nope/"), &[]);
    assert_eq!(status, 404);
    assert!(
        body.contains("没有这个话题。") && body.contains("<html lang=\"zh-Hans\">"),
        "{body}"
    );

    // Where the links lead without their slash.
    let (status, headers, _) = get(&format!("{base}/topics/news"), &[]);
    assert_eq!(status, 301);
    assert_eq!(headers["location"], "news/");
    let (status, headers, _) = get(&format!("{base}/topics"), &[]);
    assert_eq!(status, 301);
    assert_eq!(headers["location"], "topics/");
    let (status, _, index) = get(&format!("{base}/topics/"), &[]);
    assert_eq!(status, 200);
    assert!(index.contains("href=\"../topics/news/\""), "{index}");

    // The same pages as files, beside the feeds.
    let public = env.path("public");
    let root = std::fs::read_to_string(public.join("index.html")).unwrap();
    assert_eq!(root, get(&format!("{base}/"), &[]).2);
    let page = std::fs::read_to_string(public.join("topics/news/index.html")).unwrap();
    assert!(
        page.contains("京津冀教育协同发展工作会议在京召开"),
        "{page}"
    );
    assert!(public.join("topics/news/index.html.gz").is_file());
    assert!(public.join("topics/index.html").is_file());
    drop(served);
}
