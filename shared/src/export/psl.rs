//! Public suffixes for the `nt` argument (export spec §7.3).
//!
//! The list itself is the snapshot compiled into the `psl` crate. That crate matches labels
//! byte for byte, so this module supplies what the spec adds on top: case-insensitive
//! comparison, punycode labels matching their Unicode form label by label, and counting only
//! explicit rules of the ICANN section.

use std::borrow::Cow;

/// Longest label the DNS allows. A punycode label longer than this cannot be the encoding of
/// a listed label, and in a wildcard position any label matches anyway, so longer labels are
/// never decoded (which also bounds the decoder's quadratic insertions).
const MAX_LABEL_BYTES: usize = 63;

/// §7.3: `domain` equals (case-insensitively) a suffix defined by an explicit ICANN-section rule.
///
/// Normal, wildcard and exception rules apply (`foo.ck` is a suffix through `*.ck`, `www.ck`
/// is not through `!www.ck`); rules of the PRIVATE section (`github.io`) and the implicit
/// default rule `*` (`example`, and `ck` itself) do not count. Labels written in punycode
/// match their Unicode form, each label on its own (`xn--55qx5d.香港` is `公司.香港`). A name
/// with a trailing dot (`com.`) is not equal to any rule and is not a suffix.
///
/// ```
/// use feedgate::export::psl::is_public_suffix;
///
/// assert!(is_public_suffix("co.uk"));
/// assert!(is_public_suffix("COM"));
/// assert!(!is_public_suffix("github.io"));
/// assert!(!is_public_suffix("google.com"));
/// ```
#[must_use]
pub fn is_public_suffix(domain: &str) -> bool {
    // The `psl` crate would accept `com.` as the fully qualified `com`; the spec asks for
    // equality with a rule, and no rule ends with a dot.
    if domain.is_empty() || domain.ends_with('.') {
        return false;
    }
    let name = normalize(domain);
    ::psl::suffix(name.as_bytes()).is_some_and(|suffix| {
        // `typ()` is `None` for the implicit `*` rule; a shorter suffix means `name` is a
        // name below a suffix (`google.com`) or below an exception (`www.ck` -> `ck`).
        suffix.typ() == Some(::psl::Type::Icann) && suffix.as_bytes().len() == name.len()
    })
}

/// The form the `psl` crate can match: lower case, punycode labels decoded to Unicode.
///
/// The crate holds every listed rule both in Unicode and wholly in punycode, but not in mixed
/// forms, so decoding each label is what makes `xn--55qx5d.香港` match. Borrowed for the usual
/// lower-case ASCII name without punycode labels.
fn normalize(domain: &str) -> Cow<'_, str> {
    let plain = domain
        .bytes()
        .all(|byte| byte.is_ascii() && !byte.is_ascii_uppercase())
        && !domain.split('.').any(has_ace_prefix);
    if plain {
        return Cow::Borrowed(domain);
    }
    let mut out = String::with_capacity(domain.len());
    for (index, label) in domain.split('.').enumerate() {
        if index > 0 {
            out.push('.');
        }
        let decoded = decode_ace_label(label);
        // Per-character lower-casing, as IDNA mapping does (final sigma stays `σ`).
        out.extend(
            decoded
                .as_deref()
                .unwrap_or(label)
                .chars()
                .flat_map(char::to_lowercase),
        );
    }
    Cow::Owned(out)
}

/// The label starts with the ACE prefix `xn--`, in any case.
fn has_ace_prefix(label: &str) -> bool {
    label
        .as_bytes()
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case(b"xn--"))
}

/// The Unicode form of a punycode (`xn--`) label, or `None` when the label is not one.
///
/// A decoding that yields only ASCII is rejected, as IDNA does: `xn--com-` is not `com`.
fn decode_ace_label(label: &str) -> Option<String> {
    if label.len() > MAX_LABEL_BYTES || !has_ace_prefix(label) {
        return None;
    }
    let decoded = punycode_decode(label.as_bytes().get(4..)?)?;
    (!decoded.is_ascii()).then_some(decoded)
}

