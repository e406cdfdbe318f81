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
//! "Not needed" is not "failed" (issue 23): an item whose feed text already
//! looks whole (`feed_text_whole`: `WHOLE_TEXT_CHARS` or more, no cut mark
//! such as "…" or "阅读全文") is not fetched at all, and a page whose
//! article is no longer than the feed's text is not kept; both count as
//! not needed. Real failures (HTTP errors, refused, not HTML, no article
//! found) are counted and handed to the store with the page's URL and why
//! (`PageCounts::failures`; `sources show` lists the last ones). Per page
//! they are logged at DEBUG only; the poll's one INFO line
//! (`pipeline::poll`) carries the counts and the first failure.
//! `sources test ID --page` reads one page through `read_page`, as a poll
//! does.
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
use crate::store::{PageAttempt, PageCounts, PageFailure, PollOutcome};

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
    extract_explained(html, page_url, site, selector).map(|e| e.html)
}

/// Which rule found a page's article (`sources test --page`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExtractedBy {
    /// The source's `full_text_selector` matched.
    Selector,
    /// The readability extractor (`dom_smoothie`), and why not the selector.
    Readability(NoSelector),
}

/// Why the readability extractor decided rather than the selector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSelector {
    /// The source has no `full_text_selector`.
    NoneSet,
    /// The page is not on the source's site: its selector is not used.
    OtherSite,
    /// The selector matched no element with text.
    MatchedNothing,
}

/// A page's article and the rule that found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// The article's HTML, as the extractor gave it (not yet cleaned).
    pub html: String,
    pub by: ExtractedBy,
}

/// `extract`, saying which rule found the article.
pub fn extract_explained(
    html: &str,
    page_url: &Url,
    site: &Url,
    selector: Option<&scraper::Selector>,
) -> Result<Extracted, NoArticle> {
    // Tags bounded before any parser sees the page (400,000 attributes on
    // one tag cost 55 s), and the nesting, tag and node guard.
    let Some(html) = for_parser(html) else {
        return Err(NoArticle::TooDeep);
    };
    let why = match selector {
        None => NoSelector::NoneSet,
        Some(_) if !same_site(page_url, site) => NoSelector::OtherSite,
        Some(sel) => {
            let doc = scraper::Html::parse_document(&html);
            let picked: String = doc.select(sel).map(|e| e.html()).collect();
            if !crate::normalize::html_to_lines(&picked).is_empty() {
                return Ok(Extracted {
                    html: picked,
                    by: ExtractedBy::Selector,
                });
            }
            NoSelector::MatchedNothing
        }
    };
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
    Ok(Extracted {
        html: content,
        by: ExtractedBy::Readability(why),
    })
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
    decode_page_decided(bytes, content_type, host).text
}

/// `decode_page`, with the charset decision (`sources test --page`).
pub fn decode_page_decided(
    bytes: &[u8],
    content_type: Option<&str>,
    host: Option<&str>,
) -> decode::Decoded {
    let http = content_type.and_then(decode::charset_param);
    let content_type = match (http, meta_charset(bytes)) {
        (None, Some(meta)) => Some(format!("text/html; charset={meta}")),
        _ => content_type.map(str::to_string),
    };
    decode::decode(bytes, content_type.as_deref(), None, host)
}

/// Normalized feed text at least this long (in characters), and not cut
/// short (`cut_short`), is taken for the whole article: its page is not
/// fetched ("not needed"). A summary is a sentence or three (the farm's
/// teasers: 60 characters; outlets' descriptions: under 300); a Chinese
/// news report is 500 to 2,000. A long excerpt without a mark of its cut
/// loses its page: the price of not fetching hundreds of pages a poll
/// whose article the feed already carries.
pub const WHOLE_TEXT_CHARS: usize = 500;

/// Marks a feed leaves where it cut a text short: an ellipsis, or a call
/// to read on. Looked for in the text's last `CUT_MARK_TAIL` characters.
const CUT_MARKS: &[&str] = &[
    "…",
    "...",
    "⋯",
    "阅读全文",
    "查看全文",
    "全文",
    "阅读更多",
    "更多",
    "详情",
    "点击查看",
    ">>",
    "》》",
    "read more",
];

/// How far from the end of a text a cut mark is looked for.
const CUT_MARK_TAIL: usize = 12;

/// Does `text` (a feed item's text, as published or normalized) end with
/// a mark of a cut?
pub fn cut_short(text: &str) -> bool {
    let text = text.trim_end();
    let start = text
        .char_indices()
        .rev()
        .nth(CUT_MARK_TAIL - 1)
        .map_or(0, |(i, _)| i);
    let tail = text[start..].to_lowercase();
    CUT_MARKS.iter().any(|m| tail.contains(m))
}

