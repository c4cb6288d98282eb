//! Recursive-descent parser (spec/query.md "Grammar") that resolves fields, checks ops and
//! parses numbers and instants while it reads, so the first error in reading order is the
//! one reported and evaluation can never fail.

use super::QueryError;
use super::eval::{
    Cmp, EXPIRATION_STATUSES, FieldSel, InstantSpec, Node, Operand, REPUTATIONS, Test, mask_of,
};
use super::lexer::{Lexer, Op, RawTerm, RawValue, TokKind, Token};
use super::pattern::StrMatch;
use crate::instant::Instant;

/// Longest accepted query, in characters.
const MAX_LEN: usize = 4096;
/// Most parentheses open at once.
const MAX_DEPTH: usize = 32;

const DAY_NANOS: i128 = 86_400_000_000_000;
const HOUR_NANOS: i128 = 3_600_000_000_000;
const MINUTE_NANOS: i128 = 60_000_000_000;

/// Parses `text` into the evaluator tree, including the implicit `expirationStatus:active`.
pub(super) fn parse(text: &str) -> Result<Node, QueryError> {
    if text.chars().nth(MAX_LEN).is_some() {
        return Err(QueryError::new(
            MAX_LEN + 1,
            format!("query longer than {MAX_LEN} characters"),
        ));
    }
    let mut parser = Parser {
        lexer: Lexer::new(text),
        peeked: None,
        depth: 0,
        names_expiration_status: false,
    };
    let root = if matches!(parser.peek()?, TokKind::End) {
        Node::All
    } else {
        let node = parser.or()?;
        let token = parser.next()?;
        if token.kind != TokKind::End {
            return Err(unexpected(&token));
        }
        node
    };
    if parser.names_expiration_status {
        return Ok(root);
    }
    let active = Node::Test(Test::ExpirationStatus(1));
    Ok(Node::and(vec![root, active]))
}

fn unexpected(token: &Token) -> QueryError {
    if token.kind == TokKind::End {
        QueryError::new(token.pos, "unexpected end of query".into())
    } else {
        QueryError::new(token.pos, format!("unexpected '{}'", token.text))
    }
}

#[derive(Debug)]
struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    depth: usize,
    /// Whether any term names `expirationStatus`, which lifts the implicit active filter.
    names_expiration_status: bool,
}

impl Parser {
    fn peek(&mut self) -> Result<&TokKind, QueryError> {
        let token = match self.peeked.take() {
            Some(token) => token,
            None => self.lexer.next_token()?,
        };
        Ok(&self.peeked.insert(token).kind)
    }

    fn next(&mut self) -> Result<Token, QueryError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    /// `or = and { OR and }`
    fn or(&mut self) -> Result<Node, QueryError> {
        let mut nodes = vec![self.and()?];
        while matches!(self.peek()?, TokKind::Or) {
            self.next()?;
            nodes.push(self.and()?);
        }
        Ok(Node::or(nodes))
    }

    /// `and = unary { [ AND ] unary }`
    fn and(&mut self) -> Result<Node, QueryError> {
        let mut nodes = vec![self.unary()?];
        loop {
            match self.peek()? {
                TokKind::And => {
                    self.next()?;
                    nodes.push(self.unary()?);
                }
                TokKind::Not | TokKind::LParen | TokKind::Term(_) => nodes.push(self.unary()?),
                TokKind::Or | TokKind::RParen | TokKind::End => break,
            }
        }
        Ok(Node::and(nodes))
    }

    /// `unary = [ NOT ] primary`
    fn unary(&mut self) -> Result<Node, QueryError> {
        if matches!(self.peek()?, TokKind::Not) {
            self.next()?;
            return Ok(Node::Not(Box::new(self.primary()?)));
        }
        self.primary()
    }

