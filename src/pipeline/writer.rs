//! The one writer: a thread that owns `store::Writer` by value. Polls
//! arrive through a bounded channel and are committed in groups; every
//! other write (next poll times, retention, a reload's sync) is a job on
//! the same thread, so nothing else ever holds the write connection.

use std::sync::Arc;

use crate::store::{self, PollCounts, PollToStore};
use crate::topics::Topics;

use super::PipelineError;

/// Polls queued for the writer at most (each holds its prepared copies):
/// a poll task waits to hand over when the writer is this far behind, so
/// memory stays flat however fast feeds arrive (a poll of 40 items holds
/// ~0.3 MB). `poll` hands a source over and frees its fetch place at once
/// (`Poller::hand_over`), so up to `concurrency` polls being prepared, this
/// many queued and a group being stored are held at a time: 32 here, with
/// `concurrency` 32, gave a cold poll of the 1,000-feed synthetic farm
/// 4.82 s mean wall and 1.57–1.65 CPU ÷ wall (4 runs) against 5.16 s and
/// 1.55–1.57 when the place was held until the commit; peak RSS 128 MB
/// instead of 111. 16 saved 8 MB and lost the gain (BENCHMARKS.md).
const WRITE_QUEUE: usize = 32;

/// Polls stored in one transaction at most: all that queued up. Bigger
/// groups write each dirtied index page to the WAL fewer times per copy
/// (4,000 feeds: 16 polls 45 s wall, 32 polls 34–35 s, 64 polls 30 s;
/// BENCHMARKS.md).
const WRITE_BATCH: usize = WRITE_QUEUE;

/// What the writer thread holds: the write connection, and what it
/// classifies stories with (swapped by a reload, `Poller::reconfigure`).
pub struct WriterState {
    pub store: store::Writer,
    pub topics: Arc<Topics>,
    pub near: Arc<crate::dedupe::Params>,
    /// What the thread has stored so far (`WriteQueue::log_work`).
    pub work: WriterWork,
}

/// Polls, their items and the groups they were committed in, counted by
/// the writer thread.
#[derive(Clone, Copy, Debug, Default)]
pub struct WriterWork {
    pub polls: usize,
    pub items: usize,
    pub groups: usize,
}

/// The writer's answer to one submitted poll: its counts (or why it could
/// not be stored) and how many polls that commit held.
pub(super) type Commit = tokio::sync::oneshot::Receiver<(Result<PollCounts, String>, usize)>;

type Task = Box<dyn FnOnce(&mut WriterState) + Send>;

// Polls are most of the jobs: boxing them would add an allocation per
// poll to save a few bytes in a queue of at most `WRITE_QUEUE`.
#[allow(clippy::large_enum_variant)]
enum Job {
    /// One poll, stored with the others that queued up with it.
    Poll {
        poll: PollToStore,
        done: tokio::sync::oneshot::Sender<(Result<PollCounts, String>, usize)>,
    },
    /// Any other write, run alone between groups.
    Run(Task),
}

/// The handle to the writer thread; clones share the one thread, which
/// ends when the last handle is dropped.
#[derive(Clone)]
pub struct WriteQueue {
    queue: tokio::sync::mpsc::Sender<Job>,
}

impl WriteQueue {
    /// Starts the writer thread with the write connection.
    pub fn start(state: WriterState) -> Result<WriteQueue, PipelineError> {
        let (queue, jobs) = tokio::sync::mpsc::channel::<Job>(WRITE_QUEUE);
        std::thread::Builder::new()
            .name("newsriver-writer".into())
            .spawn(move || writer_loop(state, jobs))
            .map_err(|e| PipelineError::Writer(e.to_string()))?;
        Ok(WriteQueue { queue })
    }

    /// Queues `poll` for the writer (waiting while the queue is full); the
    /// answer comes once it is committed (`committed`).
    pub(super) async fn submit(&self, poll: PollToStore) -> Result<Commit, PipelineError> {
        let (done, result) = tokio::sync::oneshot::channel();
        self.queue
            .send(Job::Poll { poll, done })
            .await
            .map_err(|_| writer_gone())?;
        Ok(result)
    }

    /// The counts of a submitted poll once committed, and how many polls
    /// that commit held.
    pub(super) async fn committed(commit: Commit) -> Result<(PollCounts, usize), PipelineError> {
        let (counts, batch) = commit.await.map_err(|_| writer_gone())?;
        Ok((counts.map_err(PipelineError::Writer)?, batch))
    }

    /// Stores `poll` and waits for its commit.
    #[cfg(test)]
    pub(super) async fn store(
        &self,
        poll: PollToStore,
    ) -> Result<(PollCounts, usize), PipelineError> {
        WriteQueue::committed(self.submit(poll).await?).await
    }

    /// Logs at DEBUG, from the writer thread, its own CPU time and what it
    /// stored (`writer finished cpu_ms=… polls=… items=… groups=…`): the
    /// serial part of a poll, which `bench/run.sh` reports per item. Asked
    /// for by `poll` at its end, so the line is always there before the
    /// process exits.
    pub async fn log_work(&self) {
        let _ = self
            .run(|state| {
                // cpu-time (libc's clock_gettime): rustix's own reads the
                // auxiliary vector in a way valgrind cannot follow, and the
                // benchmarks run under it.
                let cpu_ms = cpu_time::ThreadTime::now().as_duration().as_millis() as u64;
                let WriterWork {
                    polls,
                    items,
                    groups,
                } = state.work;
                // PostgreSQL: how long its transactions waited for the
                // placement locks other pollers held, and how many were
                // stored again after a deadlock (0 on SQLite).
                let placement_wait_ms = crate::store::placement_wait_ms();
                let placement_retries = crate::store::placement_retries();
                tracing::debug!(
                    cpu_ms,
                    polls,
                    items,
                    groups,
                    placement_wait_ms,
                    placement_retries,
                    "writer finished"
                );
            })
            .await;
    }

