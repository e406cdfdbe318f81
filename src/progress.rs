//! Progress on a terminal: a bar on stderr while a long command works
//! (`poll`, `sources import`'s test fetches), nothing when stderr is not a
//! terminal (cron, pipes, tests).

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on a terminal (stderr), hidden otherwise.
pub fn progress_bar(len: u64, verb: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{spinner}} {verb} [{{bar:30}}] {{pos}}/{{len}} {{elapsed}} {{wide_msg}}"
    )) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
