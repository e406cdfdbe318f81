//! Near-duplicate detection: is a new copy the same story as one already
//! stored, although its text is not identical (a summary of it, a sentence
//! more or less, other punctuation)? Pure functions; `store` keeps the index.
//!
//! Method (hand-written: no crate combines these for unsegmented Chinese):
//! - the body is folded to letters and digits (as for the content hash) and
//!   cut into overlapping character 5-grams ("shingles"; Chinese has no word
//!   spaces, so characters are the unit);
//! - candidates come from an index in SQLite, looked up in constant time per
//!   copy: MinHash over the shingles (64 hashes) in 16 LSH bands of 4 rows,
//!   which finds pairs with Jaccard similarity above ~0.5 with high
//!   probability, plus a "lead" key (the first 30 folded characters) that
//!   finds a summary cut from the start of a full text, and the same key of
//!   the text after its first sentence, which finds a copy that put a
//!   sentence of its own (or a title, a byline no rule knew) before the lead;
//! - each candidate is verified exactly: Jaccard similarity of the shingle
//!   sets (edits), or containment of the shorter in the longer (summary vs
//!   full text) when the shorter also starts like the longer, or, past an
//!   opening of at most `ANCHOR_SKIP` characters the other lacks, is
//!   found near the longer's start (`anchored`);
//! - precision before recall: short texts, copies published days apart and
//!   low scores do not merge (a wrong merge hides a story; a missed one only
//!   shows it twice); two texts that open with the same sentence are judged
//!   on what follows it (a follow-up that repeats a lead is another story).

use std::collections::HashSet;

use serde::Serialize;

use crate::normalize::{fold, is_traditional, keeps};

/// Shingle length in characters.
pub const SHINGLE: usize = 5;
const HASHES: usize = 64;
const BANDS: usize = 16;
const ROWS: usize = HASHES / BANDS;
/// Folded characters in the lead key.
pub const LEAD_CHARS: usize = 30;
/// Folded characters a text must have after the first sentence it shares
/// with another before the two can be judged the same story: a follow-up
/// that repeats yesterday's opening sentence, then says something new, is
/// a different story, and a summary no longer than that sentence (plus a
/// few characters) cannot tell which of the two it is.
pub const LEAD_TAIL: usize = 20;
/// Such a text ("lead only": fewer than `LEAD_TAIL` characters after the
/// first sentence it shares with a longer one) joins the longer only when
/// the two were published this close (seconds): copies of a wire story go
/// out within hours, the follow-up that repeats a lead comes the next day.
pub const LEAD_ONLY_WINDOW: i64 = 12 * 3600;
/// At most this many folded characters opening the shorter text may be
/// its own (a sentence an outlet added before the lead, a title or byline
/// run into the text) for it to be judged from where it meets the longer.
pub const ANCHOR_SKIP: usize = 40;
/// Where the shorter text meets the longer, at the latest (folded
/// characters into the longer; or a fifth of it, when that is more): a
/// copy that dropped the opening paragraph, or the longer's own added
/// sentence. A report quoted at the end of a follow-up is further in.
pub const ANCHOR_REACH: usize = 80;
/// Folded characters of one sentence that, from where the shorter text
/// meets the longer, stand on their own when little follows it (a
/// summary cut inside its second sentence): longer than stock openings
/// (`为深入贯彻落实…`, 30–45).
pub const ANCHOR_SENTENCE: usize = 50;

/// Thresholds (`[dedupe]` in the config); the type lives in `model` so
/// that `config` can build it without importing a later stage.
pub use crate::model::DedupeParams as Params;
pub use crate::model::Method;

/// Why two texts were (or nearly were) judged the same story.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Score {
    pub jaccard: f64,
    pub containment: f64,
    /// Does the shorter start like the longer (first `LEAD_CHARS`)?
    pub same_lead: bool,
}

/// The verdict on one candidate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Verdict {
    /// The same story: the method that decided and its score.
    Same { method: Method, score: f64 },
    /// Not the same; the reason (for near-miss reports).
    Different { reason: String },
}

