//! URL → bytes plus caching headers, or "not modified". HTTP(S) via reqwest
//! (rustls), `file://` from disk. Enforces the limits of `[fetch]`: whole
//! request timeout, body cap after decompression, 5 redirects, requests in
//! flight per host, and (unless allowed) no private or loopback addresses.
//! Knows nothing of feeds: it does not import the later stages.
//!
//! The private-address guard (SSRF) works at two points, because reqwest
//! consults a custom DNS resolver only for names: `PublicOnlyResolver`
//! filters the addresses a name resolves to (so the address connected to is
//! the one checked, and DNS rebinding between check and connect cannot
//! happen), and `check_literal_host` refuses IP-literal URLs (`127.1`,
//! `[::ffff:10.0.0.1]`, `2130706433` — the url crate normalizes them all to
//! an IP before we look). Both run again on every redirect hop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap};
use reqwest::redirect;
use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;
use url::Url;

use crate::config;
pub use crate::model::Validators;

pub const MAX_REDIRECTS: usize = 5;

/// A successful fetch.
#[derive(Debug)]
pub enum Fetched {
    NotModified {
        status: u16,
        elapsed: Duration,
        /// Set when every redirect on the way was permanent (301/308).
        moved_to: Option<String>,
    },
    Body(Body),
}

#[derive(Debug)]
pub struct Body {
    pub status: u16,
    /// Where the body came from after redirects.
    pub final_url: String,
    /// Set when every redirect on the way was permanent (301/308): the URL
    /// to use from now on.
    pub moved_to: Option<String>,
    pub content_type: Option<String>,
    pub validators: Validators,
    /// Decompressed bytes.
    pub bytes: Vec<u8>,
    pub elapsed: Duration,
    /// A body larger than `SMALL_BODY` holds a share of
    /// `[fetch].max_bytes_in_flight` until this is dropped: keep it while
    /// the body, or what is made of it, is in memory.
    pub budget: Option<BodyBudget>,
}

/// Bodies up to this size are fetched without waiting for the budget: most
/// feeds are far smaller, and they never wait behind a large one.
pub const SMALL_BODY: usize = 1024 * 1024;

/// One large body's share of `[fetch].max_bytes_in_flight` (see `Body::budget`).
#[derive(Debug)]
pub struct BodyBudget(#[allow(dead_code)] tokio::sync::OwnedSemaphorePermit);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP {status}{}{}", reason.as_deref().map(|r| format!(" {r}")).unwrap_or_default(),
        retry_after.as_deref().map(|r| format!(" (Retry-After: {r})")).unwrap_or_default())]
    Status {
        status: u16,
        reason: Option<String>,
        /// The `Retry-After` header of a 429 or 503, as sent.
        retry_after: Option<String>,
    },
    #[error("timed out after {0} s")]
    Timeout(u64),
    #[error("body larger than max_body_bytes ({0} bytes)")]
    TooLarge(u64),
    #[error("refused: {0}")]
    Refused(String),
    /// The fetch could not get its host's request slot, its start, or a
    /// large-body slot within its wait limit (`Fetcher`): others were using
    /// them. May pass.
    #[error("{0}")]
    Busy(String),
    #[error("{0}")]
    Network(String),
    #[error("{path}: {message}")]
    File { path: String, message: String },
}

impl FetchError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<&str> {
        match self {
            FetchError::Status { retry_after, .. } => retry_after.as_deref(),
            _ => None,
        }
    }
}

/// A shared HTTP client with per-host limits. Cheap to share by reference.
///
/// Waiting (issue 22, item 8): a fetch waits for three things, each bounded
/// by one wait limit of `timeout_secs` in all, which does not count against
/// the request's own timeout: its host's request slot (`per_host`), its
/// host's next start (`host_interval_ms`), and, when the body grows past
/// `SMALL_BODY`, a large-body slot. The order is always host first, then a
/// large-body slot, and nothing holding a large-body slot waits for a host
/// (`pipeline::poll` lets go of a feed's slot before its pages are
/// fetched), so no two fetches can wait for each other; the wait limit is
/// the backstop. A fetch that cannot get its slots in time fails with
/// `FetchError::Busy`, naming the URL and the limit.
pub struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
    max_body: u64,
    allow_private: bool,
    allow_file: bool,
    per_host: usize,
    host_interval: Duration,
    /// Politeness state by canonical host (`host_key`): every spelling of
    /// one address, and every redirect hop reaching it, share one budget.
    hosts: Mutex<HashMap<String, Arc<Host>>>,
    /// Bodies larger than `SMALL_BODY` in memory at once: `max_bytes_in_flight
    /// / max_body_bytes`, at least one. A body takes its slot when it grows
    /// past `SMALL_BODY` and keeps it through parsing and storing (parsed
    /// feeds take several times their bytes), so memory stays bounded
    /// however many large feeds are due together. Waiting for a slot does
    /// not count against the timeout, but has its own limit (see above).
    large_bodies: Arc<Semaphore>,
    /// Guarded clients that let one host (the key) resolve to private
    /// addresses, or none (`None`: the guard with no exemption, needed when
    /// `[fetch].allow_private_addresses` leaves the main client unguarded).
    /// Built on first use: few sources need one.
    exempt_clients: Mutex<HashMap<Option<String>, reqwest::Client>>,
    cfg: config::Fetch,
}

