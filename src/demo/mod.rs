//! `newsriver demo`: a first look without the internet. A loopback HTTP
//! server serves a bundled sample of four invented outlets (`*.txt` beside
//! this file: a wire agency's RSS with summaries and article pages, a
//! daily's Atom, a paper's JSON Feed, a Taipei agency's RSS in Traditional
//! script; several wire stories carried by more than one of them); a config
//! for them is written into a temporary folder, polled once, and the same
//! daemon as `newsriver run` (`daemon::run_with`) serves the topics until
//! Ctrl-C, when the folder is removed (unless `--keep`).
//!
//! Dates are relative to when the demo started, so the river looks fresh;
//! fixed for the demo's life, so that a later poll sees the same feeds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Datelike, FixedOffset, Offset, TimeDelta, Utc};

use crate::config::Config;

/// Why the demo could not run (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the demo's config: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Pipeline(#[from] crate::pipeline::PipelineError),
    #[error(transparent)]
    Daemon(#[from] crate::daemon::DaemonError),
    #[error("cannot install a signal handler: {0}")]
    Signal(std::io::Error),
}

/// How an outlet publishes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// RSS 2.0; `summaries`: each item's text cut at `SUMMARY_CHARS`, the
    /// whole on its page (a `full_text` source).
    Rss {
        summaries: bool,
    },
    Atom,
    Json,
}

struct Outlet {
    id: &'static str,
    name: &'static str,
    kind: Kind,
    /// The feed's file name under `/<id>/`.
    file: &'static str,
    language: &'static str,
    text: &'static str,
}

const OUTLETS: [Outlet; 4] = [
    Outlet {
        id: "huaxun",
        name: "华讯社",
        kind: Kind::Rss { summaries: true },
        file: "rss.xml",
        language: "zh-CN",
        text: include_str!("huaxun.txt"),
    },
    Outlet {
        id: "jinghua",
        name: "京华日报",
        kind: Kind::Atom,
        file: "atom.xml",
        language: "zh-CN",
        text: include_str!("jinghua.txt"),
    },
    Outlet {
        id: "nanfang",
        name: "南方快报",
        kind: Kind::Json,
        file: "feed.json",
        language: "zh-CN",
        text: include_str!("nanfang.txt"),
    },
    Outlet {
        id: "huandao",
        name: "環島通訊社",
        kind: Kind::Rss { summaries: false },
        file: "rss.xml",
        language: "zh-TW",
        text: include_str!("huandao.txt"),
    },
];

/// The demo's topics: (slug, title, query).
const TOPICS: [(&str, &str, &str); 2] = [
    ("jingjinji", "京津冀", "京津冀 OR 雄安"),
    ("all", "全部新闻", "*"),
];

/// A summary-only feed cuts its text here (characters).
const SUMMARY_CHARS: usize = 100;

/// One story of an outlet's sample file.
struct Story<'a> {
    id: &'a str,
    /// Minutes before the demo started.
    ago: i64,
    title: &'a str,
    paragraphs: Vec<&'a str>,
}

/// An outlet's sample: `# comment` lines, then per story `@ id minutes-ago`,
/// its title, and one paragraph a line.
fn stories(text: &str) -> Vec<Story<'_>> {
    let mut out: Vec<Story<'_>> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_prefix("@ ") {
            let mut words = head.split_whitespace();
            let id = words.next().unwrap_or_default();
            let ago = words.next().and_then(|m| m.parse().ok()).unwrap_or(0);
            out.push(Story {
                id,
                ago,
                title: "",
                paragraphs: Vec::new(),
            });
        } else if let Some(story) = out.last_mut() {
            if story.title.is_empty() {
                story.title = line;
            } else {
                story.paragraphs.push(line);
            }
        }
    }
    out
}

/// What the sample server serves from: the outlets' stories dated against
/// `started`, with links on `base`. Ids do not name the port, so a demo run
/// again on a `--keep` folder finds the same items (their links edited).
struct Sample {
    started: DateTime<Utc>,
    base: String,
}

