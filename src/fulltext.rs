//! Full text for summary-only feeds (issue 14): for each new or changed item
//! of a `full_text` source, its link is fetched once, through the same
//! `Fetcher` as feeds (private-address guard, per-host limits and spacing,
//! body cap, timeout), the page decoded (BOM, HTTP charset, `<meta charset>`
//! / `http-equiv`, detection), the article extracted, cleaned by the same
//! `Normalizer::clean_html` as feed content, and kept when it says more than
//! the feed did. The copy's text and content hash are then the article's, so
//! topics and dedupe see it; publish sanitizes it like any feed HTML.
//!
//! Pages go through `Fetcher::fetch_page`: asked for as HTML, and allowed
//! a private address only on the feed's own origin whatever
//! `[fetch].allow_private_addresses` says (issue 22, item 13). A feed's
//! large-body slot is let go before its pages are fetched (issue 22, item
//! 8; see `pipeline::poll`).
//!
//! A page is fetched only for an item the store does not know with the same
//! raw hash (`Reader::known_items`): an unchanged item is not fetched again
//! once its page was fetched (article kept or not) or failed for good (404,
//! refused by the guard); an edited one is. A fetch that failed for a
//! reason that may pass (network error, timeout, HTTP 5xx, 429, 408) is
//! tried again on later polls, `store::PAGE_ATTEMPTS` times in all
//! (`copies.page_tries`). At most `[fetch] max_pages_per_poll` pages of a
//! source are fetched in one poll; the others wait for the next polls (and
//! count as skipped).
//!
//! The extractor is `dom_smoothie` (a port of Mozilla's readability.js, kept
//! up to date). Compared on the 20 real Chinese pages of
//! `../shared/corpus/html-articles` (163, sina, qq, ifeng, people, thepaper,
//! stcn, readhub…) with `readability` 0.3 and `readabilityrs` 0.1:
//! `readability` 0.3 (unmaintained since 2021) lost the article on 4 pages
//! (27 of 4,230 characters on 163/1, 0 on thepaper/1, 22 on readhub, 48 on
//! stcn); `readabilityrs` kept the 相关推荐 / comment / navigation blocks of
//! both thepaper pages and ran 5–10× slower; `dom_smoothie` found the article
//! on every page, left only credit lines (责任编辑, which `clean_html`
//! removes) and took 1–13 ms a page. Short paragraphs and full-width
//! punctuation did not defeat it (its scoring counts `，` as a comma).

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use url::Url;

use crate::config::Source;
use crate::decode;
use crate::dedupe;
use crate::fetch::FetchError;
use crate::fetch::{Fetched, Fetcher};
use crate::normalize::{Normalizer, for_parser};
use crate::store::{PageAttempt, PageCounts, PollOutcome};

/// Article pages of one source fetched at once (the fetcher's per-host limit
/// and spacing apply on top).
pub const PAGES_IN_FLIGHT: usize = 4;

/// Why a page gave no article.
#[derive(Debug, PartialEq, Eq)]
pub enum NoArticle {
    /// Past the HTML guard (`normalize::for_parser`): not parsed.
    TooDeep,
    /// The extractor found nothing readable.
    NotFound,
}

/// The article's HTML from a decoded page at `page_url`. `selector` (the
/// source's `full_text_selector`) is used when the page is on `site` (the
/// source's own site, see `same_site`) and matches something; otherwise
/// the extractor decides.
pub fn extract(
    html: &str,
    page_url: &Url,
    site: &Url,
    selector: Option<&scraper::Selector>,
) -> Result<String, NoArticle> {
    // Tags bounded before any parser sees the page (400,000 attributes on
    // one tag cost 55 s), and the nesting, tag and node guard.
    let Some(html) = for_parser(html) else {
        return Err(NoArticle::TooDeep);
    };
    if let Some(sel) = selector.filter(|_| same_site(page_url, site)) {
        let doc = scraper::Html::parse_document(&html);
        let picked: String = doc.select(sel).map(|e| e.html()).collect();
        if !crate::normalize::html_to_lines(&picked).is_empty() {
            return Ok(picked);
        }
    }
    let cfg = dom_smoothie::Config {
        // Chinese says in 200 characters what English says in 500.
        char_threshold: 200,
        ..Default::default()
    };
    let mut r = dom_smoothie::Readability::new(&*html, Some(page_url.as_str()), Some(cfg))
        .map_err(|_| NoArticle::NotFound)?;
    let article = r.parse().map_err(|_| NoArticle::NotFound)?;
    let content = article.content.to_string();
    if crate::normalize::html_to_lines(&content).is_empty() {
        return Err(NoArticle::NotFound);
    }
    Ok(content)
}

