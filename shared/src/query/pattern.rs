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

/// A compiled string pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum StrMatch {
    /// No wildcards: the folded text must equal the whole folded field value.
    Exact {
        /// The pattern, already folded.
        folded: Box<str>,
        /// Whether `folded` is pure ASCII, which enables the byte-wise fast path.
        ascii: bool,
    },
    /// Wildcards: literals already folded; `*` runs collapsed to one.
    Glob(Box<[Piece]>),
}

impl StrMatch {
    /// Compiles the pieces of a value; literal characters are folded here, once.
    pub(super) fn compile(pieces: &[Piece]) -> Self {
        if pieces.iter().all(|p| matches!(p, Piece::Lit(_))) {
            let folded: String = pieces
                .iter()
                .filter_map(|p| match p {
                    Piece::Lit(c) => Some(fold(*c)),
                    _ => None,
                })
                .collect();
            let ascii = folded.is_ascii();
            return Self::Exact {
                folded: folded.into_boxed_str(),
                ascii,
            };
        }
        let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
        for p in pieces {
            match p {
                // `**` means the same as `*`; collapsing keeps backtracking linear per star.
                Piece::Star if out.last() == Some(&Piece::Star) => {}
                Piece::Lit(c) => out.push(Piece::Lit(fold(*c))),
                other => out.push(*other),
            }
        }
        Self::Glob(out.into_boxed_slice())
    }

    /// Whether `text` matches the pattern.
    #[inline]
    pub(super) fn matches(&self, text: &str) -> bool {
        match self {
            Self::Exact { folded, ascii } => eq_folded(text, folded, *ascii),
            Self::Glob(pieces) => glob(pieces, text),
        }
    }
}

/// Equality of `text` folded with an already folded pattern, without allocating.
#[inline]
fn eq_folded(text: &str, folded: &str, ascii: bool) -> bool {
    if ascii {
        // An ASCII pattern equals an ASCII text exactly when the bytes agree ignoring ASCII
        // case; only a non-ASCII text (say, KELVIN SIGN folding to `k`) needs the slow path.
        if text.len() == folded.len() && text.as_bytes().eq_ignore_ascii_case(folded.as_bytes()) {
            return true;
        }
        if text.is_ascii() {
            return false;
        }
    }
    text.chars().map(fold).eq(folded.chars())
}

/// Wildcard matching over characters with one backtrack point per `*` (the classic greedy
/// algorithm): no allocation, and `text` is only sliced at character boundaries.
fn glob(pieces: &[Piece], text: &str) -> bool {
    let mut p = 0usize;
    let mut t = 0usize;
    // (piece index after the last `*`, byte offset in `text` that `*` currently stops at)
    let mut resume: Option<(usize, usize)> = None;
    loop {
        let Some(c) = text.get(t..).and_then(|rest| rest.chars().next()) else {
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
            Some(Piece::Lit(want)) => fold(c) == *want,
            None => false,
        };
        if step {
            p += 1;
            t += c.len_utf8();
            continue;
        }
        // Mismatch: let the last `*` swallow one more character and retry after it.
        let Some((after_star, star_at)) = resume else {
            return false;
        };
        let Some(swallowed) = text.get(star_at..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        let next = star_at + swallowed.len_utf8();
        resume = Some((after_star, next));
        p = after_star;
        t = next;
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
    fn escaped_wildcards_are_literals() {
        let p = [Piece::Lit('a'), Piece::Lit('*'), Piece::Lit('b')];
        let sm = StrMatch::compile(&p);
        assert!(sm.matches("a*b"));
        assert!(!sm.matches("axb"));
    }
}