fn xml(s: &str) -> String {
    html_escape::encode_double_quoted_attribute(s).into_owned()
}

impl Sample {
    /// When a story was published, in Beijing (and Taipei) time.
    fn date(&self, story: &Story<'_>) -> DateTime<FixedOffset> {
        let east8 = FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix());
        (self.started - TimeDelta::minutes(story.ago)).with_timezone(&east8)
    }

    /// A story's text with `{月}` and `{日}` filled in from its date.
    fn fill(&self, story: &Story<'_>, text: &str) -> String {
        let at = self.date(story);
        text.replace("{月}", &at.month().to_string())
            .replace("{日}", &at.day().to_string())
    }

    fn link(&self, outlet: &Outlet, story: &Story<'_>) -> String {
        format!("{}/{}/{}.html", self.base, outlet.id, story.id)
    }

    fn html(&self, story: &Story<'_>) -> String {
        story
            .paragraphs
            .iter()
            .map(|p| format!("<p>{}</p>", xml(&self.fill(story, p))))
            .collect()
    }

    fn summary(&self, story: &Story<'_>) -> String {
        let text = self.fill(story, &story.paragraphs.join(""));
        if text.chars().count() <= SUMMARY_CHARS {
            return text;
        }
        let cut: String = text.chars().take(SUMMARY_CHARS).collect();
        format!("{cut}……")
    }

    /// An outlet's feed: content type and body.
    fn feed(&self, outlet: &Outlet) -> (&'static str, String) {
        let stories = stories(outlet.text);
        let home = format!("{}/{}/", self.base, outlet.id);
        match outlet.kind {
            Kind::Rss { summaries } => {
                let mut s = format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<rss version=\"2.0\"><channel>\n\
                     <title>{}</title><link>{}</link><description>{}（newsriver demo sample）</description><language>{}</language>\n",
                    xml(outlet.name),
                    xml(&home),
                    xml(outlet.name),
                    outlet.language
                );
                for story in &stories {
                    let link = self.link(outlet, story);
                    let text = if summaries {
                        self.summary(story)
                    } else {
                        self.html(story)
                    };
                    s.push_str(&format!(
                        "<item><title>{}</title><link>{}</link><guid isPermaLink=\"false\">{}-{}</guid><pubDate>{}</pubDate><description>{}</description></item>\n",
                        xml(&self.fill(story, story.title)),
                        xml(&link),
                        outlet.id,
                        xml(story.id),
                        self.date(story).to_rfc2822(),
                        xml(&text)
                    ));
                }
                s.push_str("</channel></rss>\n");
                ("application/rss+xml; charset=utf-8", s)
            }
            Kind::Atom => {
                let updated = stories
                    .iter()
                    .map(|s| self.date(s))
                    .max()
                    .unwrap_or_else(|| self.started.fixed_offset());
                let mut s = format!(
                    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:lang=\"{}\">\n\
                     <title>{}</title><id>tag:{}.demo.newsriver,2026:feed</id><updated>{}</updated>\
                     <link rel=\"self\" href=\"{}{}\"/><link href=\"{}\"/>\n",
                    outlet.language,
                    xml(outlet.name),
                    outlet.id,
                    updated.to_rfc3339(),
                    xml(&home),
                    outlet.file,
                    xml(&home)
                );
                for story in &stories {
                    let at = self.date(story).to_rfc3339();
                    s.push_str(&format!(
                        "<entry><title>{}</title><id>tag:{}.demo.newsriver,2026:{}</id><link href=\"{}\"/>\
                         <published>{at}</published><updated>{at}</updated><author><name>{}</name></author>\
                         <content type=\"html\">{}</content></entry>\n",
                        xml(&self.fill(story, story.title)),
                        outlet.id,
                        xml(story.id),
                        xml(&self.link(outlet, story)),
                        xml(outlet.name),
                        xml(&self.html(story))
                    ));
                }
                s.push_str("</feed>\n");
                ("application/atom+xml; charset=utf-8", s)
            }
            Kind::Json => {
                let items: Vec<serde_json::Value> = stories
                    .iter()
                    .map(|story| {
                        serde_json::json!({
                            "id": story.id,
                            "url": self.link(outlet, story),
                            "title": self.fill(story, story.title),
                            "content_html": self.html(story),
                            "date_published": self.date(story).to_rfc3339(),
                        })
                    })
                    .collect();
                let feed = serde_json::json!({
                    "version": "https://jsonfeed.org/version/1.1",
                    "title": outlet.name,
                    "home_page_url": home,
                    "feed_url": format!("{home}{}", outlet.file),
                    "language": outlet.language,
                    "items": items,
                });
                ("application/feed+json; charset=utf-8", feed.to_string())
            }
        }
    }

    /// A story's article page, as an outlet's site would show it: the
    /// article among navigation, credits and other headlines.
    fn page(&self, outlet: &Outlet, story: &Story<'_>) -> String {
        let others: String = stories(outlet.text)
            .iter()
            .filter(|s| s.id != story.id)
            .map(|s| {
                format!(
                    "<li><a href=\"{}\">{}</a></li>",
                    xml(&self.link(outlet, s)),
                    xml(s.title)
                )
            })
            .collect();
        format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{title} - {name}</title></head>\n\
             <body><header><a href=\"/{id}/\">{name}</a> | 首页 | 国内 | 教育 | 经济</header>\n\
             <article><h1>{title}</h1><p class=\"meta\">{date} 来源：{name}</p>\n{body}\n</article>\n\
             <footer><p>责任编辑：周舟</p><h2>相关推荐</h2><ul>{others}</ul></footer></body></html>\n",
            lang = outlet.language,
            title = xml(&self.fill(story, story.title)),
            name = xml(outlet.name),
            id = outlet.id,
            date = self.date(story).format("%Y-%m-%d %H:%M"),
            body = self.html(story),
        )
    }

    /// `GET /<outlet>/<file>`: the outlet's feed or one of its pages.
    fn answer(&self, outlet: &str, file: &str) -> Response {
        let Some(outlet) = OUTLETS.iter().find(|o| o.id == outlet) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if file == outlet.file {
            let (content_type, body) = self.feed(outlet);
            return ([(header::CONTENT_TYPE, content_type)], body).into_response();
        }
        let page = file.strip_suffix(".html").and_then(|id| {
            stories(outlet.text)
                .iter()
                .find(|s| s.id == id)
                .map(|s| self.page(outlet, s))
        });
        match page {
            Some(html) => {
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
            }
            None => StatusCode::NOT_FOUND.into_response(),
        }
    }
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The demo's config: the sample outlets at `sample` (the sample server's
/// base URL), the database in `folder`, serving on `listen`.
fn config_text(folder: &Path, sample: &str, listen: SocketAddr) -> String {
    let db = folder.join("newsriver.db");
    let mut s = format!(
        "# Written by `newsriver demo`: invented outlets served on loopback.\n\n\
         [storage]\npath = {}\n\n\
         [fetch]\nallow_private_addresses = true\ntimeout_secs = 10\nper_host = 8\n\n\
         [schedule]\ndefault = \"0 */10 * * * *\"\n\n\
         [server]\nlisten = \"{listen}\"\nbase_url = \"http://{listen}/\"\n\
         language = \"zh-Hans\"\ntimezone = \"Asia/Shanghai\"\n",
        toml_str(&db.to_string_lossy())
    );
    for o in &OUTLETS {
        s.push_str(&format!(
            "\n[[source]]\nid = \"{}\"\nname = {}\nurl = \"{sample}/{}/{}\"\n",
            o.id,
            toml_str(o.name),
            o.id,
            o.file
        ));
        if o.kind == (Kind::Rss { summaries: true }) {
            s.push_str("full_text = true\n");
        }
    }
    for (slug, title, query) in TOPICS {
        s.push_str(&format!(
            "\n[[topic]]\nslug = \"{slug}\"\ntitle = {}\nquery = {}\n",
            toml_str(title),
            toml_str(query)
        ));
    }
    s
}

