//! The daemon serves what another process stored (issue 19, item 7): a
//! `newsriver poll` run beside `newsriver run` on the same database reaches
//! the daemon's feeds within a render interval, without a reload.

use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::*;

const FIRST: Item<'static> = Item {
    guid: Some("first"),
    link: Some("https://outlet.example/first"),
    title: Some("京津冀三地签署职业教育协同发展协议"),
    description: Some(
        "<p>京津冀三地教育部门今天签署职业教育协同发展协议，将共建实训基地，互认学分，推动院校合作。</p>",
    ),
    pub_date: None,
};

const SECOND: Item<'static> = Item {
    guid: Some("second"),
    link: Some("https://outlet.example/second"),
    title: Some("雄安新区首批中小学校开学迎新"),
    description: Some(
        "<p>雄安新区首批由京津两地学校援建的中小学校今天开学，京津冀三地教师组成联合教研团队。</p>",
    ),
    pub_date: None,
};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_daemon_serves_stories_another_process_polled_without_a_reload() {
    let server = TestServer::start();
    server.fixed("/feed", Response::ok(RSS_TYPE, rss2("甲报", &[FIRST])));
    let port = free_port();
    // Polled once at start, then not for a year: only `poll` can bring
    // the second story.
    let extra = format!(
        "[schedule]\ndefault = \"0 0 0 1 1 *\"\n\n{}\n\
         [[topic]]\nslug = \"jjj\"\ntitle = \"京津冀\"\nquery = '京津冀'\n",
        server_section(port)
    );
    let env = Env::with(FETCH, &[src("a", &server.url("/feed"))], &extra);
    let log = env.path("daemon.log");
    let daemon = Running(spawn_daemon(&env.config, Some(&log)));
    let feed_url = format!("http://127.0.0.1:{port}/topics/jjj.atom");
    let feed = || {
        http_get(&feed_url)
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
    };
    wait_for(
        Duration::from_secs(30),
        || feed().is_some_and(|b| b.contains("职业教育协同发展协议")),
        "the daemon serves the first story",
    );
    assert_eq!(server.requests("/feed").len(), 1, "the daemon polled once");

    // On PostgreSQL a one-shot poll leaves the hosts a live daemon holds
    // (host leases) to it: the other process polls a source on another
    // host, from a config of its own on the same database.
    let other = env.pg.is_some().then(|| {
        let other = TestServer::start_at("127.0.0.2");
        other.fixed("/feed", Response::ok(RSS_TYPE, rss2("乙报", &[SECOND])));
        let poller = Env::with_store(
            env.pg.clone(),
            FETCH,
            &[src("b", &other.url("/feed"))],
            "[[topic]]\nslug = \"jjj\"\ntitle = \"京津冀\"\nquery = '京津冀'\n",
        );
        poller.poll(&[]);
        assert_eq!(other.requests("/feed").len(), 1, "`poll` fetched its feed");
        other
    });
    if other.is_none() {
        server.fixed(
            "/feed",
            Response::ok(RSS_TYPE, rss2("甲报", &[SECOND, FIRST])),
        );
        env.poll(&[]);
        assert_eq!(
            server.requests("/feed").len(),
            2,
            "only `poll` fetched the feed again"
        );
    }
    let polls = server.requests("/feed").len();
    let stored = Instant::now();
    let deadline = Duration::from_secs(8);
    let mut last = String::new();
    while stored.elapsed() < deadline {
        if let Some(body) = feed() {
            if body.contains("雄安新区首批中小学校开学迎新") {
                break;
            }
            last = body;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let took = stored.elapsed();
    assert!(
        took < deadline,
        "the daemon still serves the old feed {deadline:?} after another process stored a story:\n{last}\n--- log ---\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert_eq!(
        server.requests("/feed").len(),
        polls,
        "the daemon did not poll the feed itself"
    );
    drop(other);
    eprintln!("served {took:?} after `poll` exited");
    drop(daemon);
}
