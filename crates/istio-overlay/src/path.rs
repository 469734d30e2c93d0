//! Istio's tree paths: `a.b.[key:value].c[N]`, parsed and cleaned exactly as Istio's
//! `util.PathFromString` does (operator/pkg/util/path.go, Istio 1.12 to 1.23).

use std::fmt;

/// A tree path as Istio reads it: the text as written plus its cleaned segments.
///
/// Parsing never fails (Istio's never does): a malformed segment only fails when the engine
/// meets it, with an error naming it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreePath {
    raw: String,
    segments: Vec<Segment>,
}

/// One segment of a [`TreePath`], as Istio splits it (dots unescaped, brackets kept).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segment {
    text: String,
    /// What the text means, read once at parse time (a function of `text`).
    parsed: Parsed,
}

/// A segment's selector forms, as byte ranges of its text (Istio's `PathN`, `PathKV`, `PathV`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Parsed {
    /// `[N]`, N >= -1.
    n: Option<i64>,
    /// `[key:value]`: end of the key, start of the value.
    kv: Option<(usize, usize)>,
    /// `[value]`/`[:value]`: start and end of the value.
    v: Option<(usize, usize)>,
    /// A hash of the text, to tell keys apart without comparing them.
    hash: u64,
}

impl Parsed {
    fn of(pe: &str) -> Parsed {
        let base = pe.as_ptr() as usize;
        let offset = |s: &str| s.as_ptr() as usize - base;
        Parsed {
            n: path_n(pe),
            kv: path_kv(pe).map(|(k, v)| (offset(k) + k.len(), offset(v))),
            v: path_v(pe).map(|v| (offset(v), offset(v) + v.len())),
            hash: crate::prepared::key_hash(pe),
        }
    }
}

/// What a segment means to Istio when it meets a list (on a map every segment is a literal key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SegmentKind<'a> {
    /// A plain map key, e.g. `spec`.
    Key(&'a str),
    /// `[N]` with N >= -1: index, or append when N is -1 or N >= the list's length.
    Index(i64),
    /// `[key:value]`: the first map element whose `key`, printed as a string, equals `value`.
    KeyValue {
        /// The field compared.
        key: &'a str,
        /// The value it must print as.
        value: &'a str,
    },
    /// `[value]` or `[:value]`: the first scalar element matching this unanchored regex.
    Value(&'a str),
    /// `[]`: selects nothing (Istio reports it as an invalid selector).
    Empty,
}

impl TreePath {
    /// Parses and cleans `path` as Istio does: Go's `filepath.Clean`, one leading and one
    /// trailing dot trimmed, split on unescaped dots, empty segments dropped, `\.` unescaped,
    /// and `node[x]` split into `node` and `[x]`.
    pub fn parse(path: &str) -> TreePath {
        TreePath {
            raw: path.to_owned(),
            segments: path_from_string(path)
                .into_iter()
                .map(Segment::new)
                .collect(),
        }
    }

    /// The path exactly as written.
    pub fn as_written(&self) -> &str {
        &self.raw
    }

    /// The cleaned segments.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// Whether the cleaned path has no segment (it designates the object itself).
    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The path as Istio prints it in its messages (`util.Path.String()`): segments joined by
    /// dots, without escaping, e.g. `a.b.[name:n2].list.[-200]`.
    pub fn istio_string(&self) -> String {
        join_istio(&self.segments)
    }

    /// The first `count` segments as a path, written in the usual style.
    pub fn with_segment_prefix(&self, count: usize) -> String {
        display_segments(&self.segments[..count.min(self.segments.len())])
    }

    /// A path equivalent to this one with segment `index` replaced by `text`, written in the
    /// usual style (`key[selector]`), dots inside segments escaped.
    pub fn with_segment(&self, index: usize, text: &str) -> String {
        let mut segs = self.segments.clone();
        if let Some(s) = segs.get_mut(index) {
            *s = Segment::new(text.to_owned());
        }
        display_segments(&segs)
    }
}

impl fmt::Display for TreePath {
    /// Writes the cleaned path so that parsing it again gives the same segments: dots inside
    /// segments escaped, a bracket segment attached to the key before it (`args[-1]`).
    /// (Istio's cleaning cannot express a few segments: one ending in a backslash, a dot at
    /// either end of the path, slashes that `filepath.Clean` folds.)
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_segments(&self.segments))
    }
}