// RFC 3492 section 5 parameters of Punycode.
const BASE: u32 = 36;
const T_MIN: u32 = 1;
const T_MAX: u32 = 26;
const SKEW: u32 = 38;
const DAMP: u32 = 700;
const INITIAL_BIAS: u32 = 72;
const INITIAL_N: u32 = 128;

/// RFC 3492 (Punycode) decoding, section 6.2, with overflow checks.
fn punycode_decode(input: &[u8]) -> Option<String> {
    if !input.is_ascii() {
        return None;
    }
    // Basic code points are those before the last delimiter; with none (or only a leading
    // one) decoding starts at the beginning, where a `-` is then an invalid digit.
    let (basic, extended) = match input.iter().rposition(|&byte| byte == b'-') {
        Some(delimiter) if delimiter > 0 => (input.get(..delimiter)?, input.get(delimiter + 1..)?),
        _ => (&[][..], input),
    };
    let mut output: Vec<char> = basic.iter().map(|&byte| char::from(byte)).collect();

    let mut code_point = INITIAL_N;
    let mut index: u32 = 0;
    let mut bias = INITIAL_BIAS;
    let mut digits = extended.iter();
    while !digits.as_slice().is_empty() {
        let old_index = index;
        let mut weight: u32 = 1;
        let mut k = BASE;
        loop {
            let digit = match *digits.next()? {
                byte @ b'a'..=b'z' => u32::from(byte - b'a'),
                byte @ b'A'..=b'Z' => u32::from(byte - b'A'),
                byte @ b'0'..=b'9' => u32::from(byte - b'0') + 26,
                _ => return None,
            };
            index = index.checked_add(digit.checked_mul(weight)?)?;
            let threshold = if k <= bias {
                T_MIN
            } else if k >= bias + T_MAX {
                T_MAX
            } else {
                k - bias
            };
            if digit < threshold {
                break;
            }
            weight = weight.checked_mul(BASE - threshold)?;
            k = k.checked_add(BASE)?;
        }
        let length = u32::try_from(output.len()).ok()?.checked_add(1)?;
        bias = adapt(index - old_index, length, old_index == 0);
        code_point = code_point.checked_add(index / length)?;
        index %= length;
        output.insert(usize::try_from(index).ok()?, char::from_u32(code_point)?);
        index += 1;
    }
    Some(output.into_iter().collect())
}

