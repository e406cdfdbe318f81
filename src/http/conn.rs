//! Our own accept loop (hyper HTTP/1.1): a cap on open connections, one
//! per client address, header-read and idle timeouts, a lifetime and a
//! request count per connection; at a cap the connection waiting longest
//! for a request makes room.
//!
//! Written by hand: hyper-util's auto server and tower-http have timeouts
//! but no connection registry to choose whom to close, and nginx-style
//! eviction of idle keep-alives is what keeps one client from holding
//! every slot (issue 22, item 10).

use super::*;

use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What one client may hold: a slot among `max_connections` (at most
/// `max_per_client` from one address; 0 for no such cap), for at most
/// `header_timeout` before its request's headers are in, `idle_timeout`
/// without a byte moving either way (slowloris, slow readers, idle
/// keep-alive), `lifetime` in all and `max_requests` requests.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_connections: usize,
    pub max_per_client: usize,
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub lifetime: Duration,
    pub max_requests: u64,
}

impl Limits {
    /// From `[server]`, the cap lowered to half the open-file limit so that
    /// polling, SQLite and the log always have descriptors left.
    pub fn new(server: &crate::config::Server) -> Limits {
        let budget = open_file_limit().map_or(usize::MAX, |n| (n / 2).max(1));
        Limits {
            max_connections: server.max_connections.min(budget).max(1),
            max_per_client: server.max_connections_per_client,
            header_timeout: Duration::from_secs(server.header_timeout_secs),
            idle_timeout: Duration::from_secs(server.idle_timeout_secs),
            lifetime: Duration::from_secs(server.connection_lifetime_secs),
            max_requests: server.max_requests_per_connection.max(1),
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

/// A TCP stream that records when bytes move.
pub(super) struct Tracked {
    inner: tokio::net::TcpStream,
    conn: Arc<ConnState>,
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
            self.conn.touch();
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
            self.conn.touch();
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
            self.conn.touch();
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

/// One open connection, as the accept loop and its requests see it. Times
/// are milliseconds since the registry's `base`, shared by all, so that
/// connections compare.
pub(super) struct ConnState {
    base: std::time::Instant,
    /// When a byte last moved either way.
    last_byte_ms: AtomicU64,
    /// Since when it waits for a request's headers: accepted, or its last
    /// answer written. Meaningless while `busy`.
    waiting_since_ms: AtomicU64,
    /// A request's headers are in and its answer is not all written.
    busy: AtomicBool,
    requests: AtomicU64,
    /// Told to close to make room for a newer connection.
    evicted: tokio::sync::Notify,
}

impl ConnState {
    fn new(base: std::time::Instant) -> ConnState {
        let now = ms_since(base);
        ConnState {
            base,
            last_byte_ms: AtomicU64::new(now),
            waiting_since_ms: AtomicU64::new(now),
            busy: AtomicBool::new(false),
            requests: AtomicU64::new(0),
            evicted: tokio::sync::Notify::new(),
        }
    }

    fn touch(&self) {
        self.last_byte_ms
            .store(ms_since(self.base), Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = self.last_byte_ms.load(Ordering::Relaxed);
        Duration::from_millis(ms_since(self.base).saturating_sub(last))
    }

    /// Waiting for a request (idle keep-alive or headers not all in): it
    /// may be closed for a newer connection; None while answering.
    fn waiting_since(&self) -> Option<u64> {
        (!self.busy.load(Ordering::Acquire)).then(|| self.waiting_since_ms.load(Ordering::Relaxed))
    }
}

fn ms_since(base: std::time::Instant) -> u64 {
    u64::try_from(base.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Marks its connection busy from a request's headers until the answer's
/// body is dropped (written, or the connection gone).
pub(super) struct Busy(Arc<ConnState>);

impl Busy {
    fn new(conn: Arc<ConnState>) -> Busy {
        conn.busy.store(true, Ordering::Release);
        Busy(conn)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0
            .waiting_since_ms
            .store(ms_since(self.0.base), Ordering::Relaxed);
        self.0.busy.store(false, Ordering::Release);
    }
}

/// An answer's body that keeps its connection `Busy` until it is dropped.
pub(super) struct BusyBody {
    inner: Body,
    _busy: Busy,
}

impl hyper::body::Body for BusyBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.inner.size_hint()
    }
}

/// The router, counting a connection's requests and marking it busy; the
/// answer to its last allowed request says `Connection: close` (hyper then
/// closes the connection once it is written).
#[derive(Clone)]
pub(super) struct Counted {
    inner: hyper_util::service::TowerToHyperService<Router>,
    conn: Arc<ConnState>,
    max_requests: u64,
}

impl hyper::service::Service<hyper::Request<hyper::body::Incoming>> for Counted {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Response, Self::Error>> + Send>>;

    fn call(&self, request: hyper::Request<hyper::body::Incoming>) -> Self::Future {
        let busy = Busy::new(self.conn.clone());
        let n = self.conn.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let last = n >= self.max_requests;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let mut response = answer.await?;
            if last {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response.map(|inner| Body::new(BusyBody { inner, _busy: busy })))
        })
    }
}

/// The open connections, by id, and how many each client holds.
struct Registry {
    base: std::time::Instant,
    next_id: u64,
    open: HashMap<u64, Open>,
    per_client: HashMap<IpAddr, usize>,
}

struct Open {
    client: IpAddr,
    conn: Arc<ConnState>,
    /// Resolves when the connection's task has ended (its `Slot` dropped
    /// the sender): its descriptor is closed.
    gone: tokio::sync::oneshot::Receiver<()>,
}

/// A connection evicted: resolves once its descriptor is closed.
type Gone = tokio::sync::oneshot::Receiver<()>;

/// A connection admitted: its id, state, the sender its task holds until
/// it ends, and the connections evicted to make room.
struct Admitted {
    id: u64,
    conn: Arc<ConnState>,
    alive: tokio::sync::oneshot::Sender<()>,
    evicted: Vec<Gone>,
}

/// Why a new connection was closed at once.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// Its client holds its cap, every one answering a request.
    ClientBusy,
    /// The server holds its cap, every one answering a request.
    AllBusy,
}

impl Registry {
    fn new() -> Registry {
        Registry {
            base: std::time::Instant::now(),
            next_id: 0,
            open: HashMap::new(),
            per_client: HashMap::new(),
        }
    }

    /// Takes a slot for a connection from `client`, closing (evicting) the
    /// connection waiting longest for a request — that client's own at its
    /// cap, anyone's at the server's — when there is no room.
    fn admit(&mut self, client: IpAddr, limits: &Limits) -> Result<Admitted, Refused> {
        let mut evicted = Vec::new();
        let held = self.per_client.get(&client).copied().unwrap_or(0);
        if limits.max_per_client > 0 && held >= limits.max_per_client {
            let oldest = self
                .oldest_waiting(|c| c == client)
                .ok_or(Refused::ClientBusy)?;
            evicted.extend(self.evict(oldest));
        }
        if self.open.len() >= limits.max_connections {
            let oldest = self.oldest_waiting(|_| true).ok_or(Refused::AllBusy)?;
            evicted.extend(self.evict(oldest));
        }
        let id = self.next_id;
        self.next_id += 1;
        let conn = Arc::new(ConnState::new(self.base));
        let (alive, gone) = tokio::sync::oneshot::channel();
        let open = Open {
            client,
            conn: conn.clone(),
            gone,
        };
        self.open.insert(id, open);
        *self.per_client.entry(client).or_insert(0) += 1;
        Ok(Admitted {
            id,
            conn,
            alive,
            evicted,
        })
    }

    /// The connection (of a client `of` accepts) waiting longest for a
    /// request: oldest idle keep-alive or unfinished request headers.
    fn oldest_waiting(&self, of: impl Fn(IpAddr) -> bool) -> Option<u64> {
        self.open
            .iter()
            .filter(|(_, open)| of(open.client))
            .filter_map(|(id, open)| Some((open.conn.waiting_since()?, *id)))
            .min()
            .map(|(_, id)| id)
    }

    /// Tells the connection to close and gives its slot back now; the
    /// caller waits on what is returned until its descriptor is closed.
    fn evict(&mut self, id: u64) -> Option<Gone> {
        let open = self.remove(id)?;
        open.conn.evicted.notify_one();
        Some(open.gone)
    }

    fn remove(&mut self, id: u64) -> Option<Open> {
        let open = self.open.remove(&id)?;
        if let Entry::Occupied(mut held) = self.per_client.entry(open.client) {
            *held.get_mut() -= 1;
            if *held.get() == 0 {
                held.remove();
            }
        }
        Some(open)
    }
}

/// A connection's place in the registry, given back when its task ends
/// (and then `_alive` dropped says its descriptor is closed).
struct Slot {
    registry: Arc<Mutex<Registry>>,
    id: u64,
    _alive: tokio::sync::oneshot::Sender<()>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        lock(&self.registry).remove(self.id);
    }
}

fn lock(registry: &Mutex<Registry>) -> std::sync::MutexGuard<'_, Registry> {
    registry.lock().unwrap_or_else(|e| e.into_inner())
}