/// Are both URLs on one site (`display::same_site`: the registrable
/// domain, or the host when there is none)?
pub use crate::display::same_site;

/// The charset an HTML page declares in its first 1024 bytes: `<meta
/// charset=…>` or `<meta http-equiv="Content-Type" content="…; charset=…">`
/// (the HTML prescan, simplified).
pub fn meta_charset(bytes: &[u8]) -> Option<String> {
    let head = &bytes[..bytes.len().min(1024)];
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let mut rest = head.as_str();
    while let Some(at) = rest.find("<meta") {
        rest = &rest[at + 5..];
        let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
        if let Some(p) = tag.find("charset") {
            let v = tag[p + 7..].trim_start();
            let Some(v) = v.strip_prefix('=') else {
                continue;
            };
            let v = v.trim_start().trim_start_matches(['"', '\'']);
            let end = v
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
                .unwrap_or(v.len());
            if end > 0 {
                return Some(v[..end].to_string());
            }
        }
    }
    None
}

/// Decodes a page: the HTTP charset wins, then `<meta>`, then detection
/// (`decode::decode`).
pub fn decode_page(bytes: &[u8], content_type: Option<&str>, host: Option<&str>) -> String {
    let http = content_type.and_then(decode::charset_param);
    let content_type = match (http, meta_charset(bytes)) {
        (None, Some(meta)) => Some(format!("text/html; charset={meta}")),
        _ => content_type.map(str::to_string),
    };
    decode::decode(bytes, content_type.as_deref(), None, host).text
}

/// What became of one item's page.
enum Page {
    /// The article (cleaned HTML), its normalization, and its
    /// near-duplicate keys (worked out here, off the writer and the async
    /// threads; `None` when dedupe is off).
    Article(String, crate::model::NormalizedItem, Option<Vec<i64>>),
    Failed(String),
    /// The fetch failed for a reason that may pass: tried again later.
    Retry(String),
}

/// May a fetch that failed this way work on a later poll? Network errors,
/// timeouts, busy slots, server errors, 429 and 408 may; a 404, a body over
/// the cap, a refused address will not.
pub fn worth_retrying(e: &FetchError) -> bool {
    match e {
        FetchError::Timeout(_) | FetchError::Network(_) | FetchError::Busy(_) => true,
        FetchError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
        FetchError::TooLarge(_) | FetchError::Refused(_) | FetchError::File { .. } => false,
    }
}

/// The article of one fetched page for the copy `item`, when it says more
/// than `feed_chars` characters of normalized text. CPU work: run on the
/// blocking pool.
fn article_for(
    body: crate::fetch::Body,
    item: &crate::model::ParsedItem,
    feed_chars: usize,
    site: &Url,
    selector: Option<&scraper::Selector>,
    normalizer: &Normalizer,
) -> Page {
    let Ok(page_url) = Url::parse(&body.final_url) else {
        return Page::Failed("unreadable final URL".into());
    };
    if body
        .content_type
        .as_deref()
        .is_some_and(|t| !t.to_ascii_lowercase().contains("html"))
    {
        return Page::Failed(format!(
            "not an HTML page ({})",
            body.content_type.as_deref().unwrap_or_default()
        ));
    }
    let html = decode_page(
        &body.bytes,
        body.content_type.as_deref(),
        page_url.host_str(),
    );
    let raw = match extract(&html, &page_url, site, selector) {
        Ok(a) => a,
        Err(NoArticle::TooDeep) => return Page::Failed("page nested too deep: not parsed".into()),
        Err(NoArticle::NotFound) => return Page::Failed("no article found".into()),
    };
    let cleaned = normalizer.clean_html(&raw);
    let mut full = item.clone();
    full.content_html = Some(cleaned.clone());
    let norm = normalizer.normalize(&full);
    let chars = norm.text.chars().count();
    if chars <= feed_chars {
        return Page::Failed(format!(
            "the article ({chars} characters) is no longer than the feed's text ({feed_chars})"
        ));
    }
    Page::Article(cleaned, norm, None)
}

