//! `/healthz`: what the daemon last reported, judged.

use super::*;

/// After start, how long `/healthz` says "starting" (503) while no source
/// has ever polled successfully; after that, "error".
pub const STARTUP_GRACE: Duration = Duration::from_secs(300);

/// What `/healthz` reports, kept by whoever writes (the daemon after each
/// poll) instead of asked of the database: a cold poll holds the writer for
/// seconds, and a health check must not queue behind it.
#[derive(Debug, Default)]
pub struct HealthState {
    /// Unix seconds of the last successful poll of any source; 0: none yet.
    last_success: AtomicI64,
    /// The last poll could not be stored: why.
    store_error: Mutex<Option<String>>,
    /// Polls running now: source → when it started, and how long it may
    /// take at most (`pipeline::Poller::longest_poll`). One running past
    /// that is stalled work (issue 22, item 8).
    running: Mutex<HashMap<String, (std::time::Instant, Duration)>>,
}

impl HealthState {
    /// Starts from what the database says (the last success survives restarts).
    pub fn new(last_success: Option<DateTime<Utc>>) -> Arc<HealthState> {
        let state = HealthState::default();
        if let Some(t) = last_success {
            state.polled_ok(t);
        }
        Arc::new(state)
    }

    /// A source polled successfully at `at` (and so was stored).
    pub fn polled_ok(&self, at: DateTime<Utc>) {
        self.last_success
            .fetch_max(at.timestamp().max(1), std::sync::atomic::Ordering::Relaxed);
        self.stored_ok();
    }

    /// A poll was stored (whatever its outcome).
    pub fn stored_ok(&self) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A poll could not be stored.
    pub fn store_failed(&self, why: String) {
        *self.store_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    /// A poll of `source` started; it should end within `limit`.
    pub fn poll_started(&self, source: &str, limit: Duration) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source.to_string(), (std::time::Instant::now(), limit));
    }

    /// The poll of `source` ended (whatever its outcome).
    pub fn poll_ended(&self, source: &str) {
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(source);
    }

    /// `health`, degraded when some poll runs past its limit (at `now`):
    /// the daemon still serves and polls the rest, but that source is stuck.
    pub fn with_stalls(&self, health: Health) -> Health {
        self.with_stalls_at(health, std::time::Instant::now())
    }

    fn with_stalls_at(&self, health: Health, now: std::time::Instant) -> Health {
        if health != Health::Ok {
            return health;
        }
        let running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        let mut stalled: Vec<(&String, Duration, Duration)> = running
            .iter()
            .map(|(id, (started, limit))| (id, now.saturating_duration_since(*started), *limit))
            .filter(|(_, ran, limit)| ran > limit)
            .collect();
        if stalled.is_empty() {
            return health;
        }
        stalled.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let (id, ran, limit) = stalled[0];
        let others = match stalled.len() - 1 {
            0 => String::new(),
            n => format!(" ({n} other source(s) too)"),
        };
        Health::Degraded(format!(
            "the poll of source {} has run for {} s, past the {} s it may take: stalled{others}",
            id,
            ran.as_secs(),
            limit.as_secs()
        ))
    }

    /// What `judge_health` takes: the store's error, else the last success.
    pub(super) fn database(&self) -> Result<Option<DateTime<Utc>>, String> {
        if let Some(e) = self
            .store_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            return Err(e);
        }
        let t = self.last_success.load(std::sync::atomic::Ordering::Relaxed);
        Ok((t > 0).then(|| DateTime::from_timestamp(t, 0)).flatten())
    }
}

/// The verdict of `/healthz`.
#[derive(Debug, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// Up for less than `STARTUP_GRACE` and no source has succeeded yet.
    Starting,
    /// Serving and polling, but some work is stuck: a poll running far
    /// past the time it may take (`HealthState::with_stalls`).
    Degraded(String),
    Error(String),
}

/// Healthy when the database answers and some source has polled
/// successfully at least once (ever: the time is in the database), or when
/// no source is enabled (nothing to wait for).
pub fn judge_health(
    database: Result<Option<DateTime<Utc>>, String>,
    enabled_sources: usize,
    up_for: Duration,
) -> Health {
    match database {
        Err(e) => Health::Error(format!("the database does not answer: {e}")),
        Ok(Some(_)) => Health::Ok,
        Ok(None) if enabled_sources == 0 => Health::Ok,
        Ok(None) if up_for < STARTUP_GRACE => Health::Starting,
        Ok(None) => Health::Error(format!(
            "no source has ever polled successfully ({} s since start)",
            up_for.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_running_past_its_limit_degrades_health_naming_its_source() {
        let state = HealthState::new(Some(Utc::now()));
        let minute = Duration::from_secs(60);
        state.poll_started("quick", minute);
        state.poll_started("stuck", minute);
        let now = std::time::Instant::now();
        assert_eq!(state.with_stalls_at(Health::Ok, now), Health::Ok);
        let later = now + 2 * minute;
        match state.with_stalls_at(Health::Ok, later) {
            Health::Degraded(why) => {
                assert!(why.contains("source") && why.contains("stalled"), "{why}");
                assert!(why.contains("1 other"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        state.poll_ended("quick");
        match state.with_stalls_at(Health::Ok, later) {
            Health::Degraded(why) => {
                assert!(why.contains("stuck") && !why.contains("other"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        // A worse verdict stays.
        assert_eq!(
            state.with_stalls_at(Health::Starting, later),
            Health::Starting
        );
        state.poll_ended("stuck");
        assert_eq!(state.with_stalls_at(Health::Ok, later), Health::Ok);
    }
}
