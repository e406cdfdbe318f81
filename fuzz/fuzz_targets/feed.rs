//! Bytes from the network → decode → parse → normalize (and the
//! near-duplicate keys), as `pipeline::process` does it. Any panic, hang or
//! runaway allocation here is one hostile feed taking a poll down.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsriver::{decode, dedupe, normalize::Normalizer, parse};

fuzz_target!(
    init: {
        // `parse` catches panics inside feed-rs/quick-xml and turns them into
        // that document's failure (ARCHITECTURE.md: network-facing code never
        // panics the process). libfuzzer-sys's hook would abort on those
        // caught panics too; this one only notes them, so a crash reported
        // here is a panic that would really escape a poll.
        std::panic::set_hook(Box::new(|info| {
            eprintln!("panic (a crash only if not caught): {info}");
        }));
    },
    |data: &[u8]| {
    // The first byte picks the Content-Type the server "sent", so the
    // charset rules that depend on it are exercised too.
    let (content_type, body) = match data.split_first() {
        Some((b, rest)) => (
            match b % 4 {
                0 => None,
                1 => Some("application/rss+xml; charset=gbk"),
                2 => Some("text/xml; charset=utf-8"),
                _ => Some("application/feed+json"),
            },
            rest,
        ),
        None => (None, data),
    };
    let decoded = decode::decode(body, content_type, None, Some("example.cn"));
    let Ok(feed) = parse::parse(&decoded.text, Some("https://example.cn/feed.xml")) else {
        return;
    };
    let normalizer = Normalizer::default();
    let params = dedupe::Params::default();
    for item in &feed.items {
        let _ = item.key();
        let norm = normalizer.normalize(item);
        let _ = dedupe::index_keys(&norm.text, &params);
    }
    }
);
