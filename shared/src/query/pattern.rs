//! String patterns: case-insensitive equality and `*`/`?` wildcards under Unicode simple case
//! folding, compiled once per query so matching an indicator never allocates.

/// One element of a value as written: a literal character or an unescaped wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Piece {
    /// A character taken literally (escaped wildcards end up here too).
    Lit(char),
    /// Unescaped `*`: any run of characters, including none.
    Star,
    /// Unescaped `?`: exactly one character.
    One,
}

/// Unicode simple case folding of one character (ASCII handled inline, as it dominates).
#[inline]
pub(super) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    unicode_case_mapping::case_folded(c)
        .and_then(|cp| char::from_u32(cp.get()))
        .unwrap_or(c)
}

/// A literal run, already folded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Folded {
    text: Box<str>,
    /// Whether `text` is pure ASCII, which enables the byte-wise fast paths.
    ascii: bool,
}

impl Folded {
    fn new(chars: impl Iterator<Item = char>) -> Self {
        let text: String = chars.map(fold).collect();
        let ascii = text.is_ascii();
        Self {
            text: text.into_boxed_str(),
            ascii,
        }
    }
}

/// A compiled string pattern. The common shapes (`x`, `x*`, `*x`) get their own variants
/// with ASCII fast paths; anything else runs the general wildcard matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StrMatch {
    /// No wildcards: equal to the whole value.
    Exact(Folded),
    /// `x*`: starts with (`*` alone is the empty prefix).
    Prefix(Folded),
    /// `*x`: ends with.
    Suffix(Folded),
    /// Anything else: literals already folded, runs of `*` collapsed to one.
    Glob(Box<[Piece]>),
}

fn literal(p: &Piece) -> Option<char> {
    match p {
        Piece::Lit(c) => Some(*c),
        _ => None,
    }
}

impl StrMatch {
    /// Compiles the pieces of a value; literal characters are folded here, once.
    pub(super) fn compile(pieces: &[Piece]) -> Self {
        let mut collapsed: Vec<Piece> = Vec::with_capacity(pieces.len());
        for p in pieces {
            // `**` means the same as `*`; collapsing keeps backtracking to one point per star.
            if !(*p == Piece::Star && collapsed.last() == Some(&Piece::Star)) {
                collapsed.push(*p);
            }
        }
        let lits = |ps: &[Piece]| -> Option<Folded> {
            ps.iter()
                .all(|p| matches!(p, Piece::Lit(_)))
                .then(|| Folded::new(ps.iter().filter_map(literal)))
        };
        if let Some(all) = lits(&collapsed) {
            return Self::Exact(all);
        }
        if let Some((Piece::Star, head)) = collapsed.split_last()
            && let Some(head) = lits(head)
        {
            return Self::Prefix(head);
        }
        if let Some((Piece::Star, tail)) = collapsed.split_first()
            && let Some(tail) = lits(tail)
        {
            return Self::Suffix(tail);
        }
        let folded = collapsed
            .into_iter()
            .map(|p| match p {
                Piece::Lit(c) => Piece::Lit(fold(c)),
                other => other,
            })
            .collect();
        Self::Glob(folded)
    }

    /// Whether `text` matches the pattern.
    #[inline]
    pub(super) fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact(lit) => {
                if lit.ascii {
                    // An ASCII pattern equals an ASCII text exactly when the bytes agree
                    // ignoring ASCII case; only a non-ASCII text (say, KELVIN SIGN, which
                    // folds to `k`) needs the slow path.
                    if text.len() == lit.text.len()
                        && text.as_bytes().eq_ignore_ascii_case(lit.text.as_bytes())
                    {
                        return true;
                    }
                    if text.is_ascii() {
                        return false;
                    }
                }
                text.chars().map(fold).eq(lit.text.chars())
            }
            Self::Prefix(lit) => {
                if lit.ascii {
                    let head = text.as_bytes().get(..lit.text.len());
                    if head.is_some_and(|h| h.eq_ignore_ascii_case(lit.text.as_bytes())) {
                        return true;
                    }
                    if text.is_ascii() {
                        return false;
                    }
                }
                let mut chars = text.chars().map(fold);
                lit.text.chars().all(|c| chars.next() == Some(c))
            }
            Self::Suffix(lit) => {
                if lit.ascii {
                    let tail = text
                        .len()
                        .checked_sub(lit.text.len())
                        .and_then(|from| text.as_bytes().get(from..));
                    if tail.is_some_and(|t| t.eq_ignore_ascii_case(lit.text.as_bytes())) {
                        return true;
                    }
                    if text.is_ascii() {
                        return false;
                    }
                }
                let mut chars = text.chars().rev().map(fold);
                lit.text.chars().rev().all(|c| chars.next() == Some(c))
            }
            Self::Glob(pieces) => {
                if text.is_ascii() {
                    let bytes = text.as_bytes();
                    glob(pieces, |t| {
                        bytes
                            .get(t)
                            .map(|b| (char::from(b.to_ascii_lowercase()), 1))
                    })
                } else {
                    glob(pieces, |t| {
                        let c = text.get(t..)?.chars().next()?;
                        Some((fold(c), c.len_utf8()))
                    })
                }
            }
        }
    }
}