/// FNV-1a over the characters of a shingle.
fn shingle_hash(chars: &[char]) -> u64 {
    let mut h = FNV_START;
    for c in chars {
        h = fnv_char(h, *c);
    }
    h
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
const FNV_PRIME_2: u64 = FNV_PRIME.wrapping_mul(FNV_PRIME);
const FNV_PRIME_3: u64 = FNV_PRIME_2.wrapping_mul(FNV_PRIME);
const FNV_PRIME_4: u64 = FNV_PRIME_3.wrapping_mul(FNV_PRIME);

/// One character into an FNV-1a hash: its four little-endian bytes, each
/// XORed in, then a multiply by the prime. A zero byte XORs nothing, so
/// the multiplies after the last non-zero byte are one by a power of the
/// prime (the same product modulo 2^64): a Chinese character (two bytes
/// and two zeros) costs two multiplies instead of four, an ASCII one one.
/// The multiplies are a chain, and every shingle of every text hashes 5
/// characters: this was a third of `index_keys`.
#[inline]
fn fnv_char(h: u64, c: char) -> u64 {
    let [b0, b1, b2, b3] = (c as u32).to_le_bytes();
    if c as u32 <= 0xFF {
        (h ^ b0 as u64).wrapping_mul(FNV_PRIME_4)
    } else if c as u32 <= 0xFFFF {
        ((h ^ b0 as u64).wrapping_mul(FNV_PRIME) ^ b1 as u64).wrapping_mul(FNV_PRIME_3)
    } else {
        let mut h = h;
        for b in [b0, b1, b2, b3] {
            h ^= b as u64;
            h = h.wrapping_mul(FNV_PRIME);
        }
        h
    }
}

/// The shingle hashes of a stream of folded characters, in order and with
/// repeats, as `shingles` finds them before sorting: one per window of
/// `SHINGLE` characters, or one of all of them when there are fewer (none
/// for none). No `Vec<char>` of the text: the last `SHINGLE` characters
/// are all a window needs.
#[derive(Default)]
struct Windows {
    last: [char; SHINGLE],
    seen: usize,
}

impl Windows {
    /// Takes the next character; the hash of the window it completes.
    #[inline]
    fn push(&mut self, c: char) -> Option<u64> {
        self.last.copy_within(1.., 0);
        self.last[SHINGLE - 1] = c;
        self.seen += 1;
        (self.seen >= SHINGLE).then(|| shingle_hash(&self.last))
    }

    /// After the last character: the one hash of a text shorter than a
    /// shingle (its characters are the last `seen` of the window).
    fn short_text(&self) -> Option<u64> {
        (self.seen > 0 && self.seen < SHINGLE)
            .then(|| shingle_hash(&self.last[SHINGLE - self.seen..]))
    }
}

/// The set of shingle hashes of a folded text, as a sorted vector without
/// repeats. Sorting ~1,000 integers and intersecting by merging costs a
/// fraction of building and probing a `HashSet` (SipHash per insert and
/// lookup), and this runs for every copy and every candidate of a poll.
pub fn shingles(folded: &str) -> Vec<u64> {
    shingle_set(folded.chars(), folded.len() / 3)
}

/// `shingles` of a stream of folded characters (`capacity`: about how
/// many there are).
fn shingle_set(chars: impl Iterator<Item = char>, capacity: usize) -> Vec<u64> {
    let mut windows = Windows::default();
    let mut set: Vec<u64> = Vec::with_capacity(capacity);
    set.extend(chars.filter_map(|c| windows.push(c)));
    set.extend(windows.short_text());
    sort_dedup_hashes(&mut set);
    set
}

/// Sorts shingle hashes and drops repeats: by their top bits into buckets
/// of about one value each, then one insertion pass (each value is at most
/// its bucket's length from its place). Hash values are spread evenly, so
/// this is a few linear passes over ~1,000 values, where a comparison sort
/// took a third of `Prepared::new` (issue 24). When a bucket holds more
/// than 64 (values crafted to share their top bits), the whole is sorted
/// by comparison instead, so no input makes the insertion pass quadratic.
fn sort_dedup_hashes(v: &mut Vec<u64>) {
    if v.len() < 64 {
        v.sort_unstable();
        v.dedup();
        return;
    }
    let bits = usize::BITS - (v.len() - 1).leading_zeros();
    let shift = 64 - bits;
    let mut starts = vec![0u32; (1usize << bits) + 1];
    for &h in v.iter() {
        starts[(h >> shift) as usize + 1] += 1;
    }
    for i in 1..starts.len() {
        starts[i] += starts[i - 1];
    }
    let mut out = vec![0u64; v.len()];
    let mut next = starts.clone();
    for &h in v.iter() {
        let b = (h >> shift) as usize;
        out[next[b] as usize] = h;
        next[b] += 1;
    }
    let largest = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    if largest > 64 {
        out.sort_unstable();
    } else {
        // Ordered by bucket: each value is at most a bucket's length from
        // its place.
        for i in 1..out.len() {
            let x = out[i];
            let mut j = i;
            while j > 0 && out[j - 1] > x {
                out[j] = out[j - 1];
                j -= 1;
            }
            out[j] = x;
        }
    }
    out.dedup();
    *v = out;
}

/// How many values two sorted, repeat-free slices share.
fn shared(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// A 64-bit mix (splitmix64's finalizer).
const fn mix(x: u64, seed: u64) -> u64 {
    let mut z = x ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The MinHash permutations: h_i(x) = a_i·x + b_i (mod 2^64) on a mixed
/// shingle hash, with odd a_i. One multiply-add per hash keeps indexing
/// cheap (the first version, a full mix per hash, halved ingest speed).
const PERMUTATIONS: [(u64, u64); HASHES] = {
    let mut p = [(0u64, 0u64); HASHES];
    let mut i = 0;
    while i < HASHES {
        p[i] = (mix(i as u64, 0xa5a5) | 1, mix(i as u64, 0x5a5a));
        i += 1;
    }
    p
};

/// The index keys of a normalized text: one per LSH band, plus the lead key.
/// Empty for texts too short to judge.
///
/// Worked out in one pass over the text: folding (`key_form`), the
/// sentence ends, the shingles and their MinHash, and the lead keys, with
/// no folded copy, character vector or sorted shingle set (a minimum does
/// not care about repeats or order: the keys are those of the sorted set).
/// A text with a Traditional character takes `index_keys_folded` on its
/// `key_form`, as before: fast2s's rules read characters in context.
pub fn index_keys(text: &str, params: &Params) -> Vec<i64> {
    let mut keys = KeyStream::default();
    let mut ends = [0u32; 2];
    let mut n_ends = 0;
    for c in text.chars() {
        if keeps(c) {
            if is_traditional(c) {
                return index_keys_folded(&key_form(text), text, params);
            }
            keys.push(c);
        } else if is_sentence_end(c) && (n_ends == 0 || ends[n_ends - 1] != keys.kept) {
            // `sentence_ends(text, 2)`, as it goes.
            if n_ends < 2 {
                ends[n_ends] = keys.kept;
                n_ends += 1;
                keys.lead_after(keys.kept);
            }
        }
    }
    keys.finish(params)
}

/// `index_keys` of a text whose key form (`folded`) is worked out
/// already: the sentence ends come from the text, the rest from the
/// folded form.
fn index_keys_folded(folded: &str, text: &str, params: &Params) -> Vec<i64> {
    let ends = sentence_ends(text, 2);
    let mut keys = KeyStream::default();
    let mut next_end = ends.iter().peekable();
    for c in folded.chars() {
        while let Some(&e) = next_end.next_if(|&&e| e <= keys.kept) {
            keys.lead_after(e);
        }
        keys.push(c);
    }
    for &e in next_end {
        keys.lead_after(e);
    }
    keys.finish(params)
}

/// 。！？ or a line break: where `sentence_ends` counts a sentence end.
#[inline]
fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '!' | '?' | '！' | '？' | '\n')
}

/// What `index_keys` gathers from the folded characters as they come: the
/// MinHash minimums, and the hashes of the leads (the first `LEAD_CHARS`
/// characters, and those after each of the first two sentence ends).
struct KeyStream {
    windows: Windows,
    mins: [u64; HASHES],
    /// Mixed shingle hashes not yet taken into `mins`.
    batch: [u64; 32],
    n_batch: usize,
    /// Folded characters so far.
    kept: u32,
    /// The lead from the start, then at most two from sentence ends: where
    /// each starts (folded characters), its FNV state, its characters so
    /// far.
    leads: [(u32, u64, u32); 3],
    n_leads: usize,
}

impl Default for KeyStream {
    fn default() -> Self {
        KeyStream {
            windows: Windows::default(),
            mins: [u64::MAX; HASHES],
            batch: [0; 32],
            n_batch: 0,
            kept: 0,
            leads: [(0, FNV_START, 0); 3],
            n_leads: 1,
        }
    }
}

impl KeyStream {
    #[inline]
    fn push(&mut self, c: char) {
        if let Some(s) = self.windows.push(c) {
            self.batch[self.n_batch] = mix(s, 0);
            self.n_batch += 1;
            if self.n_batch == self.batch.len() {
                self.min_hash();
            }
        }
        for (_, h, n) in &mut self.leads[..self.n_leads] {
            if (*n as usize) < LEAD_CHARS {
                *h = fnv_char(*h, c);
                *n += 1;
            }
        }
        self.kept += 1;
    }

    /// The batch into the minimums, permutation by permutation: each
    /// minimum stays in a register over the batch, and the batch's
    /// multiplies are independent of each other (one shingle at a time,
    /// every minimum was loaded and stored per shingle).
    fn min_hash(&mut self) {
        let batch = &self.batch[..self.n_batch];
        for (m, (a, b)) in self.mins.iter_mut().zip(PERMUTATIONS.iter()) {
            *m = batch
                .iter()
                .fold(*m, |m, x| m.min(x.wrapping_mul(*a).wrapping_add(*b)));
        }
        self.n_batch = 0;
    }

    /// A sentence ends `at` folded characters: a lead key may start
    /// there (only within `ANCHOR_REACH`, where `anchored` looks).
    fn lead_after(&mut self, at: u32) {
        if at as usize <= ANCHOR_REACH && self.n_leads < self.leads.len() {
            self.leads[self.n_leads] = (at, FNV_START, 0);
            self.n_leads += 1;
        }
    }

    fn finish(mut self, params: &Params) -> Vec<i64> {
        if (self.kept as usize) < params.min_chars {
            return Vec::new();
        }
        if let Some(s) = self.windows.short_text() {
            self.batch[self.n_batch] = mix(s, 0);
            self.n_batch += 1;
        }
        self.min_hash();
        let mut keys = Vec::with_capacity(BANDS + 3);
        for band in 0..BANDS {
            let mut h = mix(band as u64, 0xba4d);
            for m in &self.mins[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ m, 0x5eed);
            }
            keys.push(h as i64);
        }
        // The lead of what follows the first sentence: the same key as the
        // lead of a copy without that sentence (one outlet's own opening
        // sentence, a title or byline run into a summary).
        // The same after the second sentence too (`早上好！郑州今天小雨…。` is
        // two), when they end within `ANCHOR_REACH` folded characters (where
        // `anchored` looks for the shorter in the longer).
        // `anchored` meets texts at these points only, so that two texts it
        // calls the same always share a key, whichever is stored first.
        for &(_, h, n) in &self.leads[1..self.n_leads] {
            if n as usize == LEAD_CHARS {
                let key = mix(h, 0x1ead) as i64;
                if !keys[BANDS..].contains(&key) {
                    keys.push(key);
                }
            }
        }
        keys.push(mix(self.leads[0].1, 0x1ead) as i64);
        keys
    }
}

/// The first `LEAD_CHARS` characters of a folded text.
fn lead(folded: &str) -> &str {
    &folded[..folded
        .char_indices()
        .nth(LEAD_CHARS)
        .map_or(folded.len(), |(i, _)| i)]
}

/// The form texts are compared in: letters and digits only (`fold`), in
/// Simplified script (`normalize::simplified`), so the same wire story in
/// Traditional and Simplified characters has the same shingles.
fn key_form(text: &str) -> String {
    let folded = fold(text);
    match crate::normalize::simplified(&folded) {
        std::borrow::Cow::Borrowed(_) => folded,
        std::borrow::Cow::Owned(simplified) => simplified,
    }
}

/// Scores two normalized texts.
pub fn score(a: &str, b: &str) -> Score {
    score_folded(&key_form(a), &key_form(b))
}

/// A text in the form verdicts compare: folded to letters and digits in
/// Simplified script (`key_form`), its length in characters and its shingle
/// set. Worked out once per text: `place` compares one copy with up to 20
/// candidates (it folded and shingled the copy once per candidate before).
/// Keeping candidates' prepared texts between copies was tried and measured:
/// no gain in the farm's cold poll, 20 MB more memory.
#[derive(Clone, Debug)]
pub struct Prepared {
    folded: String,
    chars: usize,
    shingles: Vec<u64>,
    /// Folded characters before each sentence end (。！？, line breaks;
    /// `sentence_ends`).
    sentence_ends: Vec<u32>,
}

/// Folded characters before each of a text's first `limit` sentence ends
/// (。！？ or a line break; a run of them is one end). `Prepared` and
/// `index_keys` count them alike: `anchored` meets two texts only where
/// both have a key.
fn sentence_ends(text: &str, limit: usize) -> Vec<u32> {
    let mut ends: Vec<u32> = Vec::new();
    let mut kept = 0u32;
    for c in text.chars() {
        if keeps(c) {
            kept += 1;
        } else if is_sentence_end(c) && ends.last() != Some(&kept) {
            if ends.len() == limit {
                break;
            }
            ends.push(kept);
        }
    }
    ends
}

impl Prepared {
    /// One pass over the text: its folded form, shingles and sentence ends
    /// together (no character vector, no second fold). A text with a
    /// Traditional character is folded whole first (`key_form`: fast2s's
    /// rules read characters in context).
    pub fn new(text: &str) -> Prepared {
        let mut folded = String::with_capacity(text.len());
        let mut windows = Windows::default();
        let mut shingles = Vec::with_capacity(text.len() / 3);
        let mut sentence_ends = Vec::new();
        let mut chars = 0u32;
        for c in text.chars() {
            if keeps(c) {
                if is_traditional(c) {
                    let mut p = Prepared::from_folded(key_form(text));
                    p.sentence_ends = self::sentence_ends(text, usize::MAX);
                    return p;
                }
                folded.push(c);
                shingles.extend(windows.push(c));
                chars += 1;
            } else if is_sentence_end(c) && sentence_ends.last() != Some(&chars) {
                sentence_ends.push(chars);
            }
        }
        shingles.extend(windows.short_text());
        sort_dedup_hashes(&mut shingles);
        Prepared {
            folded,
            chars: chars as usize,
            shingles,
            sentence_ends,
        }
    }

    fn from_folded(folded: String) -> Prepared {
        let chars = folded.chars().count();
        Prepared {
            chars,
            shingles: shingles(&folded),
            folded,
            sentence_ends: Vec::new(),
        }
    }

    /// Folded characters in the first sentence (up to its first 。！？ or
    /// line break; all of them when there is none).
    fn first_sentence(&self) -> usize {
        self.sentence_ends
            .first()
            .map_or(self.chars, |&e| (e as usize).min(self.chars))
    }

    /// Folded characters after the first sentence.
    fn tail(&self) -> usize {
        self.chars - self.first_sentence()
    }