    /// Runs `f` on the writer thread, between groups of polls, and returns
    /// what it returned.
    pub async fn run<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut WriterState) -> R + Send + 'static,
    ) -> Result<R, PipelineError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move |state| {
            let _ = done.send(f(state));
        });
        self.queue
            .send(Job::Run(task))
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())
    }
}

fn writer_gone() -> PipelineError {
    PipelineError::Writer("the writer thread has stopped".into())
}

/// Ends when every handle is gone.
fn writer_loop(mut state: WriterState, mut jobs: tokio::sync::mpsc::Receiver<Job>) {
    let mut next = jobs.blocking_recv();
    while let Some(job) = next.take() {
        let (poll, done) = match job {
            Job::Run(task) => {
                task(&mut state);
                next = jobs.blocking_recv();
                continue;
            }
            Job::Poll { poll, done } => (poll, done),
        };
        let (mut polls, mut replies) = (vec![poll], vec![done]);
        // A job that is not a poll ends the group and runs after it.
        while polls.len() < WRITE_BATCH {
            match jobs.try_recv() {
                Ok(Job::Poll { poll, done }) => {
                    polls.push(poll);
                    replies.push(done);
                }
                Ok(other) => {
                    next = Some(other);
                    break;
                }
                Err(_) => break,
            }
        }
        state.work.polls += polls.len();
        state.work.items += polls.iter().map(PollToStore::items).sum::<usize>();
        state.work.groups += 1;
        store_group(&mut state, polls, replies);
        if next.is_none() {
            next = jobs.blocking_recv();
        }
    }
}

/// One transaction for the group, a savepoint per poll
/// (`Writer::record_polls`); each poll is answered after the commit.
fn store_group(
    state: &mut WriterState,
    polls: Vec<PollToStore>,
    replies: Vec<tokio::sync::oneshot::Sender<(Result<PollCounts, String>, usize)>>,
) {
    let n = polls.len();
    let topics = state.topics.clone();
    let stored = state
        .store
        .record_polls(polls, &|story| topics.classify(story), &state.near);
    match stored {
        Ok(results) => {
            metrics::histogram!("newsriver_store_batch_polls").record(n as f64);
            for (reply, result) in replies.into_iter().zip(results) {
                let _ = reply.send((result.map_err(|e| e.to_string()), n));
            }
        }
        Err(e) => {
            let e = e.to_string();
            tracing::error!(polls = n, error = %e, "a batch of polls could not be stored");
            for reply in replies {
                let _ = reply.send((Err(e.clone()), n));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SourceId;
    use crate::store::{PollOutcome, SourceRow};
    use chrono::Utc;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polls_queued_while_the_writer_is_busy_are_committed_together() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let mut store = store::Writer::open(&path).unwrap();
        let tags: Vec<String> = vec![];
        let ids: Vec<SourceId> = (0..6).map(|i| SourceId(format!("s{i}"))).collect();
        let rows: Vec<SourceRow<'_>> = ids
            .iter()
            .map(|id| SourceRow {
                id,
                name: id,
                url: "https://x.example/",
                tags: &tags,
                low_trust: false,
                link_hosts: &[],
            })
            .collect();
        store.sync_sources(&rows).unwrap();
        let writer = Arc::new(
            WriteQueue::start(WriterState {
                store,
                topics: Arc::new(Topics::default()),
                near: Arc::new(crate::dedupe::Params::default()),
                work: Default::default(),
            })
            .unwrap(),
        );
        // Keep the writer busy (as a long transaction would) while six
        // polls arrive.
        let (held, release) = (
            std::sync::Arc::new(std::sync::Barrier::new(2)),
            std::sync::mpsc::channel::<()>(),
        );
        let busy = {
            let (writer, held) = (writer.clone(), held.clone());
            let wait = release.1;
            tokio::spawn(async move {
                writer
                    .run(move |_| {
                        held.wait();
                        let _ = wait.recv();
                    })
                    .await
            })
        };
        tokio::task::spawn_blocking(move || held.wait())
            .await
            .unwrap();
        let polls: Vec<_> = ids
            .iter()
            .map(|id| {
                let writer = writer.clone();
                let poll = PollToStore {
                    source_id: id.clone(),
                    started: Utc::now(),
                    duration_ms: 1,
                    outcome: PollOutcome::NotModified {
                        status: 304,
                        moved_to: None,
                    },
                    lease: None,
                };
                tokio::spawn(async move { writer.store(poll).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(300)).await;
        release.0.send(()).unwrap();
        busy.await.unwrap().unwrap();
        let mut largest = 0;
        for p in polls {
            let (_, batch) = p.await.unwrap().unwrap();
            largest = largest.max(batch);
        }
        // All six waited in the queue while the writer was busy, and went
        // in one commit.
        assert_eq!(largest, 6, "largest batch {largest}");
        let stored = store::Reader::open(&path)
            .unwrap()
            .source_status()
            .unwrap()
            .values()
            .filter(|s| s.last_outcome.as_deref() == Some("not_modified"))
            .count();
        assert_eq!(stored, 6);
    }
}
