use std::process::ExitCode;

fn main() -> ExitCode {
    one_malloc_arena();
    newsriver::cli::main()
}

/// glibc gives each thread that allocates under contention an arena of its
/// own (up to 8 per core) and returns little of an arena's freed memory.
/// Under `run`, each rendering of the feeds (on whichever blocking thread
/// was free) left ~20 MB behind in some arena: peak RSS during a cold poll
/// of the 1,000-feed farm climbed 107 → 161 MB over three renders. With one
/// arena the pollers reuse what a render freed: 121 MB, the cold `poll` no
/// slower (small allocations go through glibc's per-thread caches, which
/// take no lock). BENCHMARKS.md has the figures. An operator's
/// `MALLOC_ARENA_MAX` still wins.
fn one_malloc_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: called first thing in main, before any other thread
        // exists; mallopt only sets a tunable of the allocator.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