/// The private-address guard of one fetch (none: private addresses allowed).
struct Guard {
    /// The one origin that may be a private address.
    exempt: Option<Exempt>,
    /// What a refusal says the operator can do about it.
    hint: &'static str,
}

/// Hint of a refused feed (or `sources add`) URL.
const FEED_HINT: &str = "set [fetch].allow_private_addresses = true to allow";
/// Hint of a refused article page.
const PAGE_HINT: &str = "an article page may reach a private address only on its feed's own origin, \
     or when its source sets allow_private_addresses = true";

/// The one origin a source with `allow_private_addresses` may reach on a
/// private address.
struct Exempt {
    /// Lower-cased, as the resolver compares it.
    host: String,
    origin: url::Origin,
}

impl Exempt {
    fn of(url: &Url) -> Option<Exempt> {
        Some(Exempt {
            host: url.host_str()?.to_ascii_lowercase(),
            origin: url.origin(),
        })
    }
}

/// What a request asks for (its `Accept`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Feed,
    Page,
}

const FEED_ACCEPT: &str = "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8";
/// Article pages are HTML (issue 22, item 17).
pub const PAGE_ACCEPT: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1";

/// Per-host politeness: requests in flight, and spacing between their starts.
struct Host {
    slots: Arc<Semaphore>,
    next_start: tokio::sync::Mutex<tokio::time::Instant>,
}

/// The host request slot a fetch holds, with its host's key.
struct HeldHost {
    key: String,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Fetcher {
    pub fn new(cfg: &config::Fetch) -> Result<Fetcher, FetchError> {
        let allow_private = cfg.allow_private_addresses;
        let resolver = (!allow_private).then_some(PublicOnlyResolver { exempt: None });
        Ok(Fetcher {
            client: build_client(cfg, resolver)?,
            timeout: Duration::from_secs(cfg.timeout_secs),
            max_body: cfg.max_body_bytes,
            allow_private,
            allow_file: cfg.allow_file_urls,
            per_host: cfg.per_host,
            host_interval: Duration::from_millis(cfg.host_interval_ms),
            hosts: Mutex::new(HashMap::new()),
            large_bodies: Arc::new(Semaphore::new(
                (cfg.max_bytes_in_flight / cfg.max_body_bytes.max(1)).clamp(1, 1024) as usize,
            )),
            exempt_clients: Mutex::new(HashMap::new()),
            cfg: cfg.clone(),
        })
    }

    /// Fetches `url`, conditionally when `validators` are given.
    pub async fn fetch(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        self.fetch_for(url, validators, None).await
    }

    /// Like `fetch`, for a source allowed to reach a private address: the
    /// origin of its configured URL (`private_origin`: scheme, host and
    /// port) is exempt from the guard; every other private address or port,
    /// on any redirect hop, is not.
    pub async fn fetch_for(
        &self,
        url: &Url,
        validators: &Validators,
        private_origin: Option<&Url>,
    ) -> Result<Fetched, FetchError> {
        let guard = (!self.allow_private).then(|| Guard {
            exempt: private_origin.and_then(Exempt::of),
            hint: FEED_HINT,
        });
        self.fetch_with(url, validators, guard.as_ref(), Want::Feed)
            .await
    }

    /// An article page of a source whose feed is `feed_url`, asked for as
    /// HTML. Whatever `[fetch].allow_private_addresses` says, a page may
    /// reach a private address only on the feed's own origin (scheme, host,
    /// port; when the switch is on or the source allows private addresses,
    /// and the feed's host is private), or anywhere when both the switch
    /// and the source's `allow_private_addresses` are on (issue 22, item
    /// 13): the switch set for one intranet feed must not let any feed's
    /// item links reach internal services and have their answers
    /// republished. Public pages are fetched as ever.
    pub async fn fetch_page(
        &self,
        url: &Url,
        feed_url: &Url,
        source_allows_private: bool,
    ) -> Result<Fetched, FetchError> {
        let guard = if self.allow_private && source_allows_private {
            None
        } else {
            let exempt = if self.allow_private || source_allows_private {
                tokio::time::timeout(self.timeout, private_origin(feed_url))
                    .await
                    .ok()
                    .flatten()
            } else {
                None
            };
            Some(Guard {
                exempt,
                hint: PAGE_HINT,
            })
        };
        self.fetch_with(url, &Validators::default(), guard.as_ref(), Want::Page)
            .await
    }

    async fn fetch_with(
        &self,
        url: &Url,
        validators: &Validators,
        guard: Option<&Guard>,
        want: Want,
    ) -> Result<Fetched, FetchError> {
        match url.scheme() {
            "file" if self.allow_file => self.fetch_file(url, validators).await,
            "file" => Err(FetchError::Refused(
                "file:// URLs need [fetch].allow_file_urls = true".into(),
            )),
            "http" | "https" => {
                self.check_host(url, guard).map_err(FetchError::Refused)?;
                let client = self.client_for(guard)?;
                let req = Req {
                    client: &client,
                    validators,
                    guard,
                    want,
                    wait_until: tokio::time::Instant::now() + self.timeout,
                };
                self.fetch_http(&req, url).await
            }
            other => Err(FetchError::Refused(format!("unsupported scheme {other:?}"))),
        }
    }

    /// The client that enforces `guard`.
    fn client_for(&self, guard: Option<&Guard>) -> Result<reqwest::Client, FetchError> {
        let exempt = match guard {
            None => return Ok(self.client.clone()),
            Some(g) => g.exempt.as_ref().map(|e| e.host.clone()),
        };
        if exempt.is_none() && !self.allow_private {
            // The main client is the guard with no exemption.
            return Ok(self.client.clone());
        }
        let mut clients = self
            .exempt_clients
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(c) = clients.get(&exempt) {
            return Ok(c.clone());
        }
        let resolver = PublicOnlyResolver {
            exempt: exempt.clone(),
        };
        let client = build_client(&self.cfg, Some(resolver))?;
        clients.insert(exempt, client.clone());
        Ok(client)
    }

    /// The guard on a URL about to be requested (unless private addresses
    /// are allowed, or this is the exempt origin). The exempt host at
    /// another port or scheme is refused: the resolver, which sees only the
    /// name, would let it through to any service on that host.
    fn check_host(&self, url: &Url, guard: Option<&Guard>) -> Result<(), String> {
        let Some(guard) = guard else {
            return Ok(());
        };
        if let Some(e) = &guard.exempt
            && url
                .host_str()
                .is_some_and(|h| h.eq_ignore_ascii_case(&e.host))
        {
            return if url.origin() == e.origin {
                Ok(())
            } else {
                Err(format!(
                    "only {} may be a private address for this source",
                    e.origin.ascii_serialization()
                ))
            };
        }
        check_literal_host(url).map_err(|e| format!("{e}; {}", guard.hint))
    }

    /// The politeness state of host `key`.
    fn host(&self, key: &str) -> Arc<Host> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(key.to_string())
            .or_insert_with(|| {
                Arc::new(Host {
                    slots: Arc::new(Semaphore::new(self.per_host)),
                    next_start: tokio::sync::Mutex::new(tokio::time::Instant::now()),
                })
            })
            .clone()
    }

