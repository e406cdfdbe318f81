//! Strings put together from pieces, and the xorshift generator behind
//! them, for the property and twin tests that compare two readings of
//! generated input (the same cases on every run, no crate needed for this
//! much).

/// `count` strings, each of fewer than `most` pieces drawn from `pieces`,
/// with the generator's state after each (for a test's other choices).
pub(crate) fn strings<'a>(
    pieces: &'a [&'a str],
    seed: u64,
    most: u64,
    count: usize,
) -> impl Iterator<Item = (String, u64)> + 'a {
    let mut next = xorshift(seed);
    (0..count).map(move |_| {
        let state = next();
        let mut s = String::new();
        for k in 0..(state % most) {
            let r = state.rotate_left(k as u32 * 5) as usize;
            s.push_str(pieces[r % pieces.len()]);
        }
        (s, state)
    })
}

/// xorshift64 from `seed` (nonzero): the same numbers on every run.
pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}