/// Wildcard matching with one backtrack point per `*` (the classic greedy algorithm), over a
/// text given as `at(offset) -> (folded char, its length)`: no allocation, and a `str` text is
/// only ever cut at character boundaries.
#[inline]
fn glob(pieces: &[Piece], at: impl Fn(usize) -> Option<(char, usize)>) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    // (piece index after the last `*`, text offset that `*` currently stops at)
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let Some((c, len)) = at(t) else {
            // Text exhausted: only stars may remain.
            return pieces
                .get(p..)
                .is_some_and(|rest| rest.iter().all(|q| *q == Piece::Star));
        };
        let step = match pieces.get(p) {
            Some(Piece::Star) => {
                resume = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(Piece::One) => true,
            Some(Piece::Lit(want)) => c == *want,
            None => false,
        };
        if step {
            p += 1;
            t += len;
            continue;
        }
        // Mismatch: let the last `*` swallow one more character and retry after it.
        let Some((after_star, star_at)) = resume else {
            return false;
        };
        let Some((_, swallowed)) = at(star_at) else {
            return false;
        };
        resume = Some((after_star, star_at + swallowed));
        p = after_star;
        t = star_at + swallowed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(s: &str) -> Vec<Piece> {
        s.chars()
            .map(|c| match c {
                '*' => Piece::Star,
                '?' => Piece::One,
                c => Piece::Lit(c),
            })
            .collect()
    }

    fn m(pattern: &str, text: &str) -> bool {
        StrMatch::compile(&pieces(pattern)).matches(text)
    }

    #[test]
    fn exact_patterns_compare_whole_values_ignoring_case() {
        let cases = [
            ("ip", "IP", true),
            ("IP", "IPv6", false),
            ("198.51.100.7", "198.51.100.70", false),
            ("", "", true),
            ("", "x", false),
            ("office 365", "Office 365", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(m(p, t), want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn folding_is_simple_not_full() {
        assert!(m("straße", "STRAẞE"));
        assert!(m("straße", "straße"));
        assert!(!m("straße", "STRASSE"));
        assert!(m("ÄRGER", "ärger"));
        // KELVIN SIGN folds to `k`, LONG S to `s`: an ASCII pattern still matches them.
        assert!(m("k", "\u{212A}"));
        assert!(m("s*", "\u{17F}x"));
        assert!(m("σ", "ς"));
    }

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        let cases = [
            ("*", "", true),
            ("*", "anything", true),
            ("?", "", false),
            ("?", "é", true),
            ("198.51.100.?", "198.51.100.7", true),
            ("198.51.100.?", "198.51.100.70", false),
            ("apt*", "APT29", true),
            ("*.example.com", "a.b.example.com", true),
            ("*.example.com", "example.com", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXbY", false),
            ("**a", "bba", true),
            ("*ab", "aab", true),
            ("ü*ö?", "ÜxyÖz", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(m(p, t), want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn compiles_common_shapes_to_fast_variants() {
        assert!(matches!(
            StrMatch::compile(&pieces("ab")),
            StrMatch::Exact(_)
        ));
        assert!(matches!(
            StrMatch::compile(&pieces("ab**")),
            StrMatch::Prefix(_)
        ));
        assert!(matches!(
            StrMatch::compile(&pieces("*")),
            StrMatch::Prefix(_)
        ));
        assert!(matches!(
            StrMatch::compile(&pieces("*ab")),
            StrMatch::Suffix(_)
        ));
        assert!(matches!(
            StrMatch::compile(&pieces("*a*")),
            StrMatch::Glob(_)
        ));
        assert!(matches!(
            StrMatch::compile(&pieces("a?")),
            StrMatch::Glob(_)
        ));
    }

    #[test]
    fn fast_paths_agree_with_folding_on_non_ascii_text() {
        let cases = [
            ("k*", "\u{212A}elvin", true),
            ("*k", "\u{212A}", true),
            ("*ss", "\u{17F}\u{17F}", true),
            ("é*", "É!", true),
            ("*é", "xÉ", true),
            ("*é", "xe", false),
            ("ab*", "a", false),
            ("*ab", "b", false),
            ("*.example.com", "ü.EXAMPLE.com", true),
        ];
        for (p, t, want) in cases {
            assert_eq!(m(p, t), want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn escaped_wildcards_are_literals() {
        let p = [Piece::Lit('a'), Piece::Lit('*'), Piece::Lit('b')];
        let sm = StrMatch::compile(&p);
        assert!(sm.matches("a*b"));
        assert!(!sm.matches("axb"));
    }
}