impl From<&str> for TreePath {
    fn from(s: &str) -> Self {
        TreePath::parse(s)
    }
}

impl Segment {
    fn new(text: String) -> Segment {
        let parsed = Parsed::of(&text);
        Segment { text, parsed }
    }

    /// [`crate::prepared::key_hash`] of the text.
    pub(crate) fn hash(&self) -> u64 {
        self.parsed.hash
    }

    /// Istio's `PathN`: `[N]` with N >= -1.
    pub(crate) fn index(&self) -> Option<i64> {
        self.parsed.n
    }

    /// Istio's `PathKV`: `[key:value]` with a valid key.
    pub(crate) fn key_value(&self) -> Option<(&str, &str)> {
        let (k_end, v_start) = self.parsed.kv?;
        let t = self.text.as_str();
        Some((t.get(1..k_end)?, t.get(v_start..t.len() - 1)?))
    }

    /// Istio's `PathV`: the value of `[value]` or `[:value]`.
    pub(crate) fn value_selector(&self) -> Option<&str> {
        let (start, end) = self.parsed.v?;
        self.text.get(start..end)
    }

    /// The segment text as Istio holds it (dots unescaped), e.g. `[name:discovery]`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// What the segment selects when it meets a list.
    pub fn kind(&self) -> SegmentKind<'_> {
        let pe = self.text.as_str();
        let Some(inner) = remove_brackets(pe) else {
            return SegmentKind::Key(pe);
        };
        if let Some(n) = path_n(pe) {
            return SegmentKind::Index(n);
        }
        if let Some((key, value)) = path_kv(pe) {
            return SegmentKind::KeyValue { key, value };
        }
        match path_v(pe) {
            Some(v) => SegmentKind::Value(v),
            None if inner.is_empty() => SegmentKind::Empty,
            None => SegmentKind::Value(inner),
        }
    }

    /// Whether the segment is bracketed (`[...]`).
    pub fn is_bracketed(&self) -> bool {
        remove_brackets(&self.text).is_some()
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn display_segments(segs: &[Segment]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        let escaped = s.text.replace('.', "\\.");
        if i > 0 && (!s.is_bracketed() || segs[i - 1].text.contains('[')) {
            out.push('.');
        }
        out.push_str(&escaped);
    }
    out
}

pub(crate) fn join_istio(segs: &[Segment]) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&s.text);
    }
    out
}

/// Istio's `util.PathFromString`.
fn path_from_string(path: &str) -> Vec<String> {
    let cleaned = go_clean(path);
    let p = cleaned.strip_prefix('.').unwrap_or(&cleaned);
    let p = p.strip_suffix('.').unwrap_or(p);
    let mut out = Vec::with_capacity(p.bytes().filter(|b| *b == b'.' || *b == b'[').count() + 1);
    for part in split_escaped(p, '.') {
        if part.is_empty() {
            continue;
        }
        let s = if part.contains('\\') {
            part.replace("\\.", ".")
        } else {
            part.to_owned()
        };
        match s.find('[') {
            Some(n) if n > 0 => {
                out.push(s[..n].to_owned());
                out.push(s[n..].to_owned());
            }
            _ => out.push(s),
        }
    }
    out
}

/// Go's `path/filepath.Clean` on a Unix system.
pub(crate) fn go_clean(path: &str) -> std::borrow::Cow<'_, str> {
    if path.is_empty() {
        return ".".into();
    }
    if !path.contains('/') {
        // A single element: Clean leaves it as it is ("." and ".." included).
        return path.into();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for el in path.split('/') {
        match el {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|p| *p != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}").into(),
        (false, true) => ".".into(),
        (false, false) => joined.into(),
    }
}

