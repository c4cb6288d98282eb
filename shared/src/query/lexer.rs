//! Splits query text into tokens. Works on characters (not bytes) so every position is the
//! 1-based character position the spec's error rules speak of, and no slicing can split a
//! multi-byte character.

use super::QueryError;
use super::pattern::Piece;

/// A comparison operator written right after `field:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Gt,
    Ge,
    Lt,
    Le,
}

impl Op {
    /// The operator as written.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Gt => ">",
            Self::Ge => ">=",
            Self::Lt => "<",
            Self::Le => "<=",
        }
    }
}

/// A value as written: pieces for pattern matching, plain text for number/instant parsing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawValue {
    /// Position of the value's first character (the `"` for a quoted value).
    pub pos: usize,
    /// Escapes resolved; unescaped `*` and `?` kept as wildcards.
    pub pieces: Vec<Piece>,
    /// Escapes resolved, wildcards as their characters: what numbers and instants parse.
    pub text: String,
}

impl RawValue {
    /// Exactly one unescaped `*`: the presence test `field:*`.
    pub(super) fn is_lone_star(&self) -> bool {
        self.pieces == [Piece::Star]
    }
}

/// A term: `field:[op]value` or a bare value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RawTerm {
    /// The field name as written and its position; `None` for a bare value.
    pub field: Option<(String, usize)>,
    /// The operator and its position.
    pub op: Option<(Op, usize)>,
    /// The value, or why it is missing or unreadable. The error waits for the parser, which
    /// first reports an op that cannot apply: that one comes earlier in reading order.
    pub value: Result<RawValue, QueryError>,
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum TokKind {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Term(RawTerm),
    End,
}

/// A token with its 1-based position and its text as written (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Token {
    pub pos: usize,
    pub text: String,
    pub kind: TokKind,
}

/// The tokenizer; the parser pulls tokens one at a time so errors surface in reading order.
#[derive(Debug)]
pub(super) struct Lexer {
    chars: Vec<char>,
    at: usize,
    /// Set after a `-`/`!` prefix that was split off a word: the rest of that word is a term
    /// even if it spells a keyword or starts with another `-`.
    rest_is_term: bool,
}

fn is_delimiter(c: char) -> bool {
    matches!(c, ' ' | '\t' | '"' | '(' | ')')
}

fn is_field_name(name: &[char]) -> bool {
    match name.split_first() {
        Some((first, rest)) => {
            (first.is_ascii_alphabetic() || *first == '_')
                && rest
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        }
        None => false,
    }
}

fn keyword(word: &[char]) -> Option<TokKind> {
    let text: String = word.iter().collect();
    if text.eq_ignore_ascii_case("and") || text == "&&" {
        Some(TokKind::And)
    } else if text.eq_ignore_ascii_case("or") || text == "||" {
        Some(TokKind::Or)
    } else if text.eq_ignore_ascii_case("not") {
        Some(TokKind::Not)
    } else {
        None
    }
}

/// Resolves escapes of a word: `\\`, `\*` and `\?` stand for the second character; any
/// other `\` is literal and the character after it is read normally.
fn word_value(chars: &[char], start: usize) -> RawValue {
    let mut pieces = Vec::with_capacity(chars.len());
    let mut text = String::with_capacity(chars.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match (c, next) {
            ('\\', Some(e @ ('\\' | '*' | '?'))) => {
                pieces.push(Piece::Lit(e));
                text.push(e);
                i += 2;
                continue;
            }
            ('*', _) => pieces.push(Piece::Star),
            ('?', _) => pieces.push(Piece::One),
            (c, _) => pieces.push(Piece::Lit(c)),
        }
        text.push(c);
        i += 1;
    }
    RawValue {
        pos: start + 1,
        pieces,
        text,
    }
}

impl Lexer {
    /// A lexer over `text` (already checked for length).
    pub(super) fn new(text: &str) -> Self {
        Self {
            chars: text.chars().collect(),
            at: 0,
            rest_is_term: false,
        }
    }

