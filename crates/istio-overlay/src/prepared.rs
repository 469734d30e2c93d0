//! Paths prepared for the engine: parsed once per thread (overlays for many objects repeat the
//! same paths), each selector's pattern compiled on first use, and map lookups that do not hash
//! small maps.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::rc::Rc;

use regex::Regex;
use serde_json::{Map, Value};

use crate::path::TreePath;

/// A parsed path with a lazily compiled matcher for each `[value]`/`[:value]` segment.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The parsed path.
    pub(crate) path: TreePath,
    matchers: Vec<OnceCell<Matcher>>,
}

impl Prepared {
    /// Prepares `path` (matchers are compiled when first used).
    pub(crate) fn new(path: TreePath) -> Prepared {
        let matchers = path.segments().iter().map(|_| OnceCell::new()).collect();
        Prepared { path, matchers }
    }

    /// Whether `text` matches the value selector of segment `index` (an unanchored Go regex;
    /// a bad pattern, or a segment without one, matches nothing).
    pub(crate) fn value_matches(&self, index: usize, text: &str) -> bool {
        let (Some(cell), Some(seg)) = (self.matchers.get(index), self.path.segments().get(index))
        else {
            return false;
        };
        let Some(pattern) = seg.value_selector() else {
            return false;
        };
        cell.get_or_init(|| Matcher::new(pattern))
            .is_match(pattern, text)
    }
}

/// A compiled value selector.
#[derive(Debug)]
pub(crate) enum Matcher {
    /// A pattern without regex metacharacters: an unanchored match is a substring search.
    Literal,
    /// Any other valid pattern.
    Regex(Regex),
    /// An invalid pattern (Go's `regexp.MatchString` fails, so it matches nothing).
    Nothing,
}

impl Matcher {
    /// Compiles `pattern`.
    pub(crate) fn new(pattern: &str) -> Matcher {
        // Outside a class, only these characters are not literal (`#`, `&`, `-`, `~` matter
        // only in a class or in extended mode, which need `[` or `(?x)`).
        if !pattern.contains([
            '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
        ]) {
            return Matcher::Literal;
        }
        Regex::new(pattern).map_or(Matcher::Nothing, Matcher::Regex)
    }

    /// Whether `text` matches (`pattern` is the text the matcher was compiled from).
    pub(crate) fn is_match(&self, pattern: &str, text: &str) -> bool {
        match self {
            Matcher::Literal => contains_literal(text, pattern),
            Matcher::Regex(re) => re.is_match(text),
            Matcher::Nothing => false,
        }
    }
}

/// `text.contains(pattern)`: for the short texts list elements hold, a scan for the first byte
/// then a comparison costs less than setting up `str::contains`'s searcher.
fn contains_literal(text: &str, pattern: &str) -> bool {
    let (t, p) = (text.as_bytes(), pattern.as_bytes());
    let Some((&first, rest)) = p.split_first() else {
        return true;
    };
    if t.len() > 64 {
        return text.contains(pattern);
    }
    let last_start = match t.len().checked_sub(p.len()) {
        Some(n) => n,
        None => return false,
    };
    t.iter()
        .take(last_start + 1)
        .enumerate()
        .any(|(at, &b)| b == first && t.get(at + 1..at + p.len()).is_some_and(|w| w == rest))
}

/// The FxHash function (rustc's): the path cache is keyed by short, trusted strings, for which
/// SipHash costs more than the rest of a lookup.
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// A hash of a map key (FxHash of its bytes), to tell keys apart without comparing them.
pub(crate) fn key_hash(key: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// `a == b`, rejecting most unequal keys before calling `memcmp`.
#[inline]
pub(crate) fn same_key(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// `x == y`, comparing keys of up to 16 bytes (nearly all map keys) with two overlapping word
/// loads on each side instead of a call to `memcmp`.
#[inline]
pub(crate) fn same_bytes(x: &[u8], y: &[u8]) -> bool {
    let n = x.len();
    if n != y.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => x.first() == y.first() && x.get(n / 2) == y.get(n / 2) && x.last() == y.last(),
        4..=7 => word4(x, 0) == word4(y, 0) && word4(x, n - 4) == word4(y, n - 4),
        8..=16 => word8(x, 0) == word8(y, 0) && word8(x, n - 8) == word8(y, n - 8),
        _ => x.first() == y.first() && x.last() == y.last() && x == y,
    }
}

/// The 4 bytes of `s` at `at` as a word (0 past the end, which callers never ask for).
#[inline]
fn word4(s: &[u8], at: usize) -> u32 {
    match s.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    }
}

/// The 8 bytes of `s` at `at` as a word (0 past the end, which callers never ask for).
#[inline]
fn word8(s: &[u8], at: usize) -> u64 {
    match s.get(at..at + 8) {
        Some(&[a, b, c, d, e, f, g, h]) => u64::from_le_bytes([a, b, c, d, e, f, g, h]),
        _ => 0,
    }
}

/// [`FxHasher`] as a `BuildHasher`.
pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// A `HashMap` with [`FxHasher`], for short trusted keys.
type FxMap<K, V> = HashMap<K, V, FxBuild>;

thread_local! {
    static PATHS: RefCell<FxMap<String, Rc<Prepared>>> = RefCell::new(FxMap::default());
}

