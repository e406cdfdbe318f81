//! A topic query as a user types it (config or `topics preview --query`):
//! the parser must answer Ok or a positioned error, never panic or overflow
//! the stack.
#![no_main]

use libfuzzer_sys::fuzz_target;
use newsriver::query::Query;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(q) = Query::parse(text) {
        let _ = q.matches("标题 title", "正文 text");
    }
});