    /// The share of this text's shingles that reach past its first
    /// sentence that are in `other` (1 when there are none).
    fn tail_in(&self, other: &Prepared) -> f64 {
        if self.tail() == 0 {
            return 1.0;
        }
        let own = shingle_set(
            self.folded
                .chars()
                .skip(self.first_sentence().saturating_sub(SHINGLE - 1)),
            self.tail() + SHINGLE,
        );
        if own.is_empty() {
            return 1.0;
        }
        shared(&own, &other.shingles) as f64 / own.len() as f64
    }
}

/// A text's shingles in a hash table, to rule out a stored text that cannot
/// be the same story at a fraction of the cost of `Prepared::new` and
/// `judge_prepared` (issue 24: at 4,000 feeds an arrival meets six
/// candidate stories, nearly all sharing no more than an opening with it,
/// and preparing and judging them was a quarter of the writer's time).
///
/// Exact, not an estimate: `may_be_same` counts the other text's distinct
/// shingles, and those it shares, as `Prepared::new` and `score_prepared`
/// would, and says no only when those counts meet none of the thresholds a
/// verdict of the same story needs (jaccard, containment, the anchor's
/// reach). Hand-written: the counts and thresholds are ours.
pub struct Sieve {
    /// Shingle hashes by `slot`; 0 is an empty slot (a hash of 0 is
    /// `has_zero`).
    table: Vec<u64>,
    has_zero: bool,
    len: usize,
    chars: usize,
    /// The other text's distinct shingles, reused between calls.
    seen: Vec<u64>,
}

/// Where hash `h` goes in a table of `table.len()` (a power of two) slots:
/// from its top bits after a multiply (FNV's low bits are weak).
#[inline]
fn slot(h: u64, len: usize) -> usize {
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - len.trailing_zeros())) as usize
}

/// Inserts nonzero `h` into an open-addressing table at most half full;
/// false when it was there.
#[inline]
fn insert_hash(table: &mut [u64], h: u64) -> bool {
    let mask = table.len() - 1;
    let mut i = slot(h, table.len());
    loop {
        match table[i] {
            0 => {
                table[i] = h;
                return true;
            }
            x if x == h => return false,
            _ => i = (i + 1) & mask,
        }
    }
}

/// Is nonzero `h` in the table?
#[inline]
fn has_hash(table: &[u64], h: u64) -> bool {
    let mask = table.len() - 1;
    let mut i = slot(h, table.len());
    loop {
        match table[i] {
            0 => return false,
            x if x == h => return true,
            _ => i = (i + 1) & mask,
        }
    }
}

/// A table of at least twice `n` slots (and 16), zeroed.
fn empty_table(table: &mut Vec<u64>, n: usize) {
    let size = (2 * n).max(16).next_power_of_two();
    table.clear();
    table.resize(size, 0);
}

impl Sieve {
    pub fn new(p: &Prepared) -> Sieve {
        let mut table = Vec::new();
        empty_table(&mut table, p.shingles.len());
        let mut has_zero = false;
        for &h in &p.shingles {
            if h == 0 {
                has_zero = true;
            } else {
                insert_hash(&mut table, h);
            }
        }
        Sieve {
            table,
            has_zero,
            len: p.shingles.len(),
            chars: p.chars,
            seen: Vec::new(),
        }
    }

    fn contains(&self, h: u64) -> bool {
        if h == 0 {
            self.has_zero
        } else {
            has_hash(&self.table, h)
        }
    }

    /// (shingles `text` shares with this one, its distinct shingles, its
    /// folded characters), as `Prepared::new(text)` would give them; `None`
    /// for a text with a Traditional character (`Prepared::new` folds those
    /// whole, in context).
    fn counts(&mut self, text: &str) -> Option<(usize, usize, usize)> {
        let mut windows = Windows::default();
        let (mut shared, mut distinct, mut chars) = (0usize, 0usize, 0usize);
        let mut zero = false;
        empty_table(&mut self.seen, text.len() / 3);
        let mut take = |sieve: &mut Sieve, h: u64| {
            let new = if h == 0 {
                !std::mem::replace(&mut zero, true)
            } else {
                if 2 * (distinct + 1) > sieve.seen.len() {
                    let old = std::mem::take(&mut sieve.seen);
                    empty_table(&mut sieve.seen, old.len());
                    for x in old.into_iter().filter(|&x| x != 0) {
                        insert_hash(&mut sieve.seen, x);
                    }
                }
                insert_hash(&mut sieve.seen, h)
            };
            if new {
                distinct += 1;
                if sieve.contains(h) {
                    shared += 1;
                }
            }
        };
        for c in text.chars() {
            if keeps(c) {
                if is_traditional(c) {
                    return None;
                }
                chars += 1;
                if let Some(h) = windows.push(c) {
                    take(self, h);
                }
            }
        }
        if let Some(h) = windows.short_text() {
            take(self, h);
        }
        Some((shared, distinct, chars))
    }

    /// Could `judge_prepared` of this text and `text` (either way round)
    /// find them the same story? False only when it surely would not.
    pub fn may_be_same(&mut self, text: &str, params: &Params) -> bool {
        let Some((inter, len, chars)) = self.counts(text) else {
            return true;
        };
        if self.chars.min(chars) < params.min_chars {
            return false;
        }
        let (jaccard, containment) = ratios(inter, self.len, len);
        // The shorter's shingles (`judge_prepared`'s `short_p`); of equal
        // lengths either may be, and fewer reach more easily.
        let short = match self.chars.cmp(&chars) {
            std::cmp::Ordering::Less => self.len,
            std::cmp::Ordering::Greater => len,
            std::cmp::Ordering::Equal => self.len.min(len),
        };
        jaccard >= params.jaccard
            || containment >= params.containment
            || anchor_reachable(containment, short, params)
    }
}

/// `score` of two texts already folded (`judge` needs the folded forms too:
/// folding once saves two passes over both texts per candidate).
fn score_folded(fa: &str, fb: &str) -> Score {
    score_prepared(
        &Prepared::from_folded(fa.to_string()),
        &Prepared::from_folded(fb.to_string()),
    )
}

fn score_prepared(a: &Prepared, b: &Prepared) -> Score {
    let (sa, sb) = (&a.shingles, &b.shingles);
    let (jaccard, containment) = ratios(shared(sa, sb), sa.len(), sb.len());
    let (short, long) = if a.chars <= b.chars {
        (&a.folded, &b.folded)
    } else {
        (&b.folded, &a.folded)
    };
    Score {
        jaccard,
        containment,
        same_lead: !short.is_empty() && long.starts_with(lead(short)),
    }
}

/// Jaccard and containment of two shingle sets of `a` and `b` values
/// sharing `inter`.
fn ratios(inter: usize, a: usize, b: usize) -> (f64, f64) {
    let inter = inter as f64;
    let union = (a + b) as f64 - inter;
    let smaller = a.min(b) as f64;
    (
        if union > 0.0 { inter / union } else { 0.0 },
        if smaller > 0.0 { inter / smaller } else { 0.0 },
    )
}

/// Could the shorter text (of `n` shingles), whose shingles the longer
/// holds at `containment`, meet the longer from some point on
/// (`anchored`)? Only if all but `ANCHOR_SKIP` of them could be held at
/// the containment threshold.
fn anchor_reachable(containment: f64, n: usize, params: &Params) -> bool {
    let n = n as f64;
    containment * n >= params.containment * (n - (ANCHOR_SKIP + SHINGLE) as f64)
}

/// Where a shorter text meets a longer one that does not open like it.
struct Anchor {
    /// The share of the shorter's shingles from there on that the longer
    /// holds.
    containment: f64,
    /// Its figures from there on are all in the longer.
    figures_agree: bool,
}

/// The shorter text judged from where it meets the longer: where both
/// begin the same 30 folded characters (`LEAD_CHARS`), each at its start
/// or after one of its first two sentences — within `ANCHOR_SKIP` folded
/// characters of the shorter, `ANCHOR_REACH` of the longer, not both at
/// the start (that is the same lead). What comes before that in the
/// shorter is its own opening (an added sentence, a title or byline no
/// rule removed) and is not held against it; what comes before it in the
/// longer is the longer's. Only those points: `index_keys` keys each of
/// them, so two texts this calls the same share a key and find each other
/// whichever is stored first (the partition stays a function of the set).
/// `None` when they do not meet there, or what is left is too short.
///
/// What is left must go on `LEAD_TAIL` characters past its first sentence,
/// and what follows that sentence must be in the longer as well (as for
/// two texts that open alike): a follow-up may open with a sentence of its
/// own, then repeat yesterday's lead; a stock opening sentence is in many
/// reports.
fn anchored(
    short: &Prepared,
    long: &Prepared,
    seconds_apart: i64,
    params: &Params,
) -> Option<Anchor> {
    // Where each may begin the report: its start, or after one of its
    // first two sentences (the points `index_keys` keys).
    let points = |p: &Prepared, reach: usize| -> Vec<usize> {
        std::iter::once(0)
            .chain(p.sentence_ends.iter().take(2).map(|&e| e as usize))
            .filter(|&e| e <= reach)
            .collect()
    };
    let chars: Vec<char> = short.folded.chars().collect();
    let long_chars: Vec<char> = long.folded.chars().collect();
    let start = points(short, ANCHOR_SKIP).into_iter().find(|&i| {
        chars.get(i..i + LEAD_CHARS).is_some_and(|lead| {
            points(long, ANCHOR_REACH)
                .into_iter()
                .any(|j| (i, j) != (0, 0) && long_chars.get(j..j + LEAD_CHARS) == Some(lead))
        })
    })?;
    if chars.len() - start < params.min_chars {
        return None;
    }
    // What is left must go on past its first sentence, and that part be
    // in the longer too — or be one long sentence: a summary that is one
    // stock opening sentence ("为深入贯彻落实…", 30–50 characters) fits
    // into every report that opens with it.
    let first_end = short
        .sentence_ends
        .iter()
        .map(|&e| e as usize)
        .find(|&e| e > start + SHINGLE)
        .unwrap_or(chars.len());
    if chars.len() - first_end >= LEAD_TAIL {
        let from = first_end.saturating_sub(SHINGLE - 1);
        let tail = shingle_set(chars[from..].iter().copied(), chars.len() - from);
        if (shared(&tail, &long.shingles) as f64) < params.containment * tail.len() as f64 {
            return None;
        }
    } else if first_end - start < ANCHOR_SENTENCE || seconds_apart.abs() > LEAD_ONLY_WINDOW {
        // One sentence from where they meet: long enough not to be a stock
        // opening, and within the window a lead-only summary has (a
        // follow-up the next day may repeat it).
        return None;
    }
    let rest: String = chars[start..].iter().collect();
    let own = shingles(&rest);
    Some(Anchor {
        containment: shared(&own, &long.shingles) as f64 / own.len().max(1) as f64,
        figures_agree: missing_figures(&rest, &long.folded).is_empty(),
    })
}