/// RFC 3492 section 6.1 bias adaptation.
fn adapt(delta: u32, num_points: u32, first_time: bool) -> u32 {
    let mut delta = if first_time { delta / DAMP } else { delta / 2 };
    delta += delta / num_points;
    let mut k = 0;
    while delta > ((BASE - T_MIN) * T_MAX) / 2 {
        delta /= BASE - T_MIN;
        k += BASE;
    }
    k + ((BASE - T_MIN + 1) * delta) / (delta + SKEW)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spec_section_7_3_example_holds() {
        let rows = [
            ("com", true),
            ("co.uk", true),
            ("COM", true),
            ("com.bd", true),
            ("github.io", false),
            ("google.com", false),
            ("example", false),
        ];
        for (domain, expected) in rows {
            assert_eq!(is_public_suffix(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn conformance_case_bases_are_classified_as_the_cases_expect() {
        // 004 (nt off, all kept) and 079 (nt on: `co.uk` dropped, `github.io` kept).
        let rows = [
            ("com", true),
            ("co.uk", true),
            ("google.com", false),
            ("github.io", false),
            ("bad.com", false),
            ("multi.com", false),
            ("evil.example.com/path", false),
            ("host.example:8080/x", false),
        ];
        for (domain, expected) in rows {
            assert_eq!(is_public_suffix(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn wildcard_exception_private_and_implicit_rules_count_as_the_spec_says() {
        let rows = [
            // `*.ck` (ICANN wildcard) with `!www.ck` (exception); `ck` only by the default.
            ("foo.ck", true),
            ("FOO.CK", true),
            ("www.ck", false),
            ("ck", false),
            // `*.kawasaki.jp` with `!city.kawasaki.jp`.
            ("foo.kawasaki.jp", true),
            ("city.kawasaki.jp", false),
            ("kawasaki.jp", false),
            ("jp", true),
            // PRIVATE section, exact and wildcard rules.
            ("blogspot.com", false),
            ("s3.amazonaws.com", false),
            ("foo.compute.amazonaws.com", false),
            // Not listed, empty labels, absolute names, non-names.
            ("example.com", false),
            ("", false),
            (".", false),
            (".com", false),
            ("com.", false),
            ("co.uk.", false),
            ("a..com", false),
            ("co..uk", false),
            (" com", false),
            ("com ", false),
            ("*.com", false),
        ];
        for (domain, expected) in rows {
            assert_eq!(is_public_suffix(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn punycode_labels_match_their_unicode_form_label_by_label() {
        let rows = [
            ("рф", true),
            ("РФ", true),
            ("xn--p1ai", true),
            ("XN--P1AI", true),
            ("公司.cn", true),
            ("xn--55qx5d.cn", true),
            ("公司.香港", true),
            ("xn--55qx5d.xn--j6w193g", true),
            ("xn--55qx5d.香港", true),
            ("公司.XN--J6W193G", true),
            ("aéroport.ci", true),
            ("AÉROPORT.CI", true),
            ("xn--aroport-bya.ci", true),
            // Invalid or non-IDNA punycode stays as written and matches nothing.
            ("xn--com-", false),
            ("xn--", false),
            ("xn---p1ai", false),
            ("xn--p1ai!", false),
            ("xn--zzzzzzzzzzzz", false),
            ("xn--é.com", false),
        ];
        for (domain, expected) in rows {
            assert_eq!(is_public_suffix(domain), expected, "{domain:?}");
        }
    }

    #[test]
    fn punycode_decoding_matches_the_rfc_3492_samples() {
        let rows = [
            ("egbpdaj6bu4bxfgehfvwxn", "ليهمابتكلموشعربي؟"),
            ("ihqwcrb4cv8a8dqg056pqjye", "他们为什么不说中文"),
            ("3B-ww4c5e180e575a65lsy2b", "3年B組金八先生"),
            (
                "-with-SUPER-MONKEYS-pc58ag80a8qai00g7n9n",
                "安室奈美恵-with-SUPER-MONKEYS",
            ),
            ("p1ai", "рф"),
            ("55qx5d", "公司"),
            ("aroport-bya", "aéroport"),
            ("abc-", "abc"),
        ];
        for (encoded, decoded) in rows {
            assert_eq!(
                punycode_decode(encoded.as_bytes()).as_deref(),
                Some(decoded),
                "{encoded:?}"
            );
        }
        let bad_inputs = [
            "-abc",           // a leading delimiter copies nothing, then `-` is no digit
            "p1ai!",          // `!` is no digit
            "b",              // the variable-length integer never ends
            "99999999999999", // overflows
        ];
        for bad in bad_inputs {
            assert_eq!(punycode_decode(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn plain_lower_case_names_are_looked_up_without_copying() {
        assert!(matches!(normalize("co.uk"), Cow::Borrowed("co.uk")));
        assert!(matches!(normalize("Co.uk"), Cow::Owned(_)));
        assert_eq!(normalize("xn--55qx5d.XN--J6W193G.Com"), "公司.香港.com");
    }

    proptest! {
        #[test]
        fn is_public_suffix_never_panics_on_arbitrary_unicode(
            domain in "\\PC{0,80}|(?s:.){0,80}|([a-zA-Z0-9-]{0,12}\\.){0,4}(xn--)?[a-zA-Z0-9-]{0,20}"
        ) {
            let _ = is_public_suffix(&domain);
        }

        #[test]
        fn ascii_case_does_not_matter(domain in "([a-zA-Z]{1,8}\\.){0,2}[a-zA-Z]{1,6}") {
            prop_assert_eq!(
                is_public_suffix(&domain),
                is_public_suffix(&domain.to_ascii_lowercase())
            );
            prop_assert_eq!(
                is_public_suffix(&domain),
                is_public_suffix(&domain.to_ascii_uppercase())
            );
        }

        #[test]
        fn punycode_decoding_never_panics(label in "[a-zA-Z0-9-]{0,80}|\\PC{0,40}") {
            let _ = punycode_decode(label.as_bytes());
        }
    }
}