/// Where the demo keeps its files: a temporary folder removed when dropped,
/// or the `--keep` folder, left in place.
enum Folder {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

impl Folder {
    fn path(&self) -> &Path {
        match self {
            Folder::Temporary(t) => t.path(),
            Folder::Kept(p) => p,
        }
    }
}

/// Runs the demo until SIGINT or SIGTERM: the sample server, one poll,
/// then the daemon on `listen`. Prints the folder, the page and the feeds
/// on stdout (the page's address with the port actually bound).
pub async fn run(listen: SocketAddr, keep: Option<&Path>) -> Result<(), DemoError> {
    // First: a Ctrl-C during the first poll stops the demo too, and still
    // removes the folder (the default action would leave it).
    let (stopped, stop) = tokio::sync::watch::channel(false);
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(DemoError::Signal)?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(DemoError::Signal)?;
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        let _ = stopped.send(true);
    });
    let stop_signal = move || {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };

    let folder = match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| DemoError::Io(dir.display().to_string(), e))?;
            Folder::Kept(dir.to_path_buf())
        }
        None => Folder::Temporary(
            tempfile::Builder::new()
                .prefix("newsriver-demo-")
                .tempdir()
                .map_err(|e| DemoError::Io("a temporary folder".into(), e))?,
        ),
    };

    let sample_listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| DemoError::Io("the sample server's port".into(), e))?;
    let sample_addr = sample_listener
        .local_addr()
        .map_err(|e| DemoError::Io("the sample server's port".into(), e))?;
    let sample = Arc::new(Sample {
        started: Utc::now(),
        base: format!("http://{sample_addr}"),
    });
    let router = axum::Router::new()
        .route(
            "/{outlet}/{file}",
            axum::routing::get(
                |State(sample): State<Arc<Sample>>,
                 UrlPath((outlet, file)): UrlPath<(String, String)>| async move {
                    sample.answer(&outlet, &file)
                },
            ),
        )
        .with_state(sample.clone());
    let sample_server = tokio::spawn(async move {
        if let Err(e) = axum::serve(sample_listener, router).await {
            tracing::error!(error = %e, "the demo's sample server stopped");
        }
    });

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| DemoError::Listen {
            addr: listen,
            source,
        })?;
    let bound = listener.local_addr().map_err(|source| DemoError::Listen {
        addr: listen,
        source,
    })?;
    let config_path = folder.path().join("config.toml");
    std::fs::write(
        &config_path,
        config_text(folder.path(), &sample.base, bound),
    )
    .map_err(|e| DemoError::Io(config_path.display().to_string(), e))?;
    let config = Config::load(&config_path)?;

    let shown = crate::printable::escape(&folder.path().display().to_string()).into_owned();
    println!(
        "newsriver demo: {} invented outlets served on {}/, stored in a folder of its own",
        OUTLETS.len(),
        sample.base
    );
    println!("folder: {shown}");

    let result = async {
        let polled = tokio::select! {
            polled = first_poll(&config) => Some(polled?),
            () = stop_signal() => None,
        };
        let Some(report) = polled else {
            return Ok(());
        };
        let stories = report
            .counts
            .stories_new
            .saturating_sub(report.counts.stories_bridged);
        println!(
            "first poll: {} items from {} outlets: {stories} new stories, {} copies joined a story another outlet carried",
            report.counts.items,
            report.ok(),
            report.counts.items_new.saturating_sub(stories)
        );
        println!("page: http://{bound}/");
        for (slug, title, _) in TOPICS {
            println!("feed: http://{bound}/topics/{slug}.atom  {title} (also .rss, .json)");
        }
        match &folder {
            Folder::Temporary(_) => println!("Ctrl-C stops the demo and removes the folder."),
            Folder::Kept(_) => println!("Ctrl-C stops the demo; the folder is kept (--keep)."),
        }
        crate::daemon::run_with(&config_path, config.clone(), Some(listener), stop_signal()).await?;
        Ok::<(), DemoError>(())
    }
    .await;
    sample_server.abort();
    drop(folder);
    result
}