    /// `primary = "(" or ")" | term`
    fn primary(&mut self) -> Result<Node, QueryError> {
        let token = self.next()?;
        match token.kind {
            TokKind::LParen => {
                if self.depth == MAX_DEPTH {
                    return Err(QueryError::new(
                        token.pos,
                        format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.depth += 1;
                let inner = self.or()?;
                let close = self.next()?;
                match close.kind {
                    TokKind::RParen => {}
                    TokKind::End => {
                        return Err(QueryError::new(token.pos, "unclosed '('".into()));
                    }
                    _ => return Err(unexpected(&close)),
                }
                self.depth -= 1;
                Ok(inner)
            }
            TokKind::Term(term) => {
                let test = self.term(term)?;
                Ok(Node::Test(test))
            }
            _ => Err(unexpected(&token)),
        }
    }

    fn term(&mut self, term: RawTerm) -> Result<Test, QueryError> {
        let (name, field) = match &term.field {
            Some((name, _)) => (name.as_str(), Field::resolve(name)),
            None => ("value", Field::Value),
        };
        if field == Field::ExpirationStatus {
            self.names_expiration_status = true;
        }
        compile(name, field, term.op, term.value)
    }
}

/// A field name resolved against the spec's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Value,
    Type,
    /// A list of strings stored at top level under this name.
    List(&'static str),
    Score,
    Reputation,
    ExpirationStatus,
    /// An instant stored at top level under this name.
    Instant(&'static str),
    Other,
}

impl Field {
    fn resolve(name: &str) -> Self {
        match name.to_ascii_lowercase().as_str() {
            "value" | "name" | "indicator" => Self::Value,
            "type" | "indicator_type" => Self::Type,
            "sourcebrands" | "sourcebrand" | "source" => Self::List("sourceBrands"),
            "tags" | "tag" => Self::List("tags"),
            "score" => Self::Score,
            "reputation" | "verdict" => Self::Reputation,
            "expirationstatus" => Self::ExpirationStatus,
            "firstseen" => Self::Instant("firstSeen"),
            "lastseen" => Self::Instant("lastSeen"),
            "modified" => Self::Instant("modified"),
            "expiration" => Self::Instant("expiration"),
            _ => Self::Other,
        }
    }

    fn presence(self, name: &str) -> FieldSel {
        match self {
            Self::Value => FieldSel::Value,
            Self::Type => FieldSel::Type,
            Self::List(key) | Self::Instant(key) => FieldSel::Top(key),
            Self::Score => FieldSel::Top("score"),
            Self::Reputation => FieldSel::Reputation,
            Self::ExpirationStatus => FieldSel::ExpirationStatus,
            Self::Other => FieldSel::Other(name.into()),
        }
    }
}

fn compile(
    name: &str,
    field: Field,
    op: Option<(Op, usize)>,
    value: Result<RawValue, QueryError>,
) -> Result<Test, QueryError> {
    // Reading order: the op comes before the value, so an op that cannot apply is reported
    // even when the value is missing too.
    if let Some((op, pos)) = op
        && !matches!(field, Field::Score | Field::Instant(_) | Field::Other)
    {
        return Err(QueryError::new(
            pos,
            format!("field '{name}' cannot be compared with '{}'", op.as_str()),
        ));
    }
    let value = value?;
    if op.is_none() && value.is_lone_star() {
        return Ok(Test::Present(field.presence(name)));
    }
    let cmp = op.map_or(Cmp::Eq, |(op, _)| match op {
        Op::Gt => Cmp::Gt,
        Op::Ge => Cmp::Ge,
        Op::Lt => Cmp::Lt,
        Op::Le => Cmp::Le,
    });
    let bad_value = |what: &str| {
        QueryError::new(
            value.pos,
            format!("expected {what} for '{name}', got '{}'", value.text),
        )
    };
    let pattern = || StrMatch::compile(&value.pieces);
    match field {
        Field::Score => parse_number(&value.text)
            .map(|n| Test::Score(cmp, n))
            .ok_or_else(|| bad_value("a number")),
        Field::Instant(key) => parse_instant(&value.text)
            .map(|at| Test::Instant(key, cmp, at))
            .ok_or_else(|| bad_value("an instant")),
        Field::Other if op.is_some() => {
            let operand = match parse_number(&value.text) {
                Some(n) => Operand::Number(n),
                None => Operand::Instant(
                    parse_instant(&value.text)
                        .ok_or_else(|| bad_value("a number or an instant"))?,
                ),
            };
            Ok(Test::OtherCmp(name.into(), cmp, operand))
        }
        Field::Other => Ok(Test::OtherEq(
            name.into(),
            pattern(),
            parse_number(&value.text),
        )),
        Field::Value => Ok(Test::Value(pattern())),
        Field::Type => Ok(Test::type_matching(pattern())),
        Field::List(key) => Ok(Test::List(key, pattern())),
        Field::Reputation => Ok(Test::Reputation(mask_of(&pattern(), &REPUTATIONS))),
        Field::ExpirationStatus => Ok(Test::ExpirationStatus(mask_of(
            &pattern(),
            &EXPIRATION_STATUSES,
        ))),
    }
}

/// An optional `-`, digits, and optionally `.` and digits.
fn parse_number(text: &str) -> Option<f64> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    text.parse().ok()
}

/// RFC 3339, a date, or `now` optionally shifted by `+`/`-` digits and `d`, `h` or `m`.
fn parse_instant(text: &str) -> Option<InstantSpec> {
    if let Some(head) = text.get(..3)
        && head.eq_ignore_ascii_case("now")
    {
        return relative(text.get(3..)?).map(InstantSpec::FromNow);
    }
    Instant::parse(text).map(InstantSpec::At)
}

/// The offset after `now`, in nanoseconds (saturating: a huge count is simply far away).
fn relative(rest: &str) -> Option<i128> {
    let Some(sign) = rest.chars().next() else {
        return Some(0);
    };
    let sign: i128 = match sign {
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let body = rest.get(1..)?;
    let (unit_at, unit) = body.char_indices().last()?;
    let unit = match unit.to_ascii_lowercase() {
        'd' => DAY_NANOS,
        'h' => HOUR_NANOS,
        'm' => MINUTE_NANOS,
        _ => return None,
    };
    let digits = body.get(..unit_at)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = digits.bytes().fold(0i128, |n, b| {
        n.saturating_mul(10).saturating_add(i128::from(b - b'0'))
    });
    Some(sign.saturating_mul(count.saturating_mul(unit)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_numbers_strictly() {
        let cases = [
            ("2", Some(2.0)),
            ("-1.5", Some(-1.5)),
            ("0", Some(0.0)),
            ("1.", None),
            (".5", None),
            ("+1", None),
            ("1e3", None),
            ("three", None),
            ("", None),
            ("-", None),
            ("1*", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse_number(text), want, "{text:?}");
        }
    }

    #[test]
    fn parses_relative_and_absolute_instants() {
        let cases = [
            ("now", Some(InstantSpec::FromNow(0))),
            ("NOW-7D", Some(InstantSpec::FromNow(-7 * DAY_NANOS))),
            ("now+12h", Some(InstantSpec::FromNow(12 * HOUR_NANOS))),
            ("now-30m", Some(InstantSpec::FromNow(-30 * MINUTE_NANOS))),
            ("now-7", None),
            ("now7d", None),
            ("now-d", None),
            ("now-7s", None),
            ("now-7dd", None),
            ("nowé", None),
            ("no", None),
            ("2001-02-29", None),
            ("2001-06-01T25:00:00Z", None),
            (
                "1970-01-02",
                Some(InstantSpec::At(Instant::from_unix_millis(86_400_000))),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse_instant(text), want, "{text:?}");
        }
        let huge = format!("now-{}d", "9".repeat(60));
        assert_eq!(parse_instant(&huge), Some(InstantSpec::FromNow(-i128::MAX)));
    }
}