/// The numbers a folded text mentions.
fn numbers(folded: &str) -> HashSet<&str> {
    folded
        .split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .collect()
}

/// Are a new copy's text and a stored story's text the same story?
/// `seconds_apart` is the gap between their publication dates (0 when
/// one is undated).
pub fn judge(
    new_text: &str,
    story_text: &str,
    seconds_apart: i64,
    params: &Params,
) -> (Verdict, Score) {
    judge_prepared(
        &Prepared::new(new_text),
        &Prepared::new(story_text),
        seconds_apart,
        params,
    )
}

/// `judge` on texts already prepared.
pub fn judge_prepared(
    a: &Prepared,
    b: &Prepared,
    seconds_apart: i64,
    params: &Params,
) -> (Verdict, Score) {
    let days_apart = seconds_apart / 86_400;
    let s = score_prepared(a, b);
    let shortest = a.chars.min(b.chars);
    // Copies of one report keep its figures; the shorter one's numbers are
    // all in the longer (a summary, a dropped sentence). Template stories
    // (rates, weather, scores) differ in exactly those.
    let (short_p, long_p) = if a.chars <= b.chars { (a, b) } else { (b, a) };
    let mut missing = missing_figures(&short_p.folded, &long_p.folded);
    missing.sort_unstable();
    // Two texts that do not open alike may still be one report, one of
    // them with an opening of its own: judged from where they meet.
    // Worked out only when a verdict needs it, and only when the shorter's
    // shingles the longer holds could be enough from some point on (all
    // but `ANCHOR_SKIP` of them at the containment threshold): most pairs
    // judged are different stories.
    let anchor_cell = std::cell::OnceCell::new();
    let anchor = || {
        anchor_cell
            .get_or_init(|| {
                let reachable = anchor_reachable(s.containment, short_p.shingles.len(), params);
                (!s.same_lead && shortest >= params.min_chars && reachable)
                    .then(|| anchored(short_p, long_p, seconds_apart, params))
                    .flatten()
                    .filter(|a| a.figures_agree && a.containment >= params.containment)
            })
            .as_ref()
    };
    let verdict = if shortest < params.min_chars {
        Verdict::Different {
            reason: format!(
                "too short to judge ({shortest} < {} characters)",
                params.min_chars
            ),
        }
    } else if days_apart.abs() > params.max_days_apart {
        Verdict::Different {
            reason: format!(
                "published {} days apart (> {})",
                days_apart.abs(),
                params.max_days_apart
            ),
        }
    } else if !missing.is_empty() && anchor().is_none() {
        Verdict::Different {
            reason: format!(
                "different figures ({} not in the other)",
                missing.join(", ")
            ),
        }
    } else if s.same_lead
        && (s.jaccard >= params.jaccard || s.containment >= params.containment)
        && short_p.tail() < LEAD_TAIL
        && seconds_apart.abs() > LEAD_ONLY_WINDOW
    {
        // The shorter is (nearly) only the opening sentence both share, and
        // the other came out half a day or more before or after: a summary
        // of a follow-up that reuses the lead reads the same. Kept apart (a
        // page fetched for the summary, with `full_text`, tells them apart).
        Verdict::Different {
            reason: format!(
                "they share the first sentence, the shorter has {} characters after it (< {LEAD_TAIL}), and {} h apart: a follow-up may reuse the lead",
                short_p.tail(),
                seconds_apart.abs() / 3600
            ),
        }
    } else if s.jaccard >= params.jaccard
        && !(s.same_lead && short_p.tail_in(long_p) < params.jaccard)
    {
        Verdict::Same {
            method: Method::Jaccard,
            score: s.jaccard,
        }
    } else if s.same_lead && s.containment >= params.containment {
        // The whole shorter text must be in the longer, not just the lead
        // they share: what follows the first sentence too.
        let tail = short_p.tail_in(long_p);
        if tail >= params.containment {
            Verdict::Same {
                method: Method::Containment,
                score: s.containment,
            }
        } else {
            Verdict::Different {
                reason: format!(
                    "the same first sentence, then other text (containment after it {tail:.2} < {:.2})",
                    params.containment
                ),
            }
        }
    } else if let Some(a) = anchor() {
        Verdict::Same {
            method: Method::Containment,
            score: a.containment,
        }
    } else if s.same_lead && s.jaccard >= params.jaccard {
        Verdict::Different {
            reason: format!(
                "the same first sentence, then other text (after it {:.2} of the shorter in the other < {:.2})",
                short_p.tail_in(long_p),
                params.jaccard
            ),
        }
    } else {
        Verdict::Different {
            reason: format!(
                "jaccard {:.2} < {:.2}{}",
                s.jaccard,
                params.jaccard,
                if s.same_lead {
                    format!(
                        ", containment {:.2} < {:.2}",
                        s.containment, params.containment
                    )
                } else {
                    ", different openings".to_string()
                }
            ),
        }
    };
    (verdict, s)
}

/// A stored story a new copy may join: one of the near-duplicate index's
/// candidates (see `store::candidates`).
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    /// The store's key of the story (`stories.sid`).
    pub id: StoryKey,
    /// The story's normalized text.
    pub text: String,
    /// Unix seconds.
    pub published: i64,
    /// When it was stored (unix seconds): the first stored survives a bridge.
    pub first_seen: i64,
}

/// How the store names a story inside the database (`stories.sid`): the
/// public content-hash id never reaches the placement rule.
pub type StoryKey = i64;

/// Where a new copy goes. Decided here, executed by `store`.
#[derive(Clone, Debug, PartialEq)]
pub enum Placement {
    /// An identical normalized body is stored: the copy joins its story.
    Exact { story: StoryKey },
    /// Near duplicate of `story` (the best-scoring candidate's `method` and
    /// `score`). When it is the same as several stored stories, they were
    /// one story kept apart by arrival order: `story` is the one stored
    /// first and `absorb` the others (with their scores), merged into it.
    /// `fuller_text`: the copy's text is longer than any of theirs and
    /// becomes the story's text (its id stays).
    Near {
        story: StoryKey,
        method: Method,
        score: f64,
        absorb: Vec<(StoryKey, f64)>,
        fuller_text: bool,
    },
    /// A new story.
    New,
}

/// The least part of the shorter text two stories must share for a copy
/// that is the same as both to merge them (see `place`). Unrelated stories
/// share almost nothing (under 0.05 on the farm's texts).
pub const BRIDGE_SHARED: f64 = 0.5;

/// The placement rule: where a new copy with normalized `text`, dated
/// `published` (unix seconds; `None` when the item had no date), goes,
/// given the story that holds an identical body (`exact`) and the index's
/// `candidates`. Pure: the store looks the inputs up and carries the result
/// out. An undated copy is not held against a dated story.
pub fn place(
    text: &str,
    published: Option<i64>,
    exact: Option<StoryKey>,
    candidates: &[Candidate],
    params: &Params,
) -> Placement {
    if let Some(story) = exact {
        return Placement::Exact { story };
    }
    if !params.enabled || candidates.is_empty() {
        return Placement::New;
    }
    let copy = Prepared::new(text);
    let mut same: Vec<(&Candidate, Method, f64)> = candidates
        .iter()
        .filter_map(|c| {
            let apart = published.map_or(0, |p| p - c.published);
            match judge_prepared(&copy, &Prepared::new(&c.text), apart, params).0 {
                Verdict::Same { method, score } => Some((c, method, score)),
                Verdict::Different { .. } => None,
            }
        })
        .collect();
    // Best score first; on a tie, the order the index gave.
    same.sort_by(|a, b| b.2.total_cmp(&a.2));
    let Some(&(_, method, score)) = same.first() else {
        return Placement::New;
    };
    let fuller_text = {
        let len = text.chars().count();
        same.iter().all(|(c, _, _)| len > c.text.chars().count())
    };
    // The survivor of a bridge is the story readers saw first; the others
    // are merged into it, oldest first, but only those whose own text is
    // the same story as the survivor's, or shares at least half of the
    // shorter's (`BRIDGE_SHARED`: a summary cut past a sentence that the
    // other copy dropped): one copy made of story A's text followed by
    // story B's is the same as both, and must not merge two stories that
    // share nothing.
    let mut by_age: Vec<(&Candidate, f64)> = same.iter().map(|(c, _, s)| (*c, *s)).collect();
    by_age.sort_by_key(|(c, _)| (c.first_seen, c.id));
    let survivor = by_age[0].0;
    let kept = Prepared::new(&survivor.text);
    let absorb = by_age[1..]
        .iter()
        .filter(|(c, _)| {
            let apart = c.published - survivor.published;
            let other = Prepared::new(&c.text);
            let same = |a: &Prepared, b: &Prepared, apart| {
                matches!(judge_prepared(a, b, apart, params).0, Verdict::Same { .. })
            };
            same(&other, &kept, apart)
                || same(&kept, &other, -apart)
                || score_prepared(&other, &kept).containment >= BRIDGE_SHARED
        })
        .map(|(c, s)| (c.id, *s))
        .collect();
    let survivor = survivor.id;
    Placement::Near {
        story: survivor,
        method,
        score,
        absorb,
        fuller_text,
    }
}