/// The one poll before serving: every sample outlet, as `newsriver poll`.
async fn first_poll(config: &Config) -> Result<crate::pipeline::PollReport, DemoError> {
    let poller = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || crate::pipeline::Poller::new(&config))
            .await
            .map_err(|e| DemoError::Io("the first poll".into(), std::io::Error::other(e)))??
    };
    let sources = config
        .sources
        .iter()
        .filter(|s| s.enabled)
        .cloned()
        .collect();
    Ok(poller.poll(sources, |_| {}).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outlet_has_stories_with_titles_and_text() {
        for outlet in &OUTLETS {
            let stories = stories(outlet.text);
            assert!(stories.len() >= 3, "{}", outlet.id);
            for s in &stories {
                assert!(
                    !s.title.is_empty() && !s.paragraphs.is_empty(),
                    "{}/{}",
                    outlet.id,
                    s.id
                );
                assert!(s.ago > 0, "{}/{}", outlet.id, s.id);
            }
        }
        let total: usize = OUTLETS.iter().map(|o| o.text.len()).sum();
        assert!(total < 100_000, "the sample stays small: {total} bytes");
    }

    #[test]
    fn feeds_parse_cleanly_with_fresh_dates_and_summaries_are_cut() {
        let sample = Sample {
            started: Utc::now(),
            base: "http://127.0.0.1:1".into(),
        };
        for outlet in &OUTLETS {
            let (_, body) = sample.feed(outlet);
            assert!(
                !body.contains("{日}") && !body.contains("{月}"),
                "{}",
                outlet.id
            );
            let url = format!("{}/{}/{}", sample.base, outlet.id, outlet.file);
            let feed = crate::parse::parse(&body, Some(&url)).unwrap();
            assert!(feed.repairs.is_empty(), "{}: {:?}", outlet.id, feed.repairs);
            let stories = stories(outlet.text);
            assert_eq!(feed.items.len(), stories.len(), "{}", outlet.id);
            for (item, story) in feed.items.iter().zip(&stories) {
                assert_eq!(item.title.as_deref(), Some(story.title), "{}", outlet.id);
                let at = item.published.or(item.updated).unwrap();
                assert_eq!(
                    at.timestamp(),
                    (sample.started - TimeDelta::minutes(story.ago)).timestamp()
                );
                assert_eq!(item.link.as_deref(), Some(&*sample.link(outlet, story)));
            }
        }
        let huaxun = &OUTLETS[0];
        let story = &stories(huaxun.text)[0];
        let summary = sample.summary(story);
        assert!(summary.ends_with("……"));
        assert_eq!(summary.chars().count(), SUMMARY_CHARS + 2);
        let page = sample.answer(huaxun.id, &format!("{}.html", story.id));
        assert_eq!(page.status(), StatusCode::OK);
        assert!(
            sample
                .page(huaxun, story)
                .contains(&sample.fill(story, story.paragraphs[3]))
        );
        assert_eq!(
            sample.answer(huaxun.id, "nothing.html").status(),
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            sample.answer("elsewhere", "rss.xml").status(),
            StatusCode::NOT_FOUND
        );
    }

    #[test]
    fn the_config_is_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let listen: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        std::fs::write(&path, config_text(dir.path(), "http://127.0.0.1:9", listen)).unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(config.sources.len(), OUTLETS.len());
        assert_eq!(config.topics.len(), TOPICS.len());
        assert!(config.sources.iter().any(|s| s.full_text));
    }
}