/// Content this long or more, beside a summary it is at least twice as
/// long as, is taken for the whole article (`feed_text_whole`): a feed that
/// sends a teaser and a content (RSS `content:encoded`, Atom `content` with
/// `summary`) sends the article as its content.
pub const WHOLE_CONTENT_CHARS: usize = 200;

/// Is a feed item's own text the whole article, so that its page need not
/// be fetched? Neither its normalized text (`norm_text`) nor the last line
/// of the text as published (boilerplate rules may strip a "阅读全文" link)
/// ends with a cut mark, and the text is `WHOLE_TEXT_CHARS` long or more,
/// or the item's content, beside a summary, is `WHOLE_CONTENT_CHARS` or
/// more and at least twice the summary. (Of the 1,500 real articles of
/// `../shared/news-zh`, 73% are 500 characters or more; the others' pages
/// are fetched, and their articles, no longer than the feed's text, count
/// as not needed too.)
pub fn feed_text_whole(item: &crate::model::ParsedItem, norm_text: &str) -> bool {
    use crate::normalize::html_to_lines;
    let chars = norm_text.chars().count();
    if cut_short(norm_text) {
        return false;
    }
    let text_of = |html: Option<&str>| -> Vec<String> {
        html.filter(|h| !h.trim().is_empty())
            .map(html_to_lines)
            .unwrap_or_default()
    };
    let content = text_of(item.content_html.as_deref());
    let summary = text_of(item.summary_html.as_deref());
    let published = if content.is_empty() {
        &summary
    } else {
        &content
    };
    if published.last().is_some_and(|l| cut_short(l)) {
        return false;
    }
    let count = |lines: &[String]| lines.iter().map(|l| l.chars().count()).sum::<usize>();
    let teaser_and_content = !summary.is_empty()
        && chars >= WHOLE_CONTENT_CHARS
        && count(&content) >= 2 * count(&summary);
    chars >= WHOLE_TEXT_CHARS || teaser_and_content
}