/// One text the clustering sees: a stored copy or the arriving one.
#[derive(Clone, Debug)]
pub struct Item<'a> {
    /// The copy's content hash: copies with the same hash are one node
    /// (an identical text cannot be told apart from itself).
    pub hash: &'a str,
    /// Its normalized text.
    pub text: &'a str,
    /// Unix seconds; `None` when the item had no date.
    pub published: Option<i64>,
    /// `Prepared::new(text)`, when the caller has it already.
    pub prepared: Option<&'a Prepared>,
}

/// `judge` in one orientation per pair, whichever text came first: the
/// shorter text first (equal lengths: the smaller content hash), `apart` =
/// the first's date minus the second's. `Some` when the same story.
pub fn same_story(
    (a, ha): (&Prepared, &str),
    (b, hb): (&Prepared, &str),
    apart: i64,
    params: &Params,
) -> Option<(Method, f64)> {
    let (x, y, apart) = if (b.chars, hb) < (a.chars, ha) {
        (b, a, -apart)
    } else {
        (a, b, apart)
    };
    match judge_prepared(x, y, apart, params).0 {
        Verdict::Same { method, score } => Some((method, score)),
        Verdict::Different { .. } => None,
    }
}

/// What `cluster` found.
#[derive(Clone, Debug, PartialEq)]
pub struct Clustering {
    /// Per item (in the order given): its cluster, numbered from 0 in the
    /// order of the clusters' smallest content hash.
    pub of: Vec<usize>,
    /// Per item: its best verdict `Same` with another text of its cluster
    /// (method and score), `None` when it is alone in it (or only with
    /// copies of its own text).
    pub link: Vec<Option<(Method, f64)>>,
}

/// How related two texts are by their own words, for the trust rule of a
/// bridge: the share of the shorter's shingles the longer holds (1 when
/// `judge` calls them the same story, 0 when published days apart), and
/// whether their figures agree (the shorter's numbers are in the longer). `cluster` lets a third text link
/// two texts only at `BRIDGE_SHARED` or more with figures that agree (or
/// at half of it, figures aside, when a near-copy of one of them vouches
/// for them): a copy made of story A's
/// text followed by story B's is the same as both, and must not glue two
/// stories that share nothing.
fn related(a: &Prepared, b: &Prepared, apart: i64, same: bool, params: &Params) -> (f64, bool) {
    if same {
        return (1.0, true);
    }
    if (apart / 86_400).abs() > params.max_days_apart {
        return (0.0, false);
    }
    let s = score_prepared(a, b);
    let (short, long) = if a.chars <= b.chars { (a, b) } else { (b, a) };
    (
        s.containment,
        missing_figures(&short.folded, &long.folded).is_empty(),
    )
}

/// The numbers of folded text `short` that folded text `long` lacks (copies
/// of one report keep its figures). A summary cut inside a number ends
/// with part of it: that one is not held against it.
fn missing_figures<'a>(short: &'a str, long: &str) -> Vec<&'a str> {
    let long_numbers = numbers(long);
    let cut = short.ends_with(|c: char| c.is_ascii_digit());
    let tail = short
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap_or("");
    numbers(short)
        .into_iter()
        .filter(|n| !(long_numbers.contains(n) || (cut && *n == tail)))
        .collect()
}