    /// Charges one request to `url`'s host: takes its request slot (unless
    /// `held` is already that host's), then waits for its next start. Every
    /// hop of a redirect chain is charged to the host it reaches; the slot
    /// of the previous host is let go first, so no fetch holds one host's
    /// slot while waiting for another's. Returns how long it waited.
    async fn charge_host(
        &self,
        url: &Url,
        held: &mut Option<HeldHost>,
        wait_until: tokio::time::Instant,
    ) -> Result<Duration, FetchError> {
        let waiting = tokio::time::Instant::now();
        let key = tokio::time::timeout_at(wait_until, host_key(url))
            .await
            .unwrap_or_else(|_| name_key(url));
        let host = self.host(&key);
        if held.as_ref().is_none_or(|h| h.key != key) {
            *held = None;
            let permit = tokio::time::timeout_at(wait_until, host.slots.clone().acquire_owned())
                .await
                .map_err(|_| {
                    FetchError::Busy(format!(
                        "no free request slot for host {key} within {} s ([fetch].per_host = {}); {url} not fetched",
                        self.timeout.as_secs(),
                        self.per_host
                    ))
                })?
                .map_err(|e| FetchError::Network(e.to_string()))?;
            *held = Some(HeldHost {
                key: key.clone(),
                _permit: permit,
            });
        }
        if !self.host_interval.is_zero() {
            // Reserve the next start slot for this host, then wait for it.
            let start = {
                let mut next = host.next_start.lock().await;
                let start = (*next).max(tokio::time::Instant::now());
                if start > wait_until {
                    return Err(FetchError::Busy(format!(
                        "host {key}'s next free start is past the {} s wait limit ([fetch].host_interval_ms = {}); {url} not fetched",
                        self.timeout.as_secs(),
                        self.host_interval.as_millis()
                    )));
                }
                *next = start + self.host_interval;
                start
            };
            tokio::time::sleep_until(start).await;
        }
        Ok(waiting.elapsed())
    }