    fn text(&self, from: usize, to: usize) -> String {
        self.chars
            .get(from..to)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    fn token(&self, from: usize, to: usize, kind: TokKind) -> Token {
        Token {
            pos: from + 1,
            text: self.text(from, to),
            kind,
        }
    }

    /// The next token, or the first lexical error.
    pub(super) fn next_token(&mut self) -> Result<Token, QueryError> {
        let rest_is_term = std::mem::take(&mut self.rest_is_term);
        while matches!(self.chars.get(self.at), Some(' ' | '\t')) {
            self.at += 1;
        }
        let start = self.at;
        let Some(&c) = self.chars.get(start) else {
            return Ok(self.token(start, start, TokKind::End));
        };
        match c {
            '(' | ')' => {
                self.at += 1;
                let kind = if c == '(' {
                    TokKind::LParen
                } else {
                    TokKind::RParen
                };
                return Ok(self.token(start, start + 1, kind));
            }
            '"' => {
                let value = Ok(self.quoted(start)?);
                let term = RawTerm {
                    field: None,
                    op: None,
                    value,
                };
                return Ok(self.token(start, self.at, TokKind::Term(term)));
            }
            _ => {}
        }
        let mut end = start;
        while self.chars.get(end).is_some_and(|&c| !is_delimiter(c)) {
            end += 1;
        }
        let word = self.chars.get(start..end).unwrap_or_default();
        if !rest_is_term {
            if let Some(kind) = keyword(word) {
                self.at = end;
                return Ok(self.token(start, end, kind));
            }
            if matches!(c, '-' | '!') {
                // `-`/`!` negates when directly before a term or `(`; alone it is a value.
                let before_group_or_quote = matches!(self.chars.get(end), Some('(' | '"'));
                if end - start > 1 || before_group_or_quote {
                    self.at = start + 1;
                    self.rest_is_term = end - start > 1;
                    return Ok(self.token(start, start + 1, TokKind::Not));
                }
            }
        }
        let term = self.term(start, end)?;
        Ok(self.token(start, self.at, TokKind::Term(term)))
    }

    /// A word that is a term: `field:[op]value` when it holds a `:`, else a bare value.
    fn term(&mut self, start: usize, end: usize) -> Result<RawTerm, QueryError> {
        let word = self.chars.get(start..end).unwrap_or_default();
        let Some(colon) = word.iter().position(|&c| c == ':').map(|i| start + i) else {
            self.at = end;
            return Ok(RawTerm {
                field: None,
                op: None,
                value: Ok(word_value(word, start)),
            });
        };
        let name = self.chars.get(start..colon).unwrap_or_default();
        if name.is_empty() {
            return Err(QueryError::new(
                colon + 1,
                "missing field name before ':'".into(),
            ));
        }
        if !is_field_name(name) {
            let name = self.text(start, colon);
            return Err(QueryError::new(
                start + 1,
                format!("invalid field name '{name}'"),
            ));
        }
        let field = (self.text(start, colon), start + 1);
        let after = self.chars.get(colon + 1..end).unwrap_or_default();
        let op = match after {
            ['>', '=', ..] => Some((Op::Ge, 2)),
            ['<', '=', ..] => Some((Op::Le, 2)),
            ['>', ..] => Some((Op::Gt, 1)),
            ['<', ..] => Some((Op::Lt, 1)),
            _ => None,
        };
        let value_start = colon + 1 + op.map_or(0, |(_, n)| n);
        let op = op.map(|(op, _)| (op, colon + 2));
        let value = if value_start < end {
            self.at = end;
            Ok(word_value(
                self.chars.get(value_start..end).unwrap_or_default(),
                value_start,
            ))
        } else if self.chars.get(end) == Some(&'"') {
            self.quoted(end)
        } else {
            self.at = end;
            let written = self.text(start, end);
            Err(QueryError::new(
                end + 1,
                format!("missing value after '{written}'"),
            ))
        };
        Ok(RawTerm {
            field: Some(field),
            op,
            value,
        })
    }

    /// A quoted value starting at the `"` at `open`; leaves `self.at` after the closing `"`
    /// (or at the end, when there is none: the rest of the query is inside the quote).
    fn quoted(&mut self, open: usize) -> Result<RawValue, QueryError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut i = open + 1;
        loop {
            let Some(&c) = self.chars.get(i) else {
                self.at = self.chars.len();
                return Err(QueryError::new(
                    open + 1,
                    "unterminated quoted value".into(),
                ));
            };
            match c {
                '"' => break,
                '\\' => {
                    let Some(&e) = self.chars.get(i + 1) else {
                        self.at = self.chars.len();
                        return Err(QueryError::new(
                            open + 1,
                            "unterminated quoted value".into(),
                        ));
                    };
                    if !matches!(e, '"' | '\\' | '*' | '?') {
                        pieces.push(Piece::Lit('\\'));
                        text.push('\\');
                    }
                    pieces.push(Piece::Lit(e));
                    text.push(e);
                    i += 2;
                    continue;
                }
                '*' => pieces.push(Piece::Star),
                '?' => pieces.push(Piece::One),
                c => pieces.push(Piece::Lit(c)),
            }
            text.push(c);
            i += 1;
        }
        self.at = i + 1;
        Ok(RawValue {
            pos: open + 1,
            pieces,
            text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(q: &str) -> Result<Vec<(usize, TokKind)>, QueryError> {
        let mut lx = Lexer::new(q);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token()?;
            let end = t.kind == TokKind::End;
            out.push((t.pos, t.kind));
            if end {
                return Ok(out);
            }
        }
    }

    fn shape(q: &str) -> String {
        match kinds(q) {
            Ok(toks) => toks
                .iter()
                .map(|(_, k)| match k {
                    TokKind::LParen => "(".to_owned(),
                    TokKind::RParen => ")".to_owned(),
                    TokKind::And => "AND".to_owned(),
                    TokKind::Or => "OR".to_owned(),
                    TokKind::Not => "NOT".to_owned(),
                    TokKind::End => "$".to_owned(),
                    TokKind::Term(t) => {
                        let f = t
                            .field
                            .as_ref()
                            .map_or(String::new(), |(f, _)| f.clone() + ":");
                        let op = t.op.map_or("", |(o, _)| o.as_str());
                        match &t.value {
                            Ok(v) => format!("[{f}{op}{}]", v.text),
                            Err(e) => format!("[{f}{op} {} @{}]", e.reason, e.position),
                        }
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
            Err(e) => format!("{} @{}", e.reason, e.position),
        }
    }

    #[test]
    fn splits_words_keywords_and_prefixes() {
        let cases = [
            ("type:IP and tags:x", "[type:IP] AND [tags:x] $"),
            ("a && b || c", "[a] AND [b] OR [c] $"),
            ("orange android notable", "[orange] [android] [notable] $"),
            ("AND Or nOt", "AND OR NOT $"),
            ("-a !b", "NOT [a] NOT [b] $"),
            ("-(a)", "NOT ( [a] ) $"),
            ("!\"x\"", "NOT [x] $"),
            ("- a", "[-] [a] $"),
            ("a -", "[a] [-] $"),
            ("-and", "NOT [and] $"),
            ("--a", "NOT [-a] $"),
            ("not(a)", "NOT ( [a] ) $"),
            ("a-b", "[a-b] $"),
            ("\"or\"", "[or] $"),
            ("and\"x\"or", "AND [x] OR $"),
            ("value:2001:db8::7", "[value:2001:db8::7] $"),
            ("score:>=2 score:<1", "[score:>=2] [score:<1] $"),
            ("tags:\"a (b) c:d\"", "[tags:a (b) c:d] $"),
            ("score:>=\"2\"", "[score:>=2] $"),
            ("score:=2", "[score:=2] $"),
            ("  \t ", "$"),
            ("a\nb", "[a\nb] $"),
        ];
        for (q, want) in cases {
            assert_eq!(shape(q), want, "{q:?}");
        }
    }

    #[test]
    fn resolves_escapes_in_words_and_quotes() {
        let cases = [
            (r#""known \"bad\" actor""#, r#"[known "bad" actor] $"#),
            (r#"a\*b"#, r#"[a*b] $"#),
            (r#"a\\b"#, r#"[a\b] $"#),
            (r#"a\xb"#, r#"[a\xb] $"#),
            (r#""a\xb""#, r#"[a\xb] $"#),
            (r#"a\"#, r#"[a\] $"#),
        ];
        for (q, want) in cases {
            assert_eq!(shape(q), want, "{q:?}");
        }
        let mut lx = Lexer::new(r#"a\*b?"#);
        let TokKind::Term(t) = lx.next_token().expect("token").kind else {
            panic!("expected a term");
        };
        let expected = [
            Piece::Lit('a'),
            Piece::Lit('*'),
            Piece::Lit('b'),
            Piece::One,
        ];
        assert_eq!(t.value.expect("value").pieces, expected);
    }

    #[test]
    fn reports_lexical_errors_at_character_positions() {
        let cases = [
            (
                r#"tags:"known \"bad\""#,
                "[tags: unterminated quoted value @6] $",
            ),
            (r#"é "abc\"#, "unterminated quoted value @3"),
            ("\"\":evil.example.org", "missing field name before ':' @3"),
            (":x", "missing field name before ':' @1"),
            ("ü 1.2.3.4:80", "invalid field name '1.2.3.4' @3"),
            (
                "score:>= 2",
                "[score:>= missing value after 'score:>=' @9] [2] $",
            ),
            ("tags:", "[tags: missing value after 'tags:' @6] $"),
            ("tags:)", "[tags: missing value after 'tags:' @6] ) $"),
            ("tags:<\"x", "[tags:< unterminated quoted value @7] $"),
        ];
        for (q, want) in cases {
            assert_eq!(shape(q), want, "{q:?}");
        }
    }

    fn lexer_input() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let atoms = prop::sample::select(vec![
            "a:", "b:>=", "c:<", ":", "\"", "\\", "(", ")", " ", "\t", "-", "!", "*", "?", "and",
            "||", "x", "é", "𝒜",
        ]);
        prop_oneof![
            prop::collection::vec(atoms, 0..16).prop_map(|v| v.concat()),
            ".{0,40}",
        ]
    }

    proptest::proptest! {
        #[test]
        fn lexing_always_reaches_the_end_or_an_error(text in lexer_input()) {
            let mut lx = Lexer::new(&text);
            let mut finished = false;
            // Every token consumes at least one character, so len + 1 calls must suffice.
            for _ in 0..=text.chars().count() + 1 {
                match lx.next_token() {
                    Ok(Token { kind: TokKind::End, .. }) | Err(_) => {
                        finished = true;
                        break;
                    }
                    Ok(_) => {}
                }
            }
            proptest::prop_assert!(finished);
        }
    }
}