/// The prepared form of `text`, parsed once per thread.
pub(crate) fn prepared(text: &str) -> Rc<Prepared> {
    PATHS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(p) = cache.get(text) {
            return Rc::clone(p);
        }
        if cache.len() >= 4096 {
            cache.clear();
        }
        let p = Rc::new(Prepared::new(TreePath::parse(text)));
        cache.insert(text.to_owned(), Rc::clone(&p));
        p
    })
}

/// Maps up to this size are searched linearly (no hashing of the key).
const LINEAR: usize = 16;

/// `m.get(key)`, without hashing when the map is small.
pub(crate) fn map_get<'m>(m: &'m Map<String, Value>, key: &str) -> Option<&'m Value> {
    map_find(m, key).map(|(_, v)| v)
}

/// `m.get(key)` with the position of the entry, without hashing when the map is small.
#[inline]
pub(crate) fn map_find<'m>(m: &'m Map<String, Value>, key: &str) -> Option<(usize, &'m Value)> {
    if m.len() <= LINEAR {
        for (at, (k, v)) in m.iter().enumerate() {
            if same_key(k, key) {
                return Some((at, v));
            }
        }
        None
    } else {
        // serde_json does not tell the position: [`map_at_mut`] looks the key up again.
        m.get(key).map(|v| (usize::MAX, v))
    }
}

/// The value at `key` of `m`, at the position [`map_find`] or [`map_find_mut`] gave as `pos`
/// (`usize::MAX`: looked up by `key`); `None` when the entry there has another key. Always
/// inlined: it is one step of the overlay loop's walk (`#[inline]` alone leaves a call there).
#[inline(always)]
pub(crate) fn map_at_mut<'m>(
    m: &'m mut Map<String, Value>,
    pos: usize,
    key: &str,
) -> Option<&'m mut Value> {
    if pos == usize::MAX {
        return m.get_mut(key);
    }
    m.iter_mut()
        .nth(pos)
        .and_then(|(k, v)| same_key(k, key).then_some(v))
}

/// [`map_get_mut`] with the position of the entry (`usize::MAX` for a map searched by hash).
#[inline]
pub(crate) fn map_find_mut<'m>(
    m: &'m mut Map<String, Value>,
    key: &str,
) -> Option<(usize, &'m mut Value)> {
    if m.len() <= LINEAR {
        for (at, (k, v)) in m.iter_mut().enumerate() {
            if same_key(k, key) {
                return Some((at, v));
            }
        }
        None
    } else {
        m.get_mut(key).map(|v| (usize::MAX, v))
    }
}

/// `m.get_mut(key)`, without hashing when the map is small.
#[inline]
pub(crate) fn map_get_mut<'m>(m: &'m mut Map<String, Value>, key: &str) -> Option<&'m mut Value> {
    if m.len() <= LINEAR {
        for (k, v) in m {
            if same_key(k, key) {
                return Some(v);
            }
        }
        None
    } else {
        m.get_mut(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_matchers_match_as_regexes_do() {
        for (pattern, text) in [
            ("--log", "--log=info"),
            ("--log", "--x"),
            ("a-b", "xa-by"),
            ("v2", "xv22"),
            ("x.y", "xzy"),
            ("^--x$", "--x"),
            ("[", "["),
        ] {
            let want = Regex::new(pattern).is_ok_and(|re| re.is_match(text));
            assert_eq!(
                Matcher::new(pattern).is_match(pattern, text),
                want,
                "{pattern} on {text}"
            );
        }
        assert!(matches!(Matcher::new("--log"), Matcher::Literal));
        assert!(matches!(Matcher::new("["), Matcher::Nothing));
    }

    #[test]
    fn contains_literal_is_contains() {
        let long = "x".repeat(70) + "--log";
        for (text, pattern) in [
            ("--log=info", "--log"),
            ("--port=8080", "--log"),
            ("", ""),
            ("a", ""),
            ("", "a"),
            ("ab", "abc"),
            ("abc", "abc"),
            ("xabc", "bc"),
            ("aab", "ab"),
            ("éa", "a"),
            (long.as_str(), "--log"),
            (long.as_str(), "--lug"),
        ] {
            assert_eq!(
                contains_literal(text, pattern),
                text.contains(pattern),
                "{text:?} {pattern:?}"
            );
        }
    }

    #[test]
    fn same_bytes_is_equality() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "ba",
            "abc",
            "axc",
            "abd",
            "spec",
            "kind",
            "specs",
            "spec.",
            "name",
            "image",
            "imagf",
            "template",
            "templatf",
            "xemplate",
            "containers",
            "containerz",
            "annotations",
            "0123456789abcdef",
            "0123456789abcdeg",
            "1123456789abcdef",
            "0123456789abcdefg",
            "0123456789abcdefh",
            "example.com/patched",
        ];
        for a in words {
            for b in words {
                assert_eq!(same_key(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn small_and_large_map_lookups_agree() {
        for n in [0usize, 3, LINEAR, LINEAR + 1, 40] {
            let mut m: Map<String, Value> =
                (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect();
            for i in 0..=n {
                let k = format!("k{i}");
                assert_eq!(map_get(&m, &k), m.get(&k));
                let want = m.get(&k).cloned();
                assert_eq!(map_get_mut(&mut m, &k).map(|v| v.clone()), want);
            }
        }
    }
}