    async fn fetch_http(&self, req: &Req<'_>, url: &Url) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let mut current = url.clone();
        let mut hops = 0;
        let mut all_permanent = true;
        let mut held = None;
        // The whole request (every hop, the head, the body) within the
        // timeout, however slowly the body drips; waits for slots move it.
        let mut deadline = tokio::time::Instant::now() + self.timeout;
        let resp = loop {
            deadline += self
                .charge_host(&current, &mut held, req.wait_until)
                .await?;
            let resp = self.send(req, &current, hops, deadline).await?;
            let status = resp.status();
            if !status.is_redirection() || status == reqwest::StatusCode::NOT_MODIFIED {
                break resp;
            }
            let location = header_str(resp.headers(), header::LOCATION).ok_or_else(|| {
                FetchError::Network(format!(
                    "HTTP {} redirect without a Location",
                    status.as_u16()
                ))
            })?;
            let next = current.join(&location).map_err(|e| {
                FetchError::Refused(format!("redirect to an invalid URL {location:?}: {e}"))
            })?;
            hops += 1;
            if hops > MAX_REDIRECTS {
                return Err(FetchError::Refused(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            self.check_redirect(&current, &next, req.guard)
                .map_err(FetchError::Refused)?;
            all_permanent &= matches!(status.as_u16(), 301 | 308);
            current = next;
        };
        let moved_to = (hops > 0 && all_permanent).then(|| current.to_string());
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified {
                status: 304,
                elapsed: started.elapsed(),
                moved_to,
            });
        }
        if !status.is_success() {
            return Err(FetchError::Status {
                status: status.as_u16(),
                reason: status.canonical_reason().map(str::to_string),
                retry_after: matches!(status.as_u16(), 429 | 503)
                    .then(|| header_str(resp.headers(), header::RETRY_AFTER))
                    .flatten(),
            });
        }
        let headers = resp.headers().clone();
        let final_url = resp.url().to_string();
        let (bytes, budget) = self.read_body(resp, req, &current, deadline).await?;
        Ok(Fetched::Body(Body {
            status: status.as_u16(),
            final_url,
            moved_to,
            content_type: header_str(&headers, header::CONTENT_TYPE),
            validators: Validators {
                etag: header_str(&headers, header::ETAG),
                last_modified: header_str(&headers, header::LAST_MODIFIED),
            },
            bytes,
            elapsed: started.elapsed(),
            budget,
        }))
    }

    /// One hop's request, its head within `deadline`.
    async fn send(
        &self,
        req: &Req<'_>,
        url: &Url,
        hops: usize,
        deadline: tokio::time::Instant,
    ) -> Result<reqwest::Response, FetchError> {
        let accept = match req.want {
            Want::Feed => FEED_ACCEPT,
            Want::Page => PAGE_ACCEPT,
        };
        let mut r = req.client.get(url.clone()).header(header::ACCEPT, accept);
        if let Some(etag) = &req.validators.etag {
            r = r.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(lm) = &req.validators.last_modified {
            r = r.header(header::IF_MODIFIED_SINCE, lm);
        }
        let sent = tokio::time::timeout_at(deadline, r.send())
            .await
            .map_err(|_| FetchError::Timeout(self.timeout.as_secs()))?;
        sent.map_err(|e| match self.map_err(&e, req.guard) {
            // Say which hop failed: the guard may have refused the
            // address a redirect pointed at.
            FetchError::Network(m) if hops > 0 => {
                FetchError::Network(format!("after a redirect to {url}: {m}"))
            }
            FetchError::Refused(m) if hops > 0 => {
                FetchError::Refused(format!("after a redirect to {url}: {m}"))
            }
            other => other,
        })
    }

    /// The body, decompressed, within `deadline` and `max_body_bytes`; a
    /// large-body slot once it grows past `SMALL_BODY`.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        req: &Req<'_>,
        url: &Url,
        mut deadline: tokio::time::Instant,
    ) -> Result<(Vec<u8>, Option<BodyBudget>), FetchError> {
        let mut bytes = Vec::new();
        let mut budget = None;
        loop {
            let chunk = tokio::time::timeout_at(deadline, resp.chunk())
                .await
                .map_err(|_| FetchError::Timeout(self.timeout.as_secs()))?
                .map_err(|e| self.map_err(&e, req.guard))?;
            let Some(chunk) = chunk else { break };
            if (bytes.len() + chunk.len()) as u64 > self.max_body {
                return Err(FetchError::TooLarge(self.max_body));
            }
            if budget.is_none() && bytes.len() + chunk.len() > SMALL_BODY {
                let waiting = tokio::time::Instant::now();
                budget = Some(self.large_body_slot(url, req.wait_until).await?);
                deadline += waiting.elapsed();
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok((bytes, budget))
    }

    /// Waits for one of the large-body slots (see `large_bodies`) until
    /// `wait_until`.
    async fn large_body_slot(
        &self,
        url: &Url,
        wait_until: tokio::time::Instant,
    ) -> Result<BodyBudget, FetchError> {
        tokio::time::timeout_at(wait_until, self.large_bodies.clone().acquire_owned())
            .await
            .map_err(|_| {
                FetchError::Busy(format!(
                    "no room for another body over {} MiB within {} s ([fetch].max_bytes_in_flight = {}); {url} not fetched",
                    SMALL_BODY / (1024 * 1024),
                    self.timeout.as_secs(),
                    self.cfg.max_bytes_in_flight
                ))
            })?
            .map(BodyBudget)
            .map_err(|e| FetchError::Network(e.to_string()))
    }
    async fn fetch_file(&self, url: &Url, validators: &Validators) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let path = url
            .to_file_path()
            .map_err(|_| FetchError::Refused(format!("{url} is not a local file path")))?;
        let shown = path.display().to_string();
        let file_err = |e: std::io::Error| FetchError::File {
            path: shown.clone(),
            message: e.to_string(),
        };
        let mut file = tokio::fs::File::open(&path).await.map_err(file_err)?;
        let meta = file.metadata().await.map_err(file_err)?;
        // A file's mtime and size play the part of Last-Modified.
        let stamp = meta.modified().ok().map(|m| {
            let t: chrono::DateTime<chrono::Utc> = m.into();
            format!(
                "{} {}",
                t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
                meta.len()
            )
        });
        if stamp.is_some() && validators.last_modified == stamp {
            return Ok(Fetched::NotModified {
                status: 304,
                elapsed: started.elapsed(),
                moved_to: None,
            });
        }
        if meta.len() > self.max_body {
            return Err(FetchError::TooLarge(self.max_body));
        }
        let budget = if meta.len() > SMALL_BODY as u64 {
            let wait_until = tokio::time::Instant::now() + self.timeout;
            Some(self.large_body_slot(url, wait_until).await?)
        } else {
            None
        };
        let mut bytes = Vec::with_capacity(meta.len() as usize);
        (&mut file)
            .take(self.max_body + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(file_err)?;
        if bytes.len() as u64 > self.max_body {
            return Err(FetchError::TooLarge(self.max_body));
        }
        Ok(Fetched::Body(Body {
            status: 200,
            final_url: url.to_string(),
            moved_to: None,
            content_type: None,
            validators: Validators {
                etag: None,
                last_modified: stamp,
            },
            bytes,
            elapsed: started.elapsed(),
            budget,
        }))
    }

    /// May a redirect from `from` go to `to`? Only http(s), never from https
    /// down to http, and (unless allowed) never to a private IP literal; DNS
    /// names are checked by the resolver on the address actually used.
    fn check_redirect(&self, from: &Url, to: &Url, guard: Option<&Guard>) -> Result<(), String> {
        if !matches!(to.scheme(), "http" | "https") {
            return Err(format!("redirect to unsupported scheme {:?}", to.scheme()));
        }
        if from.scheme() == "https" && to.scheme() == "http" {
            return Err(format!("redirect from https to plain http ({to})"));
        }
        self.check_host(to, guard)
            .map_err(|e| format!("redirect to {to} refused: {e}"))
    }

    /// A client error as a `FetchError`: the guard's refusal of a name
    /// that resolves only to private addresses is `Refused` (with the
    /// guard's hint), not a network error that may pass.
    fn map_err(&self, e: &reqwest::Error, guard: Option<&Guard>) -> FetchError {
        if e.is_timeout() {
            return FetchError::Timeout(self.timeout.as_secs());
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(c) = cause {
            if let Some(NotPublic(why)) = c.downcast_ref::<NotPublic>() {
                let hint = guard.map_or(FEED_HINT, |g| g.hint);
                return FetchError::Refused(format!("{why}; {hint}"));
            }
            cause = c.source();
        }
        FetchError::Network(error_chain(e))
    }
}

/// What one fetch sends, and how long it may wait for its slots.
struct Req<'a> {
    client: &'a reqwest::Client,
    validators: &'a Validators,
    guard: Option<&'a Guard>,
    want: Want,
    /// Waiting for slots (host, start, large body) ends here.
    wait_until: tokio::time::Instant,
}

/// The politeness key of `url`'s host (issue 22, item 11): the address it
/// resolves to, so that `127.0.0.1`, `localhost`, `LOCALHOST.` and `[::1]`
/// share one budget (`canonical_ip`); of a name with several addresses the
/// least, so the key does not change with the order DNS returns them in.
/// A name that does not resolve keys by itself (`name_key`); its request
/// then fails on its own. Looked up here and again by the client when it
/// connects: a name whose addresses change in between only moves the
/// request to another host's budget; the guard checks the address used.
pub async fn host_key(url: &Url) -> String {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = ip {
        return canonical_ip(ip).to_string();
    }
    let name = name_key(url);
    let port = url.port_or_known_default().unwrap_or(80);
    let least = match tokio::net::lookup_host((name.as_str(), port)).await {
        Ok(addrs) => addrs.map(|a| canonical_ip(a.ip())).min(),
        Err(_) => None,
    };
    least.map_or(name, |ip| ip.to_string())
}

/// `url`'s origin as an exemption when its host is private (an IP literal,
/// or a name with a private address): a public feed host needs none, and
/// its pages at another scheme or port stay reachable.
async fn private_origin(url: &Url) -> Option<Exempt> {
    let private = match url.host()? {
        url::Host::Ipv4(ip) => !is_public(IpAddr::V4(ip)),
        url::Host::Ipv6(ip) => !is_public(IpAddr::V6(ip)),
        url::Host::Domain(name) => {
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((name, port)).await {
                Ok(mut addrs) => addrs.any(|a| !is_public(a.ip())),
                Err(_) => false,
            }
        }
    };
    if private { Exempt::of(url) } else { None }
}

/// A host name as a key: lower case, without the trailing dot of a fully
/// qualified name (the url crate lower-cases ASCII and IDNA-encodes).
fn name_key(url: &Url) -> String {
    url.host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// One spelling per address: IPv4-mapped IPv6 as IPv4, `::1` as
/// `127.0.0.1` (the same loopback interface).
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) if v6.is_loopback() => IpAddr::from([127, 0, 0, 1]),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// One HTTP client with the limits of `[fetch]`; `resolver` is the
/// private-address guard (none when private addresses are allowed).
fn build_client(
    cfg: &config::Fetch,
    resolver: Option<PublicOnlyResolver>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(cfg.user_agent.clone())
        // No `.timeout` or `.read_timeout`: the whole-request limit is
        // `fetch_http`'s deadline on every await, which does not count
        // waiting for a large-body slot (reqwest's timers would).
        .connect_timeout(Duration::from_secs(cfg.timeout_secs.min(10)))
        // Redirects are followed by hand (`fetch_http`): each hop is
        // checked, and a chain of permanent ones is remembered.
        .redirect(redirect::Policy::none())
        // Response heads are held in memory whole. hyper stops an HTTP/1
        // head at ~400 KB of buffer; these cap the header count (HTTP/1)
        // and the header list (HTTP/2, whose default is 16 MB).
        .http1_max_headers(MAX_RESPONSE_HEADERS)
        .http2_max_header_list_size(MAX_HEADER_LIST_BYTES)
        .no_proxy();
    if let Some(r) = resolver {
        builder = builder.dns_resolver(r);
    }
    builder
        .build()
        .map_err(|e| FetchError::Network(error_chain(&e)))
}

/// Most headers a response may have.
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Largest HTTP/2 header list accepted, in bytes.
pub const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// "error sending request: connect: dns error: …" — the whole cause chain,
/// without repeating the URL that the caller already names.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let mut s = err.to_string();
        if let Some(i) = s.find(" for url (") {
            s.truncate(i);
        }
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

/// Refuses a URL whose host is a non-public IP literal (DNS names are checked
/// by the resolver, on the addresses actually connected to).
fn check_literal_host(url: &Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(format!("{ip} is not a public address"))
    }
}

/// True for addresses on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (o[1] & 0xC0) == 64) // CGNAT 100.64/10
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF 192.0.0/24
                || (o[0] == 198 && (o[1] & 0xFE) == 18) // benchmarking 198.18/15
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            let o = v6.octets();
            // Forms that carry an IPv4 address a gateway may connect to:
            // NAT64 64:ff9b::/96 (last 32 bits) and 6to4 2002::/16 (bits
            // 16-48). They are as public as the address inside.
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                return is_public(IpAddr::from([o[12], o[13], o[14], o[15]]));
            }
            if seg[0] == 0x2002 {
                return is_public(IpAddr::from([o[2], o[3], o[4], o[5]]));
            }
            // IPv4-translated ::ffff:0:0:0/96 (RFC 2765, SIIT): the last 32 bits.
            if seg[..4] == [0, 0, 0, 0] && seg[4] == 0xffff && seg[5] == 0 {
                return is_public(IpAddr::from([o[12], o[13], o[14], o[15]]));
            }
            // Teredo 2001::/32 hides a (XOR-ed) IPv4 address and a relay:
            // not a place a feed lives.
            if seg[0] == 0x2001 && seg[1] == 0 {
                return false;
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xFE00) == 0xFC00 // unique local fc00::/7
                || (seg[0] & 0xFFC0) == 0xFE80 // link-local fe80::/10
                || (seg[0] & 0xFFC0) == 0xFEC0 // site-local fec0::/10 (deprecated, still routed inside some networks)
                || (seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1) // local-use NAT64 64:ff9b:1::/48
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation 2001:db8::/32
                || (seg[0] == 0x0100 && seg[1..4] == [0, 0, 0]) // discard 100::/64
                || (seg[0] == 0 && seg[1] == 0 && seg[2] == 0 && seg[3] == 0 && seg[4] == 0 && seg[5] == 0)) // ::/96 (IPv4-compatible)
        }
    }
}

