//! Several pollers on one PostgreSQL database (`[storage] url`): which
//! poller polls which feed host. Each holds leases on hosts
//! (`store::Leases`); a source is polled only under its host's lease, and
//! its poll is stored only if that lease is still held
//! (`store::PollToStore::lease`). So one host's politeness (`per_host`,
//! the interval between requests), validators and backoff stay with one
//! poller at a time, and a poller that dies leaves its hosts to the others
//! once its leases lapse (`[storage] lease_secs`). Nothing here runs on
//! SQLite: there one process polls everything.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::config::{Config, Source};
use crate::model::SourceId;
use crate::store::{Lease, Leases};

use super::PipelineError;

/// The host a source's lease is on: the politeness key of its configured
/// URL (`fetch::host_key`: the address it resolves to, so `localhost` and
/// `127.0.0.1` are one host, as `per_host` counts them); the configured
/// URL, not a redirect's target, so the grouping does not move.
pub async fn host_of(source: &Source) -> String {
    crate::fetch::host_key(&source.url).await
}

/// This process's leases.
pub struct Shared {
    leases: Leases,
    held: Mutex<HashMap<String, Lease>>,
    /// Each source's URL and host (`host_of`), as last worked out.
    hosts: Mutex<HashMap<SourceId, (String, String)>>,
    period: Duration,
    /// New hosts one claim takes at most: the hosts `concurrency` fetches,
    /// `per_host` at a time, keep busy, so that pollers starting together
    /// share the hosts out.
    batch: usize,
}

impl Shared {
    /// For a config on PostgreSQL: this process registered as a poller.
    /// `None` on SQLite.
    pub fn open(config: &Config) -> Result<Option<Arc<Shared>>, PipelineError> {
        let Some(url) = &config.storage.postgres else {
            return Ok(None);
        };
        let me = format!(
            "{}:{}:{}",
            hostname(),
            std::process::id(),
            chrono::Utc::now().timestamp_millis()
        );
        let period = Duration::from_secs(config.storage.lease_secs);
        let leases = Leases::open(url, &me, period)?;
        let per_host = config.fetch.per_host.max(1);
        Ok(Some(Arc::new(Shared {
            leases,
            held: Mutex::new(HashMap::new()),
            hosts: Mutex::new(HashMap::new()),
            period,
            batch: config.fetch.concurrency.div_ceil(per_host).max(1),
        })))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Lease>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The hosts of `sources` (`host_of`), in order, remembered for
    /// `lease_of`: a source whose URL is the one last seen keeps the host
    /// worked out then (a name is resolved once, not at every pass of the
    /// daemon's loop).
    pub async fn hosts_of(&self, sources: &[&Source]) -> Vec<String> {
        let mut out = Vec::with_capacity(sources.len());
        let mut resolved: HashMap<String, String> = HashMap::new();
        for s in sources {
            let known = self
                .hosts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&s.id)
                .filter(|(url, _)| url == s.url.as_str())
                .map(|(_, host)| host.clone());
            let host = match known {
                Some(h) => h,
                None => {
                    // Sources of one host name resolve once.
                    let name = s.url.host_str().unwrap_or_default().to_string();
                    let h = match resolved.get(&name) {
                        Some(h) => h.clone(),
                        None => {
                            let h = host_of(s).await;
                            resolved.insert(name, h.clone());
                            h
                        }
                    };
                    self.hosts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(s.id.clone(), (s.url.to_string(), h.clone()));
                    h
                }
            };
            out.push(host);
        }
        out
    }

    /// `source`'s host, as `hosts_of` last worked it out.
    pub fn host_of_source(&self, source: &SourceId) -> Option<String> {
        self.hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(source)
            .map(|(_, host)| host.clone())
    }

    /// The hosts this poller holds.
    pub fn held_hosts(&self) -> Vec<String> {
        let mut hosts: Vec<String> = self.held().keys().cloned().collect();
        hosts.sort_unstable();
        hosts
    }

    /// The lease this poller holds on `source`'s host (`hosts_of` worked
    /// it out), if any.
    pub fn lease_of(&self, source: &SourceId) -> Option<Lease> {
        let host = self.host_of_source(source)?;
        self.held().get(&host).cloned()
    }

    /// How long a lease lasts unrenewed.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Renews this poller and its leases; the pollers alive. What this
    /// poller holds is read back: a lease that lapsed and was taken leaves
    /// `lease_of` (its polls would be refused at commit).
    pub async fn heartbeat(self: &Arc<Self>) -> Result<usize, PipelineError> {
        let me = self.clone();
        let (live, now_held) = tokio::task::spawn_blocking(move || me.leases.heartbeat()).await??;
        let mut held = self.held();
        held.retain(|host, lease| now_held.iter().any(|l| &l.host == host && l == lease));
        Ok(live)
    }

    /// Claims leases on `hosts`, so that this poller holds at most
    /// `max_new` hosts in all, taking at most a batch at once; the hosts
    /// among them this poller now holds.
    ///
    /// Hosts this poller holds already are not asked for again: the
    /// renewals keep them (`keep_alive`), and their rows may be
    /// share-locked by this poller's own writer at this moment, which a
    /// claim would skip.
    pub async fn claim(
        self: &Arc<Self>,
        hosts: Vec<String>,
        max_new: usize,
    ) -> Result<HashSet<String>, PipelineError> {
        let (mut out, wanted): (HashSet<String>, Vec<String>) = {
            let held = self.held();
            let (mine, wanted): (Vec<String>, Vec<String>) =
                hosts.into_iter().partition(|h| held.contains_key(h));
            (mine.into_iter().collect(), wanted)
        };
        if wanted.is_empty() {
            return Ok(out);
        }
        // `max_new` is the share this poller may hold in all.
        let room = max_new.saturating_sub(self.held().len()).min(self.batch);
        if room == 0 {
            return Ok(out);
        }
        let me = self.clone();
        let max_new = room;
        let got = tokio::task::spawn_blocking(move || me.leases.claim(&wanted, max_new)).await??;
        let mut held = self.held();
        for lease in got {
            out.insert(lease.host.clone());
            held.insert(lease.host.clone(), lease);
        }
        Ok(out)
    }

    /// Lets `hosts` go.
    pub async fn release(self: &Arc<Self>, hosts: Vec<String>) -> Result<(), PipelineError> {
        {
            let mut held = self.held();
            for h in &hosts {
                held.remove(h);
            }
        }
        let me = self.clone();
        Ok(tokio::task::spawn_blocking(move || me.leases.release(&hosts)).await??)
    }

    /// Lets every lease go and leaves (shutdown, end of `poll`).
    pub async fn leave(self: &Arc<Self>) -> Result<(), PipelineError> {
        self.held().clear();
        let me = self.clone();
        Ok(tokio::task::spawn_blocking(move || me.leases.leave()).await??)
    }

    /// Renews every third of a period until dropped (the task's handle
    /// aborts it).
    pub fn keep_alive(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(me.period / 3);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = me.heartbeat().await {
                    tracing::warn!(error = %e, "cannot renew this poller's host leases");
                }
            }
        })
    }
}

/// This machine's name, for the poller's id (`/etc/hostname`, else
/// "localhost").
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// The share of `hosts` one of `live` pollers claims at a time.
pub fn fair_share(hosts: usize, live: usize) -> usize {
    hosts.div_ceil(live.max(1)).max(1)
}
