//! Our own accept loop (hyper HTTP/1.1): a cap on open connections,
//! header-read and idle timeouts.

use super::*;

/// What one client may hold: a slot among `max_connections`, for at most
/// `header_timeout` before its request's headers are in, and `idle_timeout`
/// without a byte moving either way (slowloris, slow readers, idle
/// keep-alive).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Limits {
    /// From `[server]`, the cap lowered to half the open-file limit so that
    /// polling, SQLite and the log always have descriptors left.
    pub fn new(server: &crate::config::Server) -> Limits {
        let budget = open_file_limit().map_or(usize::MAX, |n| (n / 2).max(1));
        Limits {
            max_connections: server.max_connections.min(budget).max(1),
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
        }
    }
}

/// The soft limit on open files (`/proc/self/limits`; None when unknown or
/// unlimited).
pub(super) fn open_file_limit() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// When a connection last moved a byte (milliseconds since `base`).
pub(super) struct Activity {
    base: std::time::Instant,
    last_ms: std::sync::atomic::AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity {
            base: std::time::Instant::now(),
            last_ms: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn touch(&self) {
        let ms = self.base.elapsed().as_millis() as u64;
        self.last_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.last_ms.load(std::sync::atomic::Ordering::Relaxed);
        self.base
            .elapsed()
            .saturating_sub(Duration::from_millis(last))
    }
}

/// A TCP stream that records when bytes move.
pub(super) struct Tracked {
    inner: tokio::net::TcpStream,
    activity: Arc<Activity>,
}

impl tokio::io::AsyncRead for Tracked {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = std::pin::Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl tokio::io::AsyncWrite for Tracked {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        data: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let polled = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, std::task::Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves `router` on `listener` (HTTP/1.1) until `shutdown` resolves, then
/// lets open requests finish (callers bound that wait). Replaces
/// `axum::serve`, which has no header-read or idle timeout and no cap: a
/// thousand idle connections took every descriptor the process had.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut last_warning: Option<std::time::Instant> = None;
    let mut warn = |what: &str, error: Option<&std::io::Error>| {
        // At most one line every 10 s: a flood must not flood the log.
        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            last_warning = Some(std::time::Instant::now());
            match error {
                Some(e) => {
                    tracing::warn!(error = %e, max_connections = limits.max_connections, "{what}")
                }
                None => tracing::warn!(max_connections = limits.max_connections, "{what}"),
            }
        }
    };
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: pause
                    // instead of spinning on the error.
                    warn("cannot accept a connection", Some(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // At the cap: closed at once, so its descriptor is free again.
            metrics::counter!("newsriver_http_connections_refused_total").increment(1);
            warn("connection limit reached; closing new connections", None);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_one(
            stream,
            router.clone(),
            limits,
            stop_rx.clone(),
            slot,
        ));
    }
    let _ = stop_tx.send(true);
    // Every slot back: every connection has finished.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

pub(super) async fn serve_one(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
    _slot: tokio::sync::OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = hyper_util::rt::TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let service = hyper_util::service::TowerToHyperService::new(router);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut conn = std::pin::pin!(builder.serve_connection(io, service));
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check);
    let mut stopping = false;
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            changed = stop.changed(), if !stopping => {
                let _ = changed;
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if activity.idle_for() >= limits.idle_timeout {
                    // Dropping the connection closes the socket.
                    break;
                }
            }
        }
    }
}