/// The client a connection counts against: its address, an IPv6 one's /64
/// (one subscriber's whole network), an IPv4-mapped one as IPv4.
fn client_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(std::net::Ipv6Addr::from(bits))
        }
        v4 => v4,
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
    let registry = Arc::new(Mutex::new(Registry::new()));
    // Every task holds a sender; `recv` ends when all are gone.
    let (alive, mut all_done) = tokio::sync::mpsc::channel::<()>(1);
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
                None => tracing::warn!(
                    max_connections = limits.max_connections,
                    max_connections_per_client = limits.max_per_client,
                    "{what}"
                ),
            }
        }
    };
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors (EMFILE) and the like: pause
                    // instead of spinning on the error.
                    warn("cannot accept a connection", Some(&e));
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let admitted = lock(&registry).admit(client_of(peer.ip()), &limits);
        let admitted = match admitted {
            Ok(admitted) => admitted,
            Err(why) => {
                // Every slot answering a request: closed at once, so its
                // descriptor is free again.
                metrics::counter!("newsriver_http_connections_refused_total").increment(1);
                warn(
                    match why {
                        Refused::ClientBusy => {
                            "a client is at its connection limit, all of them busy; closing its new connections"
                        }
                        Refused::AllBusy => {
                            "connection limit reached, all of them busy; closing new connections"
                        }
                    },
                    None,
                );
                drop(stream);
                continue;
            }
        };
        if !admitted.evicted.is_empty() {
            metrics::counter!("newsriver_http_connections_evicted_total")
                .increment(admitted.evicted.len() as u64);
        }
        // Until the evicted connections' descriptors are closed, no more
        // are taken: a flood of connections would otherwise hold evicted
        // ones open faster than their tasks run (EMFILE under `ulimit -n`).
        // One answering a request it got meanwhile finishes it first: not
        // waited for beyond a moment.
        for gone in admitted.evicted {
            let _ = tokio::time::timeout(Duration::from_millis(100), gone).await;
        }
        let conn = admitted.conn;
        let slot = Slot {
            registry: registry.clone(),
            id: admitted.id,
            _alive: admitted.alive,
        };
        let _ = stream.set_nodelay(true);
        let alive = alive.clone();
        let task = serve_one(stream, router.clone(), limits, stop_rx.clone(), conn, slot);
        tokio::spawn(async move {
            task.await;
            drop(alive);
        });
    }
    let _ = stop_tx.send(true);
    // Every sender gone: every connection has finished.
    drop(alive);
    let _ = all_done.recv().await;
    Ok(())
}

