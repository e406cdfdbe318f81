//! Strings put together from pieces, for the property and twin tests that
//! compare two readings of generated input (xorshift: the same cases on
//! every run, no crate needed for this much).

/// `count` strings, each of fewer than `most` pieces drawn from `pieces`,
/// with the generator's state after each (for a test's other choices).
pub(crate) fn strings<'a>(
    pieces: &'a [&'a str],
    seed: u64,
    most: u64,
    count: usize,
) -> impl Iterator<Item = (String, u64)> + 'a {
    let mut state = seed;
    (0..count).map(move |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut s = String::new();
        for k in 0..(state % most) {
            let r = state.rotate_left(k as u32 * 5) as usize;
            s.push_str(pieces[r % pieces.len()]);
        }
        (s, state)
    })
}