/// What became of one item's page.
enum Page {
    /// The article (cleaned HTML), its normalization, and its
    /// near-duplicate keys (worked out here, off the writer and the async
    /// threads; `None` when dedupe is off).
    Article(String, crate::model::NormalizedItem, Option<Vec<i64>>),
    /// The article was no longer than the feed's text: the feed had it
    /// all. The article's characters, the feed's.
    NotNeeded(usize, usize),
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

/// A fetched page read as the poll reads it: decoded (HTTP charset,
/// `<meta>`, detection), its article extracted (`extract_explained`) and
/// cleaned (`Normalizer::clean_html`). CPU work: run on the blocking pool.
pub struct ReadPage {
    pub page_url: Url,
    pub decoded: decode::Decoded,
    pub extracted: Extracted,
    /// The article cleaned: what a copy would show.
    pub cleaned: String,
}

/// Reads one fetched page (`ReadPage`); the error is why it gave no
/// article, in the words stored and shown (`sources show`, `sources test
/// --page`).
pub fn read_page(
    body: &crate::fetch::Body,
    site: &Url,
    selector: Option<&scraper::Selector>,
    normalizer: &Normalizer,
) -> Result<ReadPage, String> {
    let Ok(page_url) = Url::parse(&body.final_url) else {
        return Err("unreadable final URL".into());
    };
    if body
        .content_type
        .as_deref()
        .is_some_and(|t| !t.to_ascii_lowercase().contains("html"))
    {
        return Err(format!(
            "not an HTML page ({})",
            body.content_type.as_deref().unwrap_or_default()
        ));
    }
    let decoded = decode_page_decided(
        &body.bytes,
        body.content_type.as_deref(),
        page_url.host_str(),
    );
    let extracted = match extract_explained(&decoded.text, &page_url, site, selector) {
        Ok(a) => a,
        Err(NoArticle::TooDeep) => return Err("page nested too deep: not parsed".into()),
        Err(NoArticle::NotFound) => return Err("no article found".into()),
    };
    let cleaned = normalizer.clean_html(&extracted.html);
    Ok(ReadPage {
        page_url,
        decoded,
        extracted,
        cleaned,
    })
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
    let read = match read_page(&body, site, selector, normalizer) {
        Ok(r) => r,
        Err(why) => return Page::Failed(why),
    };
    let mut full = item.clone();
    full.content_html = Some(read.cleaned.clone());
    let norm = normalizer.normalize(&full);
    let chars = norm.text.chars().count();
    if chars <= feed_chars {
        return Page::NotNeeded(chars, feed_chars);
    }
    Page::Article(read.cleaned, norm, None)
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
    // Per page at DEBUG only: the poll's one INFO line
    // (`pipeline::poll`) counts them and names the first failure.
    while let Some((i, url, page)) = done.next().await {
        match page {
            Page::Article(html, norm, keys) => {
                counts.fetched += 1;
                found.push((i, html, norm, keys));
            }
            Page::NotNeeded(chars, feed_chars) => {
                counts.not_needed += 1;
                attempts.push((i, PageAttempt::Done));
                tracing::debug!(source_id = %source.id, url = %url, "full text not needed: the article ({chars} characters) is no longer than the feed's text ({feed_chars})");
            }
            Page::Failed(why) => {
                counts.failed += 1;
                attempts.push((i, PageAttempt::Done));
                tracing::debug!(source_id = %source.id, url = %url, "full text: {why}; the feed's text is kept");
                counts.failures.push(PageFailure {
                    url: url.to_string(),
                    reason: why,
                });
            }
            Page::Retry(why) => {
                counts.failed += 1;
                attempts.push((i, PageAttempt::Failed));
                tracing::debug!(source_id = %source.id, url = %url, "full text: {why}; the feed's text is kept, the page is tried again on a later poll");
                counts.failures.push(PageFailure {
                    url: url.to_string(),
                    reason: format!("{why} (tried again on a later poll)"),
                });
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
    for (label, n) in [
        ("fetched", counts.fetched),
        ("not_needed", counts.not_needed),
        ("failed", counts.failed),
        ("skipped", counts.skipped - deferred),
        ("deferred", deferred),
    ] {
        metrics::counter!("newsriver_full_text_pages_total", "outcome" => label).increment(n);
    }
    *pages = counts;
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
        if feed_text_whole(&copy.item, &copy.norm.text) {
            // The feed carries the article: its page is not fetched.
            copy.set_page(PageAttempt::Done);
            counts.not_needed += 1;
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
        tracing::debug!(source_id = %source.id, deferred, "full text: more new items than max_pages_per_poll; their pages wait for the next polls");
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
        // No longer than the feed's text: not needed, not a failure.
        assert!(matches!(
            article_for(body(PAGE), &item, 100_000, &site, None, &normalizer),
            Page::NotNeeded(_, 100_000)
        ));
        let mut json = body(PAGE);
        json.content_type = Some("application/json".into());
        assert!(matches!(
            article_for(json, &item, 10, &site, None, &normalizer),
            Page::Failed(_)
        ));
    }

    #[test]
    fn a_long_feed_text_without_a_cut_mark_is_whole() {
        let long: String = "今天上午，全市秋季运动会在体育中心开幕。".repeat(30);
        assert!(long.chars().count() >= WHOLE_TEXT_CHARS);
        let item = |html: &str| crate::model::ParsedItem {
            summary_html: Some(html.into()),
            ..Default::default()
        };
        assert!(feed_text_whole(&item(&long), &long));
        // Short: a summary.
        let short = "全市秋季运动会开幕。";
        assert!(!feed_text_whole(&item(short), short));
        // Long but cut, in the text or only in the feed's last line (a
        // "read on" link the boilerplate rules strip).
        let cut = format!("{long}比赛将持续五天……");
        assert!(!feed_text_whole(&item(&cut), &cut));
        let linked = format!("<p>{long}</p><p><a href=\"/1\">阅读全文&gt;&gt;</a></p>");
        assert!(!feed_text_whole(&item(&linked), &long));
        // A teaser and a content twice as long: the content is the article.
        let content: String =
            "本届运动会设田径、游泳、篮球等十二个大项，比赛将持续五天。".repeat(8);
        let both = crate::model::ParsedItem {
            summary_html: Some(short.into()),
            content_html: Some(format!("<p>{content}</p>")),
            ..Default::default()
        };
        assert!(content.chars().count() < WHOLE_TEXT_CHARS);
        assert!(feed_text_whole(&both, &content));
        // The same content alone is no longer than a long summary may be.
        assert!(!feed_text_whole(&item(&content), &content));
        assert!(cut_short("Read more"));
        assert!(!cut_short("赛事期间将开放部分场馆供市民免费观赛。"));
        assert!(!cut_short(""));
    }

    #[test]
    fn the_extraction_says_which_rule_found_the_article() {
        let site = url("https://www.example.com.cn/rss.xml");
        let own = url("https://news.example.com.cn/1.html");
        let by = |sel: Option<&str>, page: &Url| {
            let sel = sel.map(|s| scraper::Selector::parse(s).expect("selector"));
            extract_explained(PAGE, page, &site, sel.as_ref())
                .expect("an article")
                .by
        };
        assert_eq!(by(Some("div.pick"), &own), ExtractedBy::Selector);
        assert_eq!(
            by(Some("div.absent"), &own),
            ExtractedBy::Readability(NoSelector::MatchedNothing)
        );
        assert_eq!(
            by(Some("div.pick"), &url("https://other.cn/1.html")),
            ExtractedBy::Readability(NoSelector::OtherSite)
        );
        assert_eq!(
            by(None, &own),
            ExtractedBy::Readability(NoSelector::NoneSet)
        );
    }
}
