//! When each source is due: its cron schedule, a per-source jitter, backoff
//! after failures, `Retry-After`, and sources that are gone (410). Pure
//! functions of the state and an injected `now`, so tests need no clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

pub use crate::model::PollState;

/// Backoff rules.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    /// The first retry after a failure waits this long; each further failure
    /// doubles it. The daemon uses the source's schedule period: a failing
    /// source skips 1, 2, 4, … ticks.
    pub base: Duration,
    /// Never wait longer than this (`[fetch].max_backoff_secs`, one day by default).
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(24 * 3600),
        }
    }
}

impl Backoff {
    /// The wait after `failures` consecutive failures (0 → none).
    pub fn delay(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let factor = 1u32 << (failures - 1).min(20);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// The schedule's period around `at`: the gap between its next two ticks.
pub fn period(schedule: &cron::Schedule, at: DateTime<Utc>) -> Duration {
    let mut ticks = schedule.after(&at);
    match (ticks.next(), ticks.next()) {
        (Some(a), Some(b)) => (b - a).to_std().unwrap_or(Duration::from_secs(60)),
        _ => Duration::from_secs(3600),
    }
}

/// A stable offset for `source_id` within a tenth of the period, so that a
/// thousand sources on one schedule do not fire in the same second.
pub fn jitter(source_id: &str, period: Duration) -> Duration {
    let window = (period.as_millis() / 10) as u64;
    if window == 0 {
        return Duration::ZERO;
    }
    let hash = blake3::hash(source_id.as_bytes());
    let n = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap_or([0; 8]));
    Duration::from_millis(n % window)
}

/// When the source is next due, or `None` when it must not be polled again.
pub fn next_poll(
    schedule: &cron::Schedule,
    source_id: &str,
    state: &PollState,
    backoff: &Backoff,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    if state.gone {
        return None;
    }
    let period = period(schedule, now);
    let jitter = chrono::Duration::from_std(jitter(source_id, period)).unwrap_or_default();
    let mut due = match state.last_poll_at {
        // Never polled: the latest tick (so the time does not move on as
        // `now` does) shifted by the jitter; a new source fires within a
        // tenth of a period, and a thousand new sources not all at once.
        None => {
            let back = chrono::Duration::from_std(period).unwrap_or_default();
            schedule.after(&(now - back)).next()? + jitter
        }
        // The first tick after the last poll, shifted by this source's jitter
        // (the poll itself ran at its tick plus the jitter, so this is the
        // following tick: a source fires once per period). Never sooner
        // than a second after the last poll, whatever the clock says.
        Some(last) => {
            (schedule.after(&last).next()? + jitter).max(last + chrono::Duration::seconds(1))
        }
    };
    if let Some(last) = state.last_poll_at
        && state.consecutive_failures > 0
    {
        let wait = chrono::Duration::from_std(backoff.delay(state.consecutive_failures))
            .unwrap_or_default();
        due = due.max(last + wait);
    }
    if let Some(until) = state.retry_after {
        due = due.max(until);
    }
    Some(due)
}

/// Parses a `Retry-After` value: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let v = value.trim();
    // A server asking for more than a week is capped to a week, in either
    // form (an HTTP date in 9999 would otherwise stop polling for good).
    let cap = now + chrono::Duration::seconds(MAX_RETRY_AFTER_SECS as i64);
    if let Ok(secs) = v.parse::<u64>() {
        return Some(now + chrono::Duration::seconds(secs.min(MAX_RETRY_AFTER_SECS) as i64));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    Some(DateTime::<Utc>::from(when).min(cap))
}

/// The longest `Retry-After` honoured: a week.
pub const MAX_RETRY_AFTER_SECS: u64 = 7 * 24 * 3600;

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn jitter_is_stable_and_within_a_tenth() {
        let p = Duration::from_secs(900);
        assert_eq!(jitter("chinanews", p), jitter("chinanews", p));
        assert!(jitter("chinanews", p) < Duration::from_secs(90));
        let distinct: std::collections::HashSet<_> =
            (0..100).map(|i| jitter(&format!("s{i}"), p)).collect();
        assert!(distinct.len() > 90, "ids spread over the window");
    }