/// Istio's `splitEscaped`: split on `sep` unless the previous character is a backslash.
pub(crate) fn split_escaped(s: &str, sep: char) -> Vec<&str> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(s.bytes().filter(|b| *b == sep as u8).count() + 1);
    let mut prev_idx = 0;
    let mut prev: Option<char> = None;
    for (i, c) in s.char_indices() {
        if c == sep && (i == 0 || prev != Some('\\')) {
            out.push(&s[prev_idx..i]);
            prev_idx = i + c.len_utf8();
        }
        prev = Some(c);
    }
    out.push(&s[prev_idx..]);
    out
}

/// Istio's `RemoveBrackets`.
pub(crate) fn remove_brackets(pe: &str) -> Option<&str> {
    if pe.len() >= 2 && pe.starts_with('[') && pe.ends_with(']') {
        Some(&pe[1..pe.len() - 1])
    } else {
        None
    }
}

/// Go's `strconv.Atoi` (base 10, optional sign, 64-bit range).
fn go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Istio's `IsNPathElement` + `PathN`: `[N]` with N >= -1.
pub(crate) fn path_n(pe: &str) -> Option<i64> {
    let inner = remove_brackets(pe)?;
    go_atoi(inner).filter(|n| *n >= -1)
}

/// Istio's `IsKVPathElement` + `PathKV`.
pub(crate) fn path_kv(pe: &str) -> Option<(&str, &str)> {
    let inner = remove_brackets(pe)?;
    let kv = split_escaped(inner, ':');
    if kv.len() != 2 || kv[0].is_empty() || kv[1].is_empty() {
        return None;
    }
    let valid_key = kv[0]
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid_key.then_some((kv[0], kv[1]))
}

/// Istio's `PathV`: `[:v]` gives `v`, `[v]` gives `v` (the whole inner text).
pub(crate) fn path_v(pe: &str) -> Option<&str> {
    let inner = remove_brackets(pe);
    if let Some(i) = inner
        && i.len() > 1
        && i.starts_with(':')
    {
        return Some(&i[1..]);
    }
    inner.filter(|i| !i.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(p: &str) -> Vec<String> {
        TreePath::parse(p)
            .segments()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    }

    #[test]
    fn cleans_like_istio() {
        assert_eq!(segs("a.b[name:x].c"), ["a", "b", "[name:x]", "c"]);
        assert_eq!(segs(".a..b."), ["a", "b"]);
        assert_eq!(segs("a/b/../c.d"), ["a/c", "d"]);
        assert_eq!(segs(r"x.a\.b/c"), ["x", "a.b/c"]);
        assert_eq!(segs(""), Vec::<String>::new());
        assert_eq!(segs("."), Vec::<String>::new());
    }

    #[test]
    fn display_round_trips() {
        for p in [
            "spec.template.spec.containers.[name:discovery].args[-1]",
            r"metadata.annotations.sidecar\.istio\.io/inject",
            "a.[1].[2]",
        ] {
            let t = TreePath::parse(p);
            assert_eq!(
                TreePath::parse(&t.to_string()).segments(),
                t.segments(),
                "{p} -> {t}"
            );
        }
    }

    #[test]
    fn kinds() {
        let k = |s: &str| TreePath::parse(s).segments()[0].kind().to_owned_debug();
        assert_eq!(k("[-1]"), "Index(-1)");
        assert_eq!(k("[-2]"), "Value(\"-2\")");
        assert_eq!(
            k("[port:15010]"),
            "KeyValue { key: \"port\", value: \"15010\" }"
        );
        assert_eq!(k("[:v]"), "Value(\"v\")");
        assert_eq!(k("[]"), "Empty");
    }

    trait Dbg {
        fn to_owned_debug(&self) -> String;
    }
    impl Dbg for SegmentKind<'_> {
        fn to_owned_debug(&self) -> String {
            format!("{self:?}")
        }
    }
}
