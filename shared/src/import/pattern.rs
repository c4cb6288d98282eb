//! The part of STIX 2.1 patterning an indicator list can hold: equality comparisons of one
//! observable's value, joined with `OR`.
//!
//! `[ipv4-addr:value = '1.2.3.4' OR domain-name:value = 'evil.example']`,
//! `[url:value = 'http://x/y'] OR [file:hashes.'SHA-256' = '...']` and parenthesised groups of
//! these are understood; each comparison is one indicator. `AND`, `FOLLOWEDBY`, qualifiers
//! (`WITHIN`, `REPEATS`, `START`), operators other than `=` and non-string literals describe
//! something a list of values cannot express, so such patterns are refused with the reason.

/// One understood comparison: the indicator type and the literal's value.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Comparison {
    pub(super) kind: &'static str,
    pub(super) value: String,
}

/// The comparisons of `pattern`, in order, or why it is not understood.
pub(super) fn parse(pattern: &str) -> Result<Vec<Comparison>, String> {
    let mut parser = Parser {
        text: pattern,
        pos: 0,
        depth: 0,
    };
    let mut out = Vec::new();
    parser.observations(&mut out)?;
    parser.skip_space();
    if parser.pos < pattern.len() {
        return Err(parser.unexpected());
    }
    Ok(out)
}

/// Nesting deep enough for any real pattern, shallow enough to keep the stack safe on
/// hostile input.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        self.text.get(self.pos..).unwrap_or("")
    }

    fn skip_space(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start().len();
    }

    /// Consumes `c` (after spaces) when it is next.
    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// The next bare word (letters, digits, `_`, `-`), without consuming it.
    fn peek_word(&mut self) -> &str {
        self.skip_space();
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        &rest[..end]
    }

    /// Consumes the keyword `word` (ASCII case ignored) when it is next.
    fn eat_keyword(&mut self, word: &str) -> bool {
        let next = self.peek_word();
        if next.eq_ignore_ascii_case(word) {
            self.pos += word.len();
            true
        } else {
            false
        }
    }

    fn unexpected(&mut self) -> String {
        self.skip_space();
        let rest = self.rest();
        if rest.is_empty() {
            return "unexpected end".to_owned();
        }
        let shown: String = rest.chars().take(20).collect();
        format!("unexpected {shown:?} at offset {}", self.pos)
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("nested too deeply".to_owned());
        }
        Ok(())
    }

    /// observations := observation (OR observation)*
    fn observations(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        loop {
            self.observation(out)?;
            if self.eat_keyword("OR") {
                continue;
            }
            for joiner in ["AND", "FOLLOWEDBY"] {
                if self.eat_keyword(joiner) {
                    return Err(format!("{joiner} joins observations; only OR is supported"));
                }
            }
            return Ok(());
        }
    }

    /// observation := '(' observations ')' | '[' comparisons ']', without qualifiers.
    fn observation(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        self.nest()?;
        if self.eat('(') {
            self.observations(out)?;
            if !self.eat(')') {
                return Err(self.unexpected());
            }
        } else if self.eat('[') {
            self.comparisons(out)?;
            if !self.eat(']') {
                return Err(self.unexpected());
            }
        } else {
            return Err(self.unexpected());
        }
        self.depth -= 1;
        for qualifier in ["WITHIN", "REPEATS", "START"] {
            if self.eat_keyword(qualifier) {
                return Err(format!("qualifier {qualifier} is not supported"));
            }
        }
        Ok(())
    }

    /// comparisons := comparison (OR comparison)*
    fn comparisons(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        loop {
            self.comparison_term(out)?;
            if self.eat_keyword("OR") {
                continue;
            }
            if self.eat_keyword("AND") {
                return Err("AND joins comparisons; only OR is supported".to_owned());
            }
            return Ok(());
        }
    }

    fn comparison_term(&mut self, out: &mut Vec<Comparison>) -> Result<(), String> {
        self.nest()?;
        if self.eat('(') {
            self.comparisons(out)?;
            if !self.eat(')') {
                return Err(self.unexpected());
            }
        } else {
            out.push(self.comparison()?);
        }
        self.depth -= 1;
        Ok(())
    }

    /// comparison := object-path '=' 'string'
    fn comparison(&mut self) -> Result<Comparison, String> {
        let (object, property) = self.object_path()?;
        let kind = kind_for_path(&object, &property).ok_or_else(|| {
            format!(
                "object path '{object}:{}' is not supported",
                property.join(".")
            )
        })?;
        self.skip_space();
        let rest = self.rest();
        if rest.starts_with('=') {
            self.pos += 1;
        } else {
            let operator: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '\'')
                .collect();
            return Err(if operator.is_empty() {
                self.unexpected()
            } else {
                format!("operator {operator} is not supported; only =")
            });
        }
        let value = self.string()?;
        if value.is_empty() {
            return Err("empty value".to_owned());
        }
        let kind = kind_for(kind, &value);
        Ok(Comparison { kind, value })
    }

    /// `type:property(.segment | .'quoted segment' | [index])*`, as the object type and the
    /// property's segments (indexes dropped: no supported path has one).
    fn object_path(&mut self) -> Result<(String, Vec<String>), String> {
        let object = self.peek_word().to_owned();
        if object.is_empty() {
            return Err(self.unexpected());
        }
        self.pos += object.len();
        if !self.rest().starts_with(':') {
            return Err(self.unexpected());
        }
        self.pos += 1;
        let mut property = Vec::new();
        loop {
            let segment = if self.rest().starts_with('\'') {
                self.string()?
            } else {
                let word = self.peek_word_here();
                if word.is_empty() {
                    return Err(self.unexpected());
                }
                word
            };
            property.push(segment);
            while self.rest().starts_with('[') {
                let end = self.rest().find(']').ok_or_else(|| self.unexpected())?;
                self.pos += end + 1;
            }
            if self.rest().starts_with('.') {
                self.pos += 1;
            } else {
                return Ok((object, property));
            }
        }
    }

    /// A bare path segment at the cursor (no spaces skipped: paths have none).
    fn peek_word_here(&mut self) -> String {
        let rest = self.rest();
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(rest.len());
        let word = rest[..end].to_owned();
        self.pos += end;
        word
    }

    /// A single-quoted string literal; `\'` and `\\` are its only escapes.
    fn string(&mut self) -> Result<String, String> {
        self.skip_space();
        let rest = self.rest();
        let Some(body) = rest.strip_prefix('\'') else {
            return Err(if rest.is_empty() {
                "unexpected end".to_owned()
            } else {
                let shown: String = rest.chars().take(20).collect();
                format!("only quoted string literals are supported, found {shown:?}")
            });
        };
        let mut value = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += 1 + i + 1;
                    return Ok(value);
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('\'' | '\\'))) => value.push(escaped),
                    Some((_, other)) => return Err(format!("invalid escape \\{other}")),
                    None => break,
                },
                c => value.push(c),
            }
        }
        Err("unterminated string literal".to_owned())
    }
}

