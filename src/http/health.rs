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