/// The guard's refusal of a name (found again in the client's error chain
/// by `Fetcher::map_err`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct NotPublic(String);

/// System DNS, then only public addresses (except for the one `exempt`
/// host a source was allowed to reach).
struct PublicOnlyResolver {
    exempt: Option<String>,
}

impl reqwest::dns::Resolve for PublicOnlyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        let exempt = self
            .exempt
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&host));
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if exempt {
                return Ok(Box::new(all.into_iter()) as reqwest::dns::Addrs);
            }
            let public: Vec<SocketAddr> =
                all.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() {
                let shown: Vec<String> = all.iter().map(|a| a.ip().to_string()).collect();
                return Err(NotPublic(format!(
                    "{host} resolves only to non-public addresses ({})",
                    shown.join(", ")
                ))
                .into());
            }
            Ok(Box::new(public.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:0a00:0001::1",
            "fec0::1",
            "2001:db8::1",
            "100::1",
            "::ffff:0:7f00:1",
            "::ffff:0:a9fe:a9fe",
            "::ffff:0:0:0",
            "::ffff:0:0",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
            "::ffff:0:808:808",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn ip_literals_in_any_spelling_are_refused() {
        // The url crate normalizes decimal, octal, hex and short IPv4 forms;
        // the guard sees the address they name.
        for url in [
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:a9fe:a9fe]/",
            "http://0.0.0.0/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.100.100.200/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://[::]/",
        ] {
            let u = Url::parse(url).unwrap();
            assert!(check_literal_host(&u).is_err(), "{url} -> {u}");
        }
    }

    /// A server on loopback answering every request with `body` bytes.
    async fn big_body_server(body: usize) -> Url {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut head = [0u8; 4096];
                    let _ = s.read(&mut head).await;
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: {body}\r\nConnection: close\r\n\r\n"
                    );
                    let _ = s.write_all(reply.as_bytes()).await;
                    let _ = s.write_all(&vec![b'x'; body]).await;
                });
            }
        });
        Url::parse(&format!("http://{addr}/feed")).unwrap()
    }

    #[tokio::test]
    async fn large_bodies_wait_for_the_budget_within_the_wait_limit() {
        let mut cfg = crate::config::Config::from_str_at(
            "[fetch]\nallow_private_addresses = true\ntimeout_secs = 2\nmax_body_bytes = 4194304\nmax_bytes_in_flight = 4194304\n[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n",
            std::path::Path::new("/tmp/c.toml"),
        )
        .unwrap()
        .fetch;
        cfg.per_host = 8;
        cfg.host_interval_ms = 0;
        let f = Arc::new(Fetcher::new(&cfg).unwrap());
        let large = big_body_server(3 * 1024 * 1024).await;
        let small = big_body_server(100 * 1024).await;
        let fetch = |url: Url| {
            let f = f.clone();
            tokio::spawn(async move { f.fetch(&url, &Validators::default()).await })
        };
        let Ok(Ok(Fetched::Body(first))) = fetch(large.clone()).await else {
            panic!("first large body")
        };
        assert!(first.budget.is_some(), "a large body holds a share");
        // One share in all (4 MiB / 4 MiB): a second large body waits while
        // the first is held; a small one does not.
        let second = fetch(large.clone());
        let Ok(Ok(Fetched::Body(little))) = fetch(small).await else {
            panic!("small body")
        };
        assert!(little.budget.is_none());
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        assert!(!second.is_finished(), "the second large body did not wait");
        drop(first);
        // Waiting within the limit (timeout_secs) is not held against it.
        let second = match second.await.unwrap() {
            Ok(Fetched::Body(b)) => b,
            other => panic!("second large body: {other:?}"),
        };
        assert_eq!(second.bytes.len(), 3 * 1024 * 1024);
        // Waiting past it fails, naming the URL and the limit (issue 22,
        // item 8: no wait is forever).
        let started = Instant::now();
        match fetch(large.clone()).await.unwrap() {
            Err(FetchError::Busy(why)) => {
                assert!(
                    why.contains(large.as_str()) && why.contains("max_bytes_in_flight"),
                    "{why}"
                );
            }
            other => panic!("third large body: {other:?}"),
        }
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(1_900) && waited < Duration::from_secs(4),
            "{waited:?}"
        );
        drop(second);
    }

    #[tokio::test]
    async fn only_a_private_feed_host_is_an_exemption_for_its_pages() {
        let origin = |s: &str| {
            let u = Url::parse(s).unwrap();
            async move {
                private_origin(&u)
                    .await
                    .map(|e| e.origin.ascii_serialization())
            }
        };
        assert_eq!(
            origin("http://127.0.0.1:9/rss").await.as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(
            origin("http://localhost:9/rss").await.as_deref(),
            Some("http://localhost:9")
        );
        assert_eq!(origin("https://8.8.8.8/rss").await, None);
        assert_eq!(origin("https://[2606:4700::1111]/rss").await, None);
        // A public feed host: its pages at another scheme or port are
        // judged like any public page, not refused as "another origin".
        let mut cfg = crate::config::Config::from_str_at(
            "[fetch]\nallow_private_addresses = true\n[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n",
            std::path::Path::new("/tmp/c.toml"),
        )
        .unwrap()
        .fetch;
        cfg.host_interval_ms = 0;
        let f = Fetcher::new(&cfg).unwrap();
        let guard = Guard {
            exempt: None,
            hint: PAGE_HINT,
        };
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(
            f.check_host(&u("http://8.8.8.8:8080/a"), Some(&guard))
                .is_ok()
        );
        let refused = f
            .check_host(&u("http://10.0.0.1/a"), Some(&guard))
            .unwrap_err();
        assert!(refused.contains("its feed's own origin"), "{refused}");
    }

    /// Every spelling of one address is one politeness key (issue 22, item 11).
    #[tokio::test]
    async fn hosts_are_keyed_by_their_address() {
        let key = |s: &str| {
            let u = Url::parse(s).unwrap();
            async move { host_key(&u).await }
        };
        let loopback = "127.0.0.1";
        for url in [
            "http://127.0.0.1:8080/a",
            "http://localhost/b",
            "http://LOCALHOST:9/c",
            "http://localhost./d",
            "http://LocalHost./e",
            "http://[::1]/f",
            "http://[::ffff:127.0.0.1]/g",
            "http://2130706433/h",
            "http://127.1/i",
        ] {
            assert_eq!(key(url).await, loopback, "{url}");
        }
        assert_eq!(key("http://[::ffff:8.8.8.8]/").await, "8.8.8.8");
        assert_eq!(key("http://127.0.0.2/").await, "127.0.0.2");
        // A name that does not resolve keys by itself, spelled one way.
        assert_eq!(
            key("http://No-Such-Host.Invalid./x").await,
            "no-such-host.invalid"
        );
    }

    #[test]
    fn redirects_are_checked_hop_by_hop() {
        let mut cfg = crate::config::Config::from_str_at(
            "[[source]]\nid = \"a\"\nurl = \"https://x.org/\"\n",
            std::path::Path::new("/tmp/c.toml"),
        )
        .unwrap()
        .fetch;
        cfg.allow_private_addresses = false;
        let f = Fetcher::new(&cfg).unwrap();
        let u = |s: &str| Url::parse(s).unwrap();
        let https = u("https://news.example.org/feed");
        let plain = Guard {
            exempt: None,
            hint: FEED_HINT,
        };
        assert!(
            f.check_redirect(&https, &u("https://cdn.example.org/f"), Some(&plain))
                .is_ok()
        );
        let e = f.check_redirect(&https, &u("http://news.example.org/feed"), Some(&plain));
        assert!(e.unwrap_err().contains("https to plain http"));
        assert!(
            f.check_redirect(&https, &u("file:///etc/passwd"), Some(&plain))
                .is_err()
        );
        assert!(
            f.check_redirect(&https, &u("https://127.0.0.1/"), Some(&plain))
                .is_err()
        );
        assert!(
            f.check_redirect(&https, &u("https://169.254.169.254/"), Some(&plain))
                .is_err()
        );
        // The exempt host may be private; another private address may not.
        let intranet = u("http://10.0.0.5/feed");
        let exempt = Guard {
            exempt: Exempt::of(&intranet),
            hint: FEED_HINT,
        };
        let ok = |to: &str| f.check_redirect(&intranet, &u(to), Some(&exempt)).is_ok();
        assert!(ok("http://10.0.0.5/other"));
        assert!(
            ok("http://10.0.0.5:80/other"),
            "the default port is the same origin"
        );
        assert!(!ok("http://10.0.0.6/"));
        // Same host, another port or scheme: another service.
        assert!(!ok("http://10.0.0.5:6379/"));
        assert!(!ok("https://10.0.0.5/"));
    }

    #[test]
    fn literal_private_host_is_refused() {
        assert!(check_literal_host(&Url::parse("http://127.0.0.1:8080/feed").unwrap()).is_err());
        assert!(check_literal_host(&Url::parse("http://[::1]/feed").unwrap()).is_err());
        assert!(check_literal_host(&Url::parse("http://example.org/feed").unwrap()).is_ok());
    }
}