/// Fetches and extracts the pages of `outcome`'s new and changed items
/// (those whose key and raw hash are not in `known`) when `source.full_text`
/// is set; sets each copy's full text and the poll's page counts; records
/// the counts in `/metrics`.
pub async fn enrich(
    fetcher: &Fetcher,
    source: &Source,
    normalizer: &Arc<Normalizer>,
    near: &Arc<dedupe::Params>,
    known: &HashMap<String, String>,
    outcome: &mut PollOutcome,
) {
    if !source.full_text {
        return;
    }
    let PollOutcome::Fetched { items, pages, .. } = outcome else {
        return;
    };
    let (jobs, mut counts, deferred) = plan_pages(source, known, items);
    let ctx = PageContext {
        fetcher,
        // A page may be a private address only on the feed's own origin,
        // whatever `[fetch].allow_private_addresses` says (see
        // `Fetcher::fetch_page`).
        feed_url: &source.url,
        allows_private: source.allow_private_addresses,
        selector: Arc::new(source.full_text_selector.clone()),
        site: Arc::new(source.url.clone()),
        normalizer,
        near,
    };
    let mut done = futures::stream::iter(jobs)
        .map(|(i, url)| {
            let item = items[i].item.clone();
            let feed_chars = items[i].norm.text.chars().count();
            let ctx = &ctx;
            async move {
                let page = ctx.page(&url, item, feed_chars).await;
                (i, url, page)
            }
        })
        .buffer_unordered(PAGES_IN_FLIGHT);
    let mut found = Vec::new();
    let mut attempts = Vec::new();
    while let Some((i, url, page)) = done.next().await {
        match page {
            Page::Article(html, norm, keys) => {
                counts.fetched += 1;
                found.push((i, html, norm, keys));
            }
            Page::Failed(why) => {
                counts.failed += 1;
                attempts.push((i, PageAttempt::Done));
                tracing::info!(source_id = %source.id, url = %url, "full text: {why}; the feed's text is kept");
            }
            Page::Retry(why) => {
                counts.failed += 1;
                attempts.push((i, PageAttempt::Failed));
                tracing::info!(source_id = %source.id, url = %url, "full text: {why}; the feed's text is kept, the page is tried again on a later poll");
            }
        }
    }
    drop(done);
    for (i, html, norm, keys) in found {
        if let Some(copy) = items.get_mut(i) {
            copy.set_full_text(html, norm, keys);
            copy.set_page(PageAttempt::Done);
        }
    }
    for (i, attempt) in attempts {
        if let Some(copy) = items.get_mut(i) {
            copy.set_page(attempt);
        }
    }
    *pages = counts;
    for (label, n) in [
        ("fetched", counts.fetched),
        ("failed", counts.failed),
        ("skipped", counts.skipped - deferred),
        ("deferred", deferred),
    ] {
        metrics::counter!("newsriver_full_text_pages_total", "outcome" => label).increment(n);
    }
}

/// Which new and changed items' pages to fetch now (index and URL): at
/// most `max_pages_per_poll`, the rest deferred to later polls; items with
/// no http(s) link are skipped. The counts so far, and how many deferred.
fn plan_pages(
    source: &Source,
    known: &HashMap<String, String>,
    items: &mut [crate::store::NewCopy],
) -> (Vec<(usize, Url)>, PageCounts, u64) {
    let mut counts = PageCounts::default();
    let mut jobs = Vec::new();
    let mut deferred = 0u64;
    for (i, copy) in items.iter_mut().enumerate() {
        if known.get(copy.key()).map(String::as_str) == Some(copy.raw_hash()) {
            continue;
        }
        let link = copy
            .item
            .link
            .as_deref()
            .and_then(|l| Url::parse(l.trim()).ok())
            .filter(|u| matches!(u.scheme(), "http" | "https"));
        match link {
            Some(_) if jobs.len() >= source.max_pages_per_poll => {
                // Fetched on a later poll (`copies.page_tries` = 0).
                copy.set_page(PageAttempt::Deferred);
                counts.skipped += 1;
                deferred += 1;
            }
            Some(url) => jobs.push((i, url)),
            None => {
                copy.set_page(PageAttempt::Done);
                counts.skipped += 1;
            }
        }
    }
    if deferred > 0 {
        tracing::info!(source_id = %source.id, deferred, "full text: more new items than max_pages_per_poll; their pages wait for the next polls");
    }
    (jobs, counts, deferred)
}