    #[test]
    fn a_source_fires_once_per_period_even_on_a_two_second_schedule() {
        let s = cron::Schedule::from_str("*/2 * * * * *").unwrap();
        let b = Backoff::default();
        let mut state = PollState::default();
        let mut now = at("2026-11-29T00:00:00.100Z");
        let mut fired = Vec::new();
        for _ in 0..5 {
            let due = next_poll(&s, "src", &state, &b, now).unwrap();
            fired.push(due);
            now = due;
            state.last_poll_at = Some(due);
        }
        for w in fired.windows(2).skip(1) {
            assert_eq!((w[1] - w[0]).num_milliseconds(), 2000, "{fired:?}");
        }
    }

    #[test]
    fn a_new_source_has_a_due_time_that_does_not_drift_with_now() {
        let s = cron::Schedule::from_str("0 */15 * * * *").unwrap();
        let b = Backoff::default();
        let state = PollState::default();
        let t1 = next_poll(&s, "x", &state, &b, at("2026-11-29T10:00:30Z")).unwrap();
        let t2 = next_poll(&s, "x", &state, &b, at("2026-11-29T10:00:31Z")).unwrap();
        assert_eq!(t1, t2);
        assert!(
            t1 < at("2026-11-29T10:01:30Z"),
            "within a tenth of the period of the tick: {t1}"
        );
    }

    #[test]
    fn fifteen_minute_schedule_waits_for_the_next_tick() {
        let s = cron::Schedule::from_str("0 */15 * * * *").unwrap();
        let j = chrono::Duration::from_std(jitter("x", Duration::from_secs(900))).unwrap();
        let state = PollState {
            last_poll_at: Some(at("2026-11-29T10:00:00Z") + j),
            ..Default::default()
        };
        let due = next_poll(
            &s,
            "x",
            &state,
            &Backoff::default(),
            at("2026-11-29T10:01:00Z"),
        )
        .unwrap();
        assert_eq!(due, at("2026-11-29T10:15:00Z") + j);
    }

    #[test]
    fn failures_back_off_exponentially_to_the_cap_and_retry_after_is_honoured() {
        let b = Backoff {
            base: Duration::from_secs(60),
            cap: Duration::from_secs(3600),
        };
        assert_eq!(b.delay(0), Duration::ZERO);
        assert_eq!(b.delay(1), Duration::from_secs(60));
        assert_eq!(b.delay(3), Duration::from_secs(240));
        assert_eq!(b.delay(30), Duration::from_secs(3600));
        let s = cron::Schedule::from_str("*/10 * * * * *").unwrap();
        let last = at("2026-11-29T10:00:00Z");
        let state = PollState {
            last_poll_at: Some(last),
            consecutive_failures: 5,
            ..Default::default()
        };
        let due = next_poll(&s, "x", &state, &b, last).unwrap();
        assert_eq!(due, last + chrono::Duration::seconds(960));
        let state = PollState {
            last_poll_at: Some(last),
            retry_after: Some(last + chrono::Duration::seconds(120)),
            ..Default::default()
        };
        assert_eq!(
            next_poll(&s, "x", &state, &b, last).unwrap(),
            last + chrono::Duration::seconds(120)
        );
        let gone = PollState {
            gone: true,
            ..Default::default()
        };
        assert_eq!(next_poll(&s, "x", &gone, &b, last), None);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = at("2026-11-29T10:00:00Z");
        assert_eq!(
            parse_retry_after("120", now),
            Some(now + chrono::Duration::seconds(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 29 Nov 2026 10:05:00 GMT", now),
            Some(at("2026-11-29T10:05:00Z"))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn retry_after_forms() {
        let now = at("2024-01-01T00:00:00Z");
        assert_eq!(
            parse_retry_after("120", now),
            Some(at("2024-01-01T00:02:00Z"))
        );
        assert_eq!(
            parse_retry_after("Mon, 01 Jan 2024 01:00:00 GMT", now),
            Some(at("2024-01-01T01:00:00Z"))
        );
        // Far future in either form: a week.
        let week = Some(at("2024-01-08T00:00:00Z"));
        assert_eq!(parse_retry_after("99999999999", now), week);
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            week
        );
        for garbage in [
            "soon",
            "-5",
            "1.5",
            "",
            "Mon, 99 Foo 2024",
            "18446744073709551616",
        ] {
            assert_eq!(parse_retry_after(garbage, now), None, "{garbage:?}");
        }
    }
}