/// The indicator type an object path compares, before looking at the value.
fn kind_for_path(object: &str, property: &[String]) -> Option<&'static str> {
    match (object, property) {
        ("file", [hashes, _algorithm]) if hashes == "hashes" => Some("File"),
        (_, [value]) if value == "value" => sco_kind(object),
        _ => None,
    }
}

/// The base indicator type of a cyber-observable object type whose `value` is the indicator.
pub(super) fn sco_kind(object: &str) -> Option<&'static str> {
    Some(match object {
        "ipv4-addr" => "IP",
        "ipv6-addr" => "IPv6",
        "domain-name" => "Domain",
        "url" => "URL",
        "email-addr" => "Email",
        _ => return None,
    })
}

/// Refines a base type by the value's shape: STIX keeps networks in the address objects
/// (`ipv4-addr:value = '10.0.0.0/8'`), and a `*.` name can only be a glob.
pub(super) fn kind_for(base: &'static str, value: &str) -> &'static str {
    match base {
        "IP" if value.contains('/') => "CIDR",
        "IPv6" if value.contains('/') => "IPv6CIDR",
        "Domain" if value.starts_with("*.") => "DomainGlob",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(pattern: &str) -> Vec<(&'static str, String)> {
        parse(pattern)
            .unwrap_or_else(|e| panic!("{pattern:?}: {e}"))
            .into_iter()
            .map(|c| (c.kind, c.value))
            .collect()
    }

    #[test]
    fn understands_equality_comparisons_joined_with_or() {
        let cases: &[(&str, &[(&str, &str)])] = &[
            ("[ipv4-addr:value = '1.2.3.4']", &[("IP", "1.2.3.4")]),
            ("[ipv4-addr:value='10.0.0.0/8']", &[("CIDR", "10.0.0.0/8")]),
            (
                "[ipv6-addr:value = '2001:db8::1']",
                &[("IPv6", "2001:db8::1")],
            ),
            (
                "[ipv6-addr:value = '2001:db8::/32']",
                &[("IPv6CIDR", "2001:db8::/32")],
            ),
            (
                "[domain-name:value = 'evil.example']",
                &[("Domain", "evil.example")],
            ),
            (
                "[domain-name:value = '*.evil.example']",
                &[("DomainGlob", "*.evil.example")],
            ),
            ("[url:value = 'http://x/y']", &[("URL", "http://x/y")]),
            (
                "[email-addr:value = 'a@evil.example']",
                &[("Email", "a@evil.example")],
            ),
            ("[file:hashes.'SHA-256' = 'abc']", &[("File", "abc")]),
            ("[file:hashes.MD5 = 'd41d']", &[("File", "d41d")]),
            (
                "[url:value = 'it\\'s \\\\ here']",
                &[("URL", "it's \\ here")],
            ),
            ("[url:value = 'OR AND ] [ (']", &[("URL", "OR AND ] [ (")]),
            (
                "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']",
                &[("IP", "1.2.3.4"), ("IP", "5.6.7.8")],
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'evil.example']",
                &[("IP", "1.2.3.4"), ("Domain", "evil.example")],
            ),
            (
                " ( [url:value = 'a'] or ([ (email-addr:value = 'b' OR file:hashes.'SHA-1' = 'c') ]) ) ",
                &[("URL", "a"), ("Email", "b"), ("File", "c")],
            ),
            ("[ipv4-addr:value = '01.1.1.1']", &[("IP", "01.1.1.1")]),
        ];
        for (pattern, want) in cases {
            let want: Vec<(&str, String)> =
                want.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
            assert_eq!(ok(pattern), want, "{pattern:?}");
        }
    }

    #[test]
    fn refuses_what_a_list_of_values_cannot_express() {
        let cases: &[(&str, &str)] = &[
            (
                "[ipv4-addr:value = '1.2.3.4' AND ipv4-addr:value = '5.6.7.8']",
                "AND joins comparisons; only OR is supported",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] AND [url:value = 'x']",
                "AND joins observations; only OR is supported",
            ),
            (
                "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [url:value = 'x']",
                "FOLLOWEDBY joins observations; only OR is supported",
            ),
            (
                "[url:value = 'x'] WITHIN 5 SECONDS",
                "qualifier WITHIN is not supported",
            ),
            (
                "[url:value = 'x'] REPEATS 2 TIMES",
                "qualifier REPEATS is not supported",
            ),
            (
                "[ipv4-addr:value != '1.2.3.4']",
                "operator != is not supported; only =",
            ),
            (
                "[domain-name:value LIKE '%.evil']",
                "operator LIKE is not supported; only =",
            ),
            (
                "[ipv4-addr:value ISSUBSET '10.0.0.0/8']",
                "operator ISSUBSET is not supported; only =",
            ),
            (
                "[ipv4-addr:value NOT = '1.2.3.4']",
                "operator NOT is not supported; only =",
            ),
            (
                "[file:size = '3']",
                "object path 'file:size' is not supported",
            ),
            (
                "[network-traffic:dst_ref.value = '1.2.3.4']",
                "object path 'network-traffic:dst_ref.value' is not supported",
            ),
            (
                "[file:hashes.'SHA-256' = h'abcd']",
                "only quoted string literals are supported, found \"h'abcd']\"",
            ),
            (
                "[url:value = 5]",
                "only quoted string literals are supported, found \"5]\"",
            ),
            ("[url:value = '']", "empty value"),
            ("[url:value = 'x\\n']", "invalid escape \\n"),
            ("[url:value = 'x", "unterminated string literal"),
            ("[url:value = 'x'", "unexpected end"),
            (
                "url:value = 'x'",
                "unexpected \"url:value = 'x'\" at offset 0",
            ),
            ("", "unexpected end"),
            ("[]", "unexpected \"]\" at offset 1"),
            ("[url:value = 'x'] junk", "unexpected \"junk\" at offset 18"),
            (
                "[url value = 'x']",
                "unexpected \"value = 'x']\" at offset 5",
            ),
        ];
        for (pattern, want) in cases {
            assert_eq!(parse(pattern), Err((*want).to_owned()), "{pattern:?}");
        }
    }

    #[test]
    fn refuses_hostile_nesting_without_overflowing_the_stack() {
        let pattern = format!(
            "{}[url:value = 'x']{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert_eq!(parse(&pattern), Err("nested too deeply".to_owned()));
    }
}