/// What fetching one source's pages shares.
struct PageContext<'a> {
    fetcher: &'a Fetcher,
    feed_url: &'a Url,
    allows_private: bool,
    selector: Arc<Option<scraper::Selector>>,
    site: Arc<Url>,
    normalizer: &'a Arc<Normalizer>,
    near: &'a Arc<dedupe::Params>,
}

impl PageContext<'_> {
    /// One item's page: fetched, then its article extracted and keyed on
    /// the blocking pool.
    async fn page(&self, url: &Url, item: crate::model::ParsedItem, feed_chars: usize) -> Page {
        let fetched = self
            .fetcher
            .fetch_page(url, self.feed_url, self.allows_private)
            .await;
        let body = match fetched {
            Ok(Fetched::Body(body)) => body,
            Ok(Fetched::NotModified { status, .. }) => {
                return Page::Failed(format!("HTTP {status} without a body"));
            }
            Err(e) if worth_retrying(&e) => return Page::Retry(e.to_string()),
            Err(e) => return Page::Failed(e.to_string()),
        };
        let (normalizer, selector, site, near) = (
            self.normalizer.clone(),
            self.selector.clone(),
            self.site.clone(),
            self.near.clone(),
        );
        tokio::task::spawn_blocking(move || {
            match article_for(
                body,
                &item,
                feed_chars,
                &site,
                selector.as_ref().as_ref(),
                &normalizer,
            ) {
                Page::Article(html, norm, _) => {
                    let keys = near.enabled.then(|| dedupe::index_keys(&norm.text, &near));
                    Page::Article(html, norm, keys)
                }
                failed => failed,
            }
        })
        .await
        .unwrap_or_else(|e| Page::Failed(format!("extraction failed: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    const PAGE: &str = "<html><head><meta charset=\"gbk\"><title>t</title></head><body>\
        <div class=\"nav\"><a href=\"/\">首页</a> <a href=\"/gn\">国内</a> <a href=\"/gj\">国际</a></div>\
        <div class=\"article\"><p>第一段：今天上午，全市秋季运动会在体育中心开幕，来自各区的三千多名运动员参加比赛。</p>\
        <p>第二段：本届运动会设田径、游泳、篮球等十二个大项，比赛将持续五天。</p>\
        <p>第三段：组委会表示，赛事期间将开放部分场馆供市民免费观赛。</p>\
        <p>第四段：运动会闭幕式将于本周日晚举行，届时将公布各项比赛的最终成绩。</p></div>\
        <div class=\"pick\"><p>侧栏里被选择器选中的文字。</p></div>\
        <div class=\"footer\">版权所有 京ICP备000000号</div></body></html>";

    #[test]
    fn the_extractor_keeps_the_article_and_drops_the_chrome() {
        let a = extract(
            PAGE,
            &url("https://news.example.cn/a/1.html"),
            &url("https://example.cn/rss"),
            None,
        )
        .expect("an article");
        for p in ["第一段", "第二段", "第三段", "第四段"] {
            assert!(a.contains(p), "{p} missing: {a}");
        }
        for b in ["首页", "ICP", "选择器"] {
            assert!(!a.contains(b), "{b} left: {a}");
        }
    }

    #[test]
    fn a_selector_is_used_on_the_sources_site_only_and_only_when_it_matches() {
        let sel = scraper::Selector::parse("div.pick").expect("selector");
        let site = url("https://www.example.com.cn/rss.xml");
        let own = extract(
            PAGE,
            &url("https://news.example.com.cn/1.html"),
            &site,
            Some(&sel),
        )
        .expect("own");
        assert!(own.contains("选择器") && !own.contains("第一段"), "{own}");
        // Another registrable domain under the same public suffix.
        let other = extract(
            PAGE,
            &url("https://news.other.com.cn/1.html"),
            &site,
            Some(&sel),
        )
        .expect("other");
        assert!(
            !other.contains("选择器") && other.contains("第一段"),
            "{other}"
        );
        // Matching nothing: the extractor decides.
        let none = scraper::Selector::parse("div.absent").expect("selector");
        let fallback = extract(
            PAGE,
            &url("https://news.example.com.cn/1.html"),
            &site,
            Some(&none),
        )
        .expect("fallback");
        assert!(fallback.contains("第一段"));
    }

    #[test]
    fn same_site_is_the_registrable_domain_or_the_host() {
        assert!(same_site(
            &url("https://news.sina.com.cn/x"),
            &url("http://rss.sina.com.cn/y")
        ));
        assert!(!same_site(
            &url("https://a.com.cn/x"),
            &url("https://b.com.cn/x")
        ));
        assert!(same_site(
            &url("http://127.0.0.1:8080/x"),
            &url("http://127.0.0.1:9/y")
        ));
        assert!(!same_site(
            &url("http://127.0.0.1/x"),
            &url("http://localhost/y")
        ));
    }

    #[test]
    fn pages_past_the_html_guard_are_not_parsed() {
        let deep = format!(
            "<html><body>{}<p>正文</p></body></html>",
            "<div>".repeat(crate::normalize::MAX_HTML_DEPTH + 5)
        );
        assert_eq!(
            extract(&deep, &url("https://a.cn/1"), &url("https://a.cn/"), None),
            Err(NoArticle::TooDeep)
        );
        assert_eq!(
            extract(
                "<html><body></body></html>",
                &url("https://a.cn/1"),
                &url("https://a.cn/"),
                None
            ),
            Err(NoArticle::NotFound)
        );
    }

    #[test]
    fn the_page_charset_comes_from_http_then_meta() {
        assert_eq!(
            meta_charset(b"<html><head><meta charset=\"GBK\">").as_deref(),
            Some("gbk")
        );
        assert_eq!(
            meta_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\" />"
            )
            .as_deref(),
            Some("gb2312")
        );
        assert_eq!(meta_charset(b"<meta name=\"x\" content=\"y\">"), None);
        let (gbk, _, _) = encoding_rs::GBK.encode("<meta charset=\"gbk\"><p>新闻正文</p>");
        assert!(decode_page(&gbk, Some("text/html"), None).contains("新闻正文"));
        // The HTTP header outranks the page.
        let utf8 = "<meta charset=\"gbk\"><p>新闻正文</p>".as_bytes();
        assert!(decode_page(utf8, Some("text/html; charset=utf-8"), None).contains("新闻正文"));
    }

    #[test]
    fn an_article_no_longer_than_the_feed_text_is_not_kept() {
        let normalizer = Normalizer::default();
        let body = |html: &str| crate::fetch::Body {
            status: 200,
            final_url: "https://a.cn/1.html".into(),
            moved_to: None,
            content_type: Some("text/html; charset=utf-8".into()),
            validators: crate::fetch::Validators::default(),
            bytes: html.as_bytes().to_vec(),
            elapsed: std::time::Duration::ZERO,
            budget: None,
        };
        let item = crate::model::ParsedItem {
            title: Some("运动会开幕".into()),
            summary_html: Some("<p>全市秋季运动会开幕。</p>".into()),
            ..Default::default()
        };
        let site = url("https://a.cn/");
        let Page::Article(html, norm, None) =
            article_for(body(PAGE), &item, 10, &site, None, &normalizer)
        else {
            panic!("the article is longer than the summary");
        };
        assert!(html.contains("第四段") && norm.text.contains("第四段"));
        assert!(matches!(
            article_for(body(PAGE), &item, 100_000, &site, None, &normalizer),
            Page::Failed(_)
        ));
        let mut json = body(PAGE);
        json.content_type = Some("application/json".into());
        assert!(matches!(
            article_for(json, &item, 10, &site, None, &normalizer),
            Page::Failed(_)
        ));
    }
}