async fn serve_one(
    stream: tokio::net::TcpStream,
    router: Router,
    limits: Limits,
    mut stop: tokio::sync::watch::Receiver<bool>,
    conn: Arc<ConnState>,
    _slot: Slot,
) {
    let io = hyper_util::rt::TokioIo::new(Tracked {
        inner: stream,
        conn: conn.clone(),
    });
    let service = Counted {
        inner: hyper_util::service::TowerToHyperService::new(router),
        conn: conn.clone(),
        max_requests: limits.max_requests,
    };
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let mut http = std::pin::pin!(builder.serve_connection(io, service));
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    let mut tick = tokio::time::interval(check);
    let end_of_life = tokio::time::sleep(limits.lifetime);
    let mut end_of_life = std::pin::pin!(end_of_life);
    let mut closing = false;
    loop {
        tokio::select! {
            _ = http.as_mut() => break,
            // Made room for a newer connection: only ever one waiting for
            // a request, so nothing is cut short.
            () = conn.evicted.notified() => {
                if !conn.busy.load(Ordering::Acquire) {
                    break;
                }
                // A request came in meanwhile: answered, then closed.
                closing = true;
                http.as_mut().graceful_shutdown();
            }
            changed = stop.changed(), if !closing => {
                let _ = changed;
                closing = true;
                http.as_mut().graceful_shutdown();
            }
            () = &mut end_of_life, if !closing => {
                // The answer in progress is finished (`Connection: close`);
                // an idle connection is closed at once.
                closing = true;
                http.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                if conn.idle_for() >= limits.idle_timeout {
                    // Dropping the connection closes the socket.
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_connections: usize, max_per_client: usize) -> Limits {
        Limits {
            max_connections,
            max_per_client,
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            lifetime: Duration::from_secs(300),
            max_requests: 1000,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("a test address")
    }

    /// Admits a connection and makes it wait since `at` ms.
    fn admit_at(r: &mut Registry, client: &str, l: &Limits, at: u64) -> Result<u64, Refused> {
        let admitted = r.admit(client_of(ip(client)), l)?;
        admitted.conn.waiting_since_ms.store(at, Ordering::Relaxed);
        // The connection's task is not run here: its sender is dropped.
        Ok(admitted.id)
    }

    #[test]
    fn a_client_at_its_cap_closes_its_own_oldest_waiting_connection_or_is_refused() {
        let l = limits(10, 2);
        let mut r = Registry::new();
        let a1 = admit_at(&mut r, "10.0.0.1", &l, 5).unwrap();
        let a2 = admit_at(&mut r, "10.0.0.1", &l, 1).unwrap();
        let b1 = admit_at(&mut r, "10.0.0.2", &l, 0).unwrap();
        // a2 waits longest among a's (b1 longer still, but it is b's).
        let a3 = admit_at(&mut r, "10.0.0.1", &l, 9).unwrap();
        assert!(r.open.contains_key(&a1) && !r.open.contains_key(&a2));
        assert!(r.open.contains_key(&b1) && r.open.contains_key(&a3));
        assert_eq!(r.per_client[&ip("10.0.0.1")], 2);
        // Both of a's busy: a is refused, b is not.
        for id in [a1, a3] {
            r.open[&id].conn.busy.store(true, Ordering::Relaxed);
        }
        assert_eq!(
            admit_at(&mut r, "10.0.0.1", &l, 10),
            Err(Refused::ClientBusy)
        );
        assert!(admit_at(&mut r, "10.0.0.2", &l, 10).is_ok());
        // 0: no per-client cap.
        let mut r = Registry::new();
        for at in 0..10 {
            admit_at(&mut r, "10.0.0.1", &limits(10, 0), at).unwrap();
        }
        assert_eq!(r.open.len(), 10);
    }

    #[test]
    fn at_the_server_s_cap_the_connection_waiting_longest_makes_room() {
        let l = limits(3, 0);
        let mut r = Registry::new();
        let a = admit_at(&mut r, "10.0.0.1", &l, 7).unwrap();
        let b = admit_at(&mut r, "10.0.0.2", &l, 3).unwrap();
        let c = admit_at(&mut r, "10.0.0.3", &l, 5).unwrap();
        r.open[&b].conn.busy.store(true, Ordering::Relaxed);
        admit_at(&mut r, "10.0.0.4", &l, 9).unwrap();
        assert!(r.open.contains_key(&a) && r.open.contains_key(&b));
        assert!(
            !r.open.contains_key(&c),
            "c waited longest of the idle ones"
        );
        assert_eq!(r.open.len(), 3);
        assert!(!r.per_client.contains_key(&ip("10.0.0.3")));
        for id in r.open.keys().copied().collect::<Vec<_>>() {
            r.open[&id].conn.busy.store(true, Ordering::Relaxed);
        }
        assert_eq!(admit_at(&mut r, "10.0.0.5", &l, 10), Err(Refused::AllBusy));
        // A task ending gives its slot back once, evicted or not.
        r.remove(a);
        r.remove(a);
        assert_eq!(r.open.len(), 2);
    }

    #[test]
    fn an_ipv6_client_is_its_slash_64() {
        assert_eq!(
            client_of(ip("2001:db8:1:2:aaaa::1")),
            client_of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            client_of(ip("2001:db8:1:2::1")),
            client_of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(client_of(ip("::ffff:10.0.0.1")), ip("10.0.0.1"));
    }
}