/// The partition rule, a function of the *set* of texts (issue 19): which
/// of `items` are one story. Used on the neighbourhood of an arriving copy
/// (it, and every copy of each stored story one of whose copies it judges
/// the same), so that what is merged does not depend on the order copies
/// arrived in.
///
/// - Nodes are the distinct texts (by content hash, in hash order); a node
///   dated by its earliest dated copy.
/// - Edges are the pairs `judge` calls the same story, each judged once in
///   a fixed orientation (shorter first; equal lengths by hash), so that
///   the verdict does not depend on which came first.
/// - Edges are taken best score first (ties by the two nodes' hashes), and
///   join their two clusters only when every text of the one is `related`
///   to every text of the other: a chain A~B, B~C with A and C unrelated
///   stops at the trust rule whichever of the three came first, and a copy
///   the same as two unrelated stories joins the one it resembles most.
///
/// Pure and deterministic: the same set gives the same partition in any
/// order.
pub fn cluster(items: &[Item<'_>], params: &Params) -> Clustering {
    // Distinct texts, in hash order.
    let mut hashes: Vec<&str> = items.iter().map(|i| i.hash).collect();
    hashes.sort_unstable();
    hashes.dedup();
    let node_of: Vec<usize> = items
        .iter()
        .map(|i| hashes.binary_search(&i.hash).unwrap_or(0))
        .collect();
    let n = hashes.len();
    let mut text: Vec<Option<&str>> = vec![None; n];
    let mut given: Vec<Option<&Prepared>> = vec![None; n];
    let mut date: Vec<Option<i64>> = vec![None; n];
    for (item, &k) in items.iter().zip(&node_of) {
        // The same hash is the same folded text: any copy's text will do,
        // the longest (then smallest) for a fixed choice.
        if text[k].is_none_or(|t| (item.text.len(), item.text) > (t.len(), t)) {
            text[k] = Some(item.text);
            given[k] = item.prepared;
        }
        if let Some(p) = item.published {
            date[k] = Some(date[k].map_or(p, |d: i64| d.min(p)));
        }
    }
    let made: Vec<Option<Prepared>> = text
        .iter()
        .zip(&given)
        .map(|(t, g)| g.is_none().then(|| Prepared::new(t.unwrap_or(""))))
        .collect();
    let prepared: Vec<&Prepared> = made
        .iter()
        .zip(&given)
        .filter_map(|(m, g)| m.as_ref().or(*g))
        .collect();
    let apart = |i: usize, j: usize| match (date[i], date[j]) {
        (Some(a), Some(b)) => a - b,
        _ => 0,
    };
    let mut same: Vec<Option<Method>> = vec![None; n * n];
    let mut edges: Vec<(f64, usize, usize, Method)> = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            if let Some((method, score)) = same_story(
                (prepared[i], hashes[i]),
                (prepared[j], hashes[j]),
                apart(i, j),
                params,
            ) {
                same[i * n + j] = Some(method);
                same[j * n + i] = Some(method);
                edges.push((score, i, j, method));
            }
        }
    }
    edges.sort_by(|x, y| y.0.total_cmp(&x.0).then((x.1, x.2).cmp(&(y.1, y.2))));
    // Each node's cluster (a representative) and the members of each.
    let mut root: Vec<usize> = (0..n).collect();
    let mut members: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
    let mut related_cache: Vec<Option<(f64, bool)>> = vec![None; n * n];
    for &(_, i, j, _) in &edges {
        let (ri, rj) = (root[i], root[j]);
        if ri != rj {
            // A pair sharing less than `BRIDGE_SHARED` (but at least half
            // of it), or whose figures differ, is vouched for by a third
            // text of the two clusters that is the same story as both and
            // a near-copy (Jaccard) of one of them: a full text that holds
            // a summary and, but for a sentence, another copy (the summary
            // cut past the sentence the other dropped shares under half of
            // it with that copy; a page's byline adds a date to one copy).
            // A summary cut before the figures of two template reports is
            // contained in both, a near-copy of neither: it vouches for
            // nothing, and the two stay apart.
            let vouched = |p: usize, q: usize| {
                members[ri].iter().chain(&members[rj]).any(|&r| {
                    match (same[r * n + p], same[r * n + q]) {
                        (Some(a), Some(b)) => a == Method::Jaccard || b == Method::Jaccard,
                        _ => false,
                    }
                })
            };
            let ok = members[ri].iter().all(|&p| {
                members[rj].iter().all(|&q| {
                    let (level, figures) = *related_cache[p * n + q].get_or_insert_with(|| {
                        related(
                            prepared[p],
                            prepared[q],
                            apart(p, q),
                            same[p * n + q].is_some(),
                            params,
                        )
                    });
                    (figures && level >= BRIDGE_SHARED)
                        || (level >= BRIDGE_SHARED / 2.0 && vouched(p, q))
                })
            });
            if !ok {
                continue;
            }
            let (keep, gone) = (ri.min(rj), ri.max(rj));
            let moved = std::mem::take(&mut members[gone]);
            for &m in &moved {
                root[m] = keep;
            }
            members[keep].extend(moved);
        }
    }
    // A node's best edge inside its cluster (edges come best first).
    let mut best_in: Vec<Option<(Method, f64)>> = vec![None; n];
    for &(score, i, j, method) in &edges {
        if root[i] == root[j] {
            for k in [i, j] {
                if best_in[k].is_none() {
                    best_in[k] = Some((method, score));
                }
            }
        }
    }
    // Clusters numbered by their smallest hash (nodes are in hash order).
    let mut number = vec![usize::MAX; n];
    let mut next = 0;
    for k in 0..n {
        if number[root[k]] == usize::MAX {
            number[root[k]] = next;
            next += 1;
        }
    }
    Clustering {
        of: node_of.iter().map(|&k| number[root[k]]).collect(),
        link: node_of.iter().map(|&k| best_in[k]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `index_keys`, `shingles` and `Prepared::new` as they were before
    /// they went over the text in one pass (issue 24): the keys are stored
    /// and shared between instances, so the new forms must give exactly
    /// these.
    mod old {
        use super::super::*;

        /// FNV-1a over the characters, byte by byte.
        pub fn shingle_hash(chars: &[char]) -> u64 {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for c in chars {
                for b in (*c as u32).to_le_bytes() {
                    h ^= b as u64;
                    h = h.wrapping_mul(0x0000_0100_0000_01b3);
                }
            }
            h
        }

        pub fn shingles(folded: &str) -> Vec<u64> {
            let chars: Vec<char> = folded.chars().collect();
            let mut set: Vec<u64> = if chars.len() < SHINGLE {
                if chars.is_empty() {
                    Vec::new()
                } else {
                    vec![shingle_hash(&chars)]
                }
            } else {
                chars.windows(SHINGLE).map(shingle_hash).collect()
            };
            set.sort_unstable();
            set.dedup();
            set
        }

        fn lead_key(folded: &str) -> u64 {
            let lead: Vec<char> = folded.chars().take(LEAD_CHARS).collect();
            mix(shingle_hash(&lead), 0x1ead)
        }

        pub fn index_keys(text: &str, params: &Params) -> Vec<i64> {
            let folded = key_form(text);
            if folded.chars().count() < params.min_chars {
                return Vec::new();
            }
            let mut mins = [u64::MAX; HASHES];
            for s in shingles(&folded) {
                let x = mix(s, 0);
                for (m, (a, b)) in mins.iter_mut().zip(PERMUTATIONS.iter()) {
                    *m = (*m).min(x.wrapping_mul(*a).wrapping_add(*b));
                }
            }
            let mut keys = Vec::with_capacity(BANDS + 2);
            for band in 0..BANDS {
                let mut h = mix(band as u64, 0xba4d);
                for m in &mins[band * ROWS..(band + 1) * ROWS] {
                    h = mix(h ^ m, 0x5eed);
                }
                keys.push(h as i64);
            }
            for skip in sentence_ends(text, 2)
                .into_iter()
                .map(|e| e as usize)
                .filter(|&e| e <= ANCHOR_REACH)
            {
                let after: String = folded.chars().skip(skip).take(LEAD_CHARS).collect();
                if after.chars().count() == LEAD_CHARS {
                    let key = lead_key(&after) as i64;
                    if !keys[BANDS..].contains(&key) {
                        keys.push(key);
                    }
                }
            }
            keys.push(lead_key(&folded) as i64);
            keys
        }

        /// `Prepared::new`'s fields.
        pub fn prepared(text: &str) -> (String, usize, Vec<u64>, Vec<u32>) {
            let folded = key_form(text);
            let shingles = shingles(&folded);
            (
                folded.clone(),
                folded.chars().count(),
                shingles,
                sentence_ends(text, usize::MAX),
            )
        }
    }

    /// Texts the one-pass forms must agree with the old ones on: built
    /// from pieces that exercise every branch (sentence ends of each kind
    /// and in runs, one at the very start, Traditional characters and
    /// fast2s's context rules, variants, Latin, digits, full-width forms,
    /// texts shorter than a shingle, than the lead, than `min_chars`),
    /// and the real articles of ../shared when they are there.
    fn key_texts() -> Vec<String> {
        const PIECES: &[&str] = &[
            "京津冀教育协同发展",
            "工作会议在京召开",
            "。",
            "！",
            "？",
            "!",
            "?",
            "\n",
            "。。\n",
            ",",
            "、",
            " ",
            "教育協同發展",
            "頭髮",
            "乾隆皇帝",
            "羣峯爲裏",
            "2023年10月9日",
            "GDP 5.2%",
            "Ａｂｃ",
            "“引号”",
            "ǅ",
            "一",
            "天津市委教育工委常务副书记荆洪阳在讲话中表示",
        ];
        let mut texts: Vec<String> = ["", "。", "一", "一二三四", "一二三四五", "。一二三四五六"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut next = crate::test_strings::xorshift(0x2545_f491_4f6c_dd1d);
        for _ in 0..3000 {
            let mut t = String::new();
            for _ in 0..(next() % 40) {
                t.push_str(PIECES[(next() % PIECES.len() as u64) as usize]);
            }
            texts.push(t);
        }
        let n = crate::normalize::Normalizer::default();
        if let Ok(jsonl) = std::fs::read_to_string("../shared/news-zh/articles.jsonl") {
            for line in jsonl.lines() {
                let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                let item = crate::model::ParsedItem {
                    title: v["title"].as_str().map(str::to_string),
                    content_html: v["content"].as_str().map(str::to_string),
                    ..Default::default()
                };
                texts.push(n.normalize(&item).text);
            }
        }
        texts
    }

    #[test]
    fn shingle_hash_is_fnv_1a_byte_by_byte() {
        for c in ('\0'..=char::MAX)
            .step_by(7)
            .chain(['\u{ff}', '\u{100}', '\u{ffff}', '\u{10000}'])
        {
            let s = ['中', c, 'a', c, '\u{10348}'];
            assert_eq!(shingle_hash(&s), old::shingle_hash(&s), "{c:?}");
            assert_eq!(shingle_hash(&[c]), old::shingle_hash(&[c]), "{c:?}");
        }
    }

    #[test]
    fn one_pass_keys_and_prepared_texts_are_the_old_ones() {
        let texts = key_texts();
        for min_chars in [p().min_chars, 0, 3, 7] {
            let params = Params { min_chars, ..p() };
            for t in &texts {
                assert_eq!(index_keys(t, &params), old::index_keys(t, &params), "{t:?}");
            }
        }
        for t in &texts {
            let folded = key_form(t);
            assert_eq!(shingles(&folded), old::shingles(&folded), "{t:?}");
            let new = Prepared::new(t);
            assert_eq!(
                (new.folded, new.chars, new.shingles, new.sentence_ends),
                old::prepared(t),
                "{t:?}"
            );
        }
    }

    #[test]
    fn hashes_sorted_by_buckets_are_sorted_and_without_repeats() {
        let mut next = crate::test_strings::xorshift(0x9e37_79b9_7f4a_7c15);
        for n in [0, 1, 2, 63, 64, 65, 100, 1000, 5000] {
            for shape in 0..4 {
                let v: Vec<u64> = (0..n)
                    .map(|i| match shape {
                        0 => next(),
                        // repeats
                        1 => next() % 97,
                        2 => [7, 7, u64::MAX, 0][i % 4],
                        // every value in one bucket: the fallback sort
                        _ => next() >> 20,
                    })
                    .collect();
                let mut want = v.clone();
                want.sort_unstable();
                want.dedup();
                let mut got = v;
                sort_dedup_hashes(&mut got);
                assert_eq!(got, want, "n {n} shape {shape}");
            }
        }
    }

    /// Pairs of texts the sieve is tried on: each text of `key_texts`
    /// against its neighbour, and each longer one against its summary, a
    /// copy without its first paragraph or with a sentence added, and
    /// another text under its opening sentence.
    fn sieve_pairs() -> Vec<(String, String)> {
        let mut texts = key_texts();
        // Reports put together from 300 sentences of random characters, so
        // that many share a sentence or open alike without being one story
        // (the farm's shape that makes most candidates at 4,000 feeds).
        let mut next = crate::test_strings::xorshift(0x51e7_e5ee_d000_0001);
        let sentences: Vec<String> = (0..300)
            .map(|_| {
                let n = 15 + next() % 40;
                let mut s: String = (0..n)
                    .map(|_| char::from_u32(0x4e00 + (next() % 3000) as u32).unwrap_or('中'))
                    .filter(|&c| !is_traditional(c))
                    .collect();
                s.push('。');
                s
            })
            .collect();
        for _ in 0..400 {
            let n = 4 + next() % 12;
            texts.push(
                (0..n)
                    .map(|_| sentences[(next() % 300) as usize].as_str())
                    .collect(),
            );
        }
        let mut pairs = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let other = &texts[(i * 7 + 3) % texts.len()];
            pairs.push((t.clone(), texts[(i + 1) % texts.len()].clone()));
            let chars: Vec<char> = t.chars().collect();
            if chars.len() < 60 {
                continue;
            }
            let first = t.find(['\n', '。']).map_or(t.len(), |e| {
                e + t[e..].chars().next().map_or(0, char::len_utf8)
            });
            pairs.push((t.clone(), chars[..100.min(chars.len())].iter().collect()));
            pairs.push((t.clone(), chars[..chars.len() * 2 / 3].iter().collect()));
            pairs.push((t.clone(), t[first..].to_string()));
            pairs.push((t.clone(), format!("记者从有关部门获悉。{t}")));
            pairs.push((t.clone(), format!("{}{}", &t[..first], other)));
        }
        pairs
    }

    #[test]
    fn the_sieve_counts_as_prepared_texts_do_and_never_rules_out_the_same_story() {
        let params = p();
        let (mut same, mut ruled_out, mut different) = (0, 0, 0);
        // Of texts of 200 characters and more published together (the
        // generated ones of `key_texts` repeat a few phrases and share
        // much; the sieve knows no dates).
        let (mut long_ruled_out, mut long_different) = (0, 0);
        for (a, b) in sieve_pairs() {
            let (pa, pb) = (Prepared::new(&a), Prepared::new(&b));
            let mut sieve = Sieve::new(&pa);
            if let Some(counts) = sieve.counts(&b) {
                assert_eq!(
                    counts,
                    (
                        shared(&pa.shingles, &pb.shingles),
                        pb.shingles.len(),
                        pb.chars
                    ),
                    "{a:?} / {b:?}"
                );
            }
            let may = sieve.may_be_same(&b, &params);
            let mut back = Sieve::new(&pb);
            let may_back = back.may_be_same(&a, &params);
            for apart in [0, 3600, 13 * 3600] {
                let verdict = same_story((&pa, "a"), (&pb, "b"), apart, &params);
                let flipped = same_story((&pb, "b"), (&pa, "a"), -apart, &params);
                if verdict.is_some() || flipped.is_some() {
                    assert!(may && may_back, "ruled out the same story: {a:?} / {b:?}");
                    same += 1;
                } else {
                    different += 1;
                    ruled_out += usize::from(!may);
                    if apart == 0 && pa.chars.min(pb.chars) >= 200 {
                        long_different += 1;
                        long_ruled_out += usize::from(!may);
                    }
                }
            }
        }
        // It rules out most different stories of some length, and many
        // pairs are the same story: the test can fail both ways.
        assert!(same > 1000, "{same}");
        assert!(ruled_out * 10 > different, "{ruled_out} of {different}");
        assert!(
            long_ruled_out * 10 >= long_different * 9,
            "{long_ruled_out} of {long_different}"
        );
    }

    const FULL: &str = "今天,记者从北京市教委了解到,2023年京津冀教育协同发展工作会议在京召开。三地将积极推进各级各类教育融合发展,在更大范围、更深领域加强教育协同,形成更加紧密的新发展格局。天津市委教育工委常务副书记荆洪阳在讲话中表示,天津把推进京津冀教育科技人才协同发展作为首项任务。河北省副省长董兆伟表示,河北省全力推进京津优质中小学基础教育资源同河北合作共享。";

    fn p() -> Params {
        Params::default()
    }

    #[test]
    fn shingle_sets_are_sorted_and_shared_counts_the_intersection() {
        let half: String = FULL.chars().take(80).collect();
        let (a, b) = (fold(FULL), fold(&half));
        let (sa, sb) = (shingles(&a), shingles(&b));
        assert!(sa.windows(2).all(|w| w[0] < w[1]));
        let ha: HashSet<u64> = sa.iter().copied().collect();
        let hb: HashSet<u64> = sb.iter().copied().collect();
        assert_eq!(shared(&sa, &sb), ha.intersection(&hb).count());
        assert_eq!(shared(&sa, &sa), sa.len());
    }

    #[test]
    fn summary_prefix_merges_by_containment() {
        let long = format!(
            "{FULL}北京市委常委、教育工委书记游钧在讲话中表示,要锚定2035年实现教育强国的目标,把京津冀教育协同发展放在国际国内深刻变化之中谋篇布局,牢牢把握京津冀协同发展的机遇,在更大范围内科学谋划教育规划。会上,三地共同签署行动计划和研究中心总体框架协议。"
        );
        let summary: String = long.chars().take(110).collect::<String>() + "…";
        let (v, s) = judge(&summary, &long, 0, &p());
        assert!(
            matches!(
                v,
                Verdict::Same {
                    method: Method::Containment,
                    ..
                }
            ),
            "{v:?} {s:?}"
        );
        // Cut inside "2035": the partial number is not held against it.
        let at = long
            .find("2035")
            .map(|i| long[..i].chars().count() + 2)
            .unwrap_or(0);
        let summary: String = long.chars().take(at).collect();
        let (v, s) = judge(&summary, &long, 0, &p());
        assert!(matches!(v, Verdict::Same { .. }), "{v:?} {s:?}");
    }

    #[test]
    fn a_dropped_sentence_merges_by_jaccard() {
        let edited = FULL.replace("天津市委教育工委常务副书记荆洪阳在讲话中表示,天津把推进京津冀教育科技人才协同发展作为首项任务。", "");
        let (v, s) = judge(&edited, FULL, DAY, &p());
        assert!(
            matches!(
                v,
                Verdict::Same {
                    method: Method::Jaccard,
                    ..
                }
            ),
            "{v:?} {s:?}"
        );
    }

    #[test]
    fn same_opening_different_story_does_not_merge() {
        let opening = "今天,记者从北京市教委了解到,";
        let a = format!(
            "{opening}本市中小学将于下周一起全面恢复线下教学,各校须做好防疫物资储备和师生健康监测工作,确保开学平稳有序。"
        );
        let b = format!(
            "{opening}2024年北京市中考报名工作将于3月启动,考生须在规定时间内登录报名系统完成信息确认和志愿填报。"
        );
        let (v, s) = judge(&a, &b, 0, &p());
        assert!(matches!(v, Verdict::Different { .. }), "{v:?} {s:?}");
    }

    /// A report that opens with a long first sentence, and the follow-up
    /// the next day that repeats that sentence, then says something new.
    const LEAD: &str = "今天,记者从北京市教委了解到,2023年京津冀教育协同发展工作会议在京召开,三地教育部门负责人和百余所学校的代表参加了会议。";

    fn report_and_follow_up() -> (String, String) {
        let rest = &FULL[FULL.find('。').map_or(0, |i| i + '。'.len_utf8())..];
        (
            format!("{LEAD}{rest}"),
            format!(
                "{LEAD}会议通报,今年秋季学期起,三地将互派一百名骨干教师跨省挂职交流,为期一年。首批教师已于本周完成报到,将在数学、物理和信息技术等学科开展联合教研。各校表示,将为挂职教师提供住宿和通勤保障。"
            ),
        )
    }

    #[test]
    fn a_follow_up_reusing_the_lead_stays_apart() {
        let (report, fup) = report_and_follow_up();
        let (v, s) = judge(&fup, &report, DAY, &p());
        assert!(s.same_lead, "{s:?}");
        assert!(matches!(v, Verdict::Different { .. }), "{v:?} {s:?}");
        // A summary no longer than the shared first sentence and a few
        // characters reads the same whichever story it is of: it joins a
        // story published within hours (a copy of the same wire story), not
        // one published the day before (whose lead a follow-up reused).
        let lead_only = format!("{LEAD}三地将积极推进…");
        let (v, s) = judge(&lead_only, &report, DAY, &p());
        assert!(
            matches!(v, Verdict::Different { ref reason } if reason.contains("first sentence")),
            "{v:?} {s:?}"
        );
        assert!(
            s.containment >= 0.9,
            "contained, as before this rule: {s:?}"
        );
        let (v, _) = judge(&lead_only, &report, 3 * 3600, &p());
        assert!(matches!(v, Verdict::Same { .. }), "{v:?}");
        let (v, _) = judge(&lead_only, &fup, 0, &p());
        assert!(matches!(v, Verdict::Different { .. }), "{v:?}");
        // A summary that goes on past the lead joins its own story only:
        // containment of the whole summary, not just the lead.
        let summary: String = report.chars().take(100).collect::<String>() + "…";
        let (v, s) = judge(&summary, &report, 0, &p());
        assert!(
            matches!(
                v,
                Verdict::Same {
                    method: Method::Containment,
                    ..
                }
            ),
            "{v:?} {s:?}"
        );
        let (v, s) = judge(&summary, &fup, DAY, &p());
        assert!(matches!(v, Verdict::Different { .. }), "{v:?} {s:?}");
        let fup_summary: String = fup.chars().take(100).collect();
        let (v, s) = judge(&fup_summary, &report, DAY, &p());
        assert!(matches!(v, Verdict::Different { .. }), "{v:?} {s:?}");
        let (v, s) = judge(&fup_summary, &fup, 0, &p());
        assert!(matches!(v, Verdict::Same { .. }), "{v:?} {s:?}");
    }

    #[test]
    fn short_texts_sharing_a_long_lead_do_not_merge_by_jaccard() {
        // Two briefs: the same long opening sentence, a different short
        // ending each. Jaccard alone would call them one story.
        let lead = "今年以来,在市委、市政府的坚强领导下,全市上下坚持稳中求进工作总基调,经济运行总体平稳、稳中有进。";
        let a = format!("{lead}全市新增就业岗位十二万个。");
        let b = format!("{lead}全市粮食总产量再创新高。");
        let (v, s) = judge(&a, &b, 0, &p());
        assert!(s.jaccard >= 0.6, "jaccard alone would merge them: {s:?}");
        assert!(matches!(v, Verdict::Different { .. }), "{v:?} {s:?}");
        // The same brief with a word changed still merges.
        let c = a.replace("十二万个", "十二万多个");
        let (v, s) = judge(&a, &c, 0, &p());
        assert!(matches!(v, Verdict::Same { .. }), "{v:?} {s:?}");
    }

    #[test]
    fn template_reports_with_other_figures_do_not_merge() {
        let day = |rate: &str, change: &str| {
            format!(
                "中国外汇交易中心受权公布,今日银行间外汇市场人民币汇率中间价为1美元对人民币{rate}元,较前一交易日{change}个基点,人民币对欧元、日元汇率中间价亦有小幅波动。"
            )
        };
        let (v, s) = judge(
            &day("7.1234", "上调32"),
            &day("7.1198", "下调36"),
            DAY,
            &p(),
        );
        assert!(s.jaccard > 0.6, "{s:?}");
        assert!(
            matches!(v, Verdict::Different { ref reason } if reason.contains("figures")),
            "{v:?}"
        );
    }

    #[test]
    fn an_own_opening_then_the_lead_joins_within_hours_and_not_a_day_later() {
        // One long sentence after an opening of the copy's own; the other
        // text opens with that sentence and goes on.
        let lead = "市交通运输局昨天召开新闻发布会通报今年前三季度全市公共交通运行情况以及定制公交线路的开通计划和票价方案";
        let short = format!("早上好！今天多云。{lead}。");
        let long = format!(
            "{lead}。数据显示，全市公交日均客运量达到286万人次，同比增长7.4%，地铁日均客流首次突破400万人次。"
        );
        let same = |apart| matches!(judge(&short, &long, apart, &p()).0, Verdict::Same { .. });
        assert!(same(3600), "{:?}", judge(&short, &long, 3600, &p()));
        assert!(
            !same(30 * 3600),
            "a follow-up may repeat a lead the next day"
        );
        // They share a key: found whichever is stored first.
        let (a, b) = (index_keys(&short, &p()), index_keys(&long, &p()));
        assert!(a.iter().any(|k| b.contains(k)));
    }

    #[test]
    fn follow_up_days_later_does_not_merge() {
        let (v, _) = judge(FULL, FULL, 5 * DAY, &p());
        assert!(matches!(v, Verdict::Different { .. }));
    }

    fn cand(id: StoryKey, text: &str, published: i64, first_seen: i64) -> Candidate {
        Candidate {
            id,
            text: text.into(),
            published,
            first_seen,
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn place_exact_wins_and_nothing_else_is_judged() {
        let c = [cand(1, FULL, 0, 0)];
        assert_eq!(
            place(FULL, Some(0), Some(2), &c, &p()),
            Placement::Exact { story: 2 }
        );
    }

    #[test]
    fn place_near_duplicate_joins_the_best_candidate() {
        let edited = FULL.replace("。", ",");
        let other = "本市中小学将于下周一起全面恢复线下教学,各校须做好防疫物资储备和师生健康监测工作,确保开学平稳有序,教育部门将加强督导检查。";
        let c = [cand(3, other, 0, 0), cand(4, FULL, 0, 5)];
        match place(&edited, Some(DAY / 2), None, &c, &p()) {
            Placement::Near {
                story,
                method,
                absorb,
                fuller_text,
                ..
            } => {
                assert_eq!(story, 4);
                assert_eq!(method, Method::Jaccard);
                assert!(absorb.is_empty());
                assert!(!fuller_text, "same length: the story keeps its text");
            }
            other => panic!("{other:?}"),
        }
        // Nothing alike, or dedupe off: a new story.
        assert_eq!(place(other, Some(0), None, &c[1..], &p()), Placement::New);
        let off = Params {
            enabled: false,
            ..p()
        };
        assert_eq!(place(&edited, Some(0), None, &c, &off), Placement::New);
    }

    #[test]
    fn place_bridges_two_stories_into_the_one_stored_first() {
        // A summary stored first, and the full text with a sentence dropped
        // stored later apart from it: a full copy is the same as both.
        let summary: String = FULL.chars().take(90).collect();
        let dropped = FULL.replace(
            "河北省副省长董兆伟表示,河北省全力推进京津优质中小学基础教育资源同河北合作共享。",
            "",
        );
        let c = [cand(5, &dropped, 0, 20), cand(6, &summary, 0, 10)];
        match place(FULL, Some(0), None, &c, &p()) {
            Placement::Near {
                story,
                absorb,
                fuller_text,
                ..
            } => {
                assert_eq!(story, 6, "the story readers saw first keeps its id");
                assert_eq!(absorb.len(), 1);
                assert_eq!(absorb[0].0, 5);
                assert!(fuller_text, "longer than both: becomes the story's text");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn place_never_bridges_two_stories_that_are_not_the_same() {
        // One item made of story A's text followed by story B's is the same
        // as both (containment), but A and B are not one story.
        let other = "国家统计局今天发布数据显示,十月份全国居民消费价格同比上涨百分之零点一,环比持平。其中城市上涨百分之零点二,农村下降百分之零点一;食品价格下降百分之二点五,非食品价格上涨百分之零点七。统计局城市司首席统计师表示,国内消费需求持续恢复,部分服务价格有所回升。";
        let both = format!("{FULL}{other}");
        let c = [cand(5, FULL, 0, 10), cand(6, other, 0, 20)];
        match place(&both, Some(0), None, &c, &p()) {
            Placement::Near { story, absorb, .. } => {
                assert_eq!(story, 5);
                assert!(absorb.is_empty(), "{absorb:?}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn place_fuller_text_arriving_later_replaces_a_summary() {
        let summary: String = FULL.chars().take(90).collect::<String>() + "…";
        let c = [cand(7, &summary, 0, 0)];
        match place(FULL, Some(0), None, &c, &p()) {
            Placement::Near {
                story,
                method,
                fuller_text,
                ..
            } => {
                assert_eq!((story, method), (7, Method::Containment));
                assert!(fuller_text);
            }
            other => panic!("{other:?}"),
        }
        // The summary arriving after the full text joins it, text unchanged.
        let c = [cand(8, FULL, 0, 0)];
        assert!(matches!(
            place(&summary, Some(0), None, &c, &p()),
            Placement::Near {
                fuller_text: false,
                ..
            }
        ));
    }

    #[test]
    fn place_follow_ups_and_dates() {
        let c = [cand(7, FULL, 0, 0)];
        // The same text five days later is a follow-up: a new story.
        assert_eq!(place(FULL, Some(5 * DAY), None, &c, &p()), Placement::New);
        // A copy dated in the story's future within the window still joins;
        // an undated copy is not held against a dated story.
        assert!(matches!(
            place(FULL, Some(2 * DAY), None, &c, &p()),
            Placement::Near { .. }
        ));
        let old = [cand(7, FULL, -30 * DAY, 0)];
        assert!(matches!(
            place(FULL, None, None, &old, &p()),
            Placement::Near { .. }
        ));
    }

    fn clusters(texts: &[&str]) -> Vec<usize> {
        let hashes: Vec<String> = texts
            .iter()
            .map(|t| format!("{:x}", fold(t).len() * 1_000 + t.chars().count()))
            .collect();
        let items: Vec<Item<'_>> = texts
            .iter()
            .zip(&hashes)
            .map(|(t, h)| Item {
                hash: h,
                text: t,
                published: Some(0),
                prepared: None,
            })
            .collect();
        cluster(&items, &p()).of
    }

    #[test]
    fn cluster_is_the_same_in_every_order_and_keeps_the_trust_rule() {
        // Two stories that share their opening sentence, and a hostile copy
        // made of the one followed by the rest of the other: it is the same
        // as both (each is contained in it), and must not glue them.
        let lead = "今天,记者从北京市教委了解到,本市将于下周召开全市教育工作会议暨表彰大会。";
        let a = format!(
            "{lead}本市中小学将于下周一起全面恢复线下教学,各校须做好防疫物资储备和师生健康监测工作,确保开学平稳有序,教育部门将加强督导检查。各区教委表示,将统筹做好校车运行、食堂供餐和课后服务等保障工作,让家长放心、学生安心。"
        );
        let b = format!(
            "{lead}2024年北京市中考报名工作将于3月启动,考生须在规定时间内登录报名系统完成信息确认和志愿填报,报名结束后将统一组织资格审核。市教育考试院提醒,考生和家长应通过官方渠道获取招生信息,谨防上当受骗,如有疑问可拨打咨询电话。"
        );
        let hostile = format!("{a}{}", &b[lead.len()..]);
        for one in [&a, &b] {
            let (v, s) = judge(one, &hostile, 0, &p());
            assert!(matches!(v, Verdict::Same { .. }), "{v:?} {s:?}");
        }
        assert!(
            score(&a, &b).containment < BRIDGE_SHARED / 2.0,
            "{:?}",
            score(&a, &b)
        );
        for texts in [
            [a.as_str(), b.as_str(), hostile.as_str()],
            [hostile.as_str(), b.as_str(), a.as_str()],
            [b.as_str(), hostile.as_str(), a.as_str()],
        ] {
            let of = clusters(&texts);
            let at = |t: &str| of[texts.iter().position(|x| *x == t).unwrap()];
            assert_ne!(at(&a), at(&b), "{of:?}");
        }
        // A summary cut past a sentence another copy dropped: the two share
        // under half, and are one story through the full text (a near-copy
        // of the one, containing the other), in every order.
        let summary: String = FULL.chars().take(100).collect::<String>() + "…";
        let dropped = FULL.replace(
            "三地将积极推进各级各类教育融合发展,在更大范围、更深领域加强教育协同,形成更加紧密的新发展格局。",
            "",
        );
        for texts in [
            [summary.as_str(), dropped.as_str(), FULL],
            [FULL, dropped.as_str(), summary.as_str()],
            [dropped.as_str(), summary.as_str(), FULL],
        ] {
            assert_eq!(clusters(&texts), vec![0, 0, 0], "{texts:?}");
        }
    }

    /// FULL in Traditional characters, as a Taiwan or Hong Kong outlet prints it.
    const FULL_TRADITIONAL: &str = "今天,記者從北京市教委了解到,2023年京津冀教育協同發展工作會議在京召開。三地將積極推進各級各類教育融合發展,在更大範圍、更深領域加強教育協同,形成更加緊密的新發展格局。天津市委教育工委常務副書記荊洪陽在講話中表示,天津把推進京津冀教育科技人才協同發展作為首項任務。河北省副省長董兆偉表示,河北省全力推進京津優質中小學基礎教育資源同河北合作共享。";

    #[test]
    fn traditional_and_simplified_copies_are_one_story() {
        let (v, s) = judge(FULL_TRADITIONAL, FULL, 0, &p());
        assert!(matches!(v, Verdict::Same { .. }), "{v:?} {s:?}");
        assert!(s.jaccard > 0.95, "{s:?}");
        assert_eq!(
            index_keys(FULL_TRADITIONAL, &p()),
            index_keys(FULL, &p()),
            "the same index keys: the lookup finds the other script"
        );
        // Without the folding they would not even be candidates.
        assert!(score_folded(&fold(FULL_TRADITIONAL), &fold(FULL)).jaccard < 0.6);
    }

    #[test]
    fn near_texts_share_an_index_key() {
        let edited = FULL.replace("。", ",").replace("三地", "京津冀三地");
        let a = index_keys(FULL, &p());
        let b = index_keys(&edited, &p());
        assert_eq!(
            a.len(),
            BANDS + 3,
            "bands, the leads after the first two sentences, the lead"
        );
        assert!(a.iter().any(|k| b.contains(k)));
        let summary: String = FULL.chars().take(80).collect();
        assert_eq!(
            index_keys(&summary, &p()).last(),
            a.last(),
            "the lead key finds summaries"
        );
        assert!(index_keys("太短了", &p()).is_empty());
    }
}
