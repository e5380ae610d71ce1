//! RFC 8785 (JSON Canonicalization Scheme) bytes: what a JSON licence
//! signature covers. Anyone re-verifies a record with their own JCS
//! implementation, so nothing here is a local choice: members are ordered by
//! their names as UTF-16 code units, strings escape only what ECMAScript's
//! `JSON.stringify` escapes, and every number is spelled the way ECMAScript's
//! `Number.prototype.toString` spells the IEEE 754 double it denotes.
//!
//! # Numbers
//!
//! I-JSON numbers are doubles. serde_json holds integer literals exactly as
//! `u64`/`i64`; one beyond ±2^53 is written as the double it rounds to
//! (nearest, ties to even), which is what `JSON.parse` reads from the same
//! literal: `9007199254740993` becomes `9007199254740992`, `u64::MAX` becomes
//! `18446744073709552000`. A value that must keep every digit belongs in a
//! string (RFC 8785 appendix D). NaN and the infinities are refused; `-0` is
//! written `0`. The digits come from `ryu-js`, not Rust's own shortest
//! formatting, which breaks exact halves the other way: 971022965414512.25
//! is `…512.3` in Rust and `…512.2` in ECMAScript (ECMA-262 §7.1.12.1 Note 2).
//!
//! # Parsing
//!
//! [`canonicalize_str`] reads through serde_json built with its
//! `float_roundtrip` feature, so a decimal becomes the correctly rounded
//! double, as in other canonicalizers; without it serde_json may land one unit
//! in the last place off. serde_json keeps the last of duplicate member names
//! without saying so, although I-JSON forbids duplicates: callers pass JSON
//! they built themselves. Lone surrogates (RFC 8785 §3.2.2.2) are refused by
//! the parser, and a Rust `String` cannot hold one.

use crate::model::Reason;
use serde_json::{Map, Number, Value};

/// The deepest nesting of arrays and objects written. Records nest a few
/// levels; the bound keeps the recursion finite and the output readable by
/// common parsers (serde_json's default stops at 127).
pub const MAX_DEPTH: usize = 64;

/// Why no canonical bytes were made.
#[derive(Debug, thiserror::Error)]
pub enum JcsError {
    #[error("json does not parse: {0}")]
    Parse(serde_json::Error),
    #[error("number is not finite: i-json has no nan or infinity")]
    NonFiniteNumber,
    #[error("arrays and objects nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
}

impl JcsError {
    /// Canonical bytes are made from records the bridge built itself, so a
    /// failure here is the bridge's own.
    pub fn reason(&self) -> Reason {
        Reason::Internal
    }
}

/// The RFC 8785 canonical UTF-8 bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::new();
    write_value(&mut out, value, 0)?;
    Ok(out)
}

/// Parses `json` with serde_json, then canonicalizes it (see the module docs
/// on number precision and duplicate names).
pub fn canonicalize_str(json: &str) -> Result<Vec<u8>, JcsError> {
    let value: Value = serde_json::from_str(json).map_err(JcsError::Parse)?;
    canonicalize(&value)
}

fn write_value(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => write_array(out, items, enter(depth)?)?,
        Value::Object(members) => write_object(out, members, enter(depth)?)?,
    }
    Ok(())
}

fn enter(depth: usize) -> Result<usize, JcsError> {
    if depth < MAX_DEPTH { Ok(depth + 1) } else { Err(JcsError::TooDeep) }
}

fn write_array(out: &mut Vec<u8>, items: &[Value], depth: usize) -> Result<(), JcsError> {
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_value(out, item, depth)?;
    }
    out.push(b']');
    Ok(())
}

/// RFC 8785 §3.2.3: members in the order of their names as sequences of
/// UTF-16 code units. serde_json's map order (UTF-8 bytes, or insertion with
/// `preserve_order`) differs above U+FFFF, so the order is made here.
fn write_object(out: &mut Vec<u8>, members: &Map<String, Value>, depth: usize) -> Result<(), JcsError> {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_unstable_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
    out.push(b'{');
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(out, name);
        out.push(b':');
        write_value(out, value, depth)?;
    }
    out.push(b'}');
    Ok(())
}

/// RFC 8785 §3.2.2.2: `"` and `\` and the controls below U+0020 are escaped,
/// with the five short forms where JSON has them and lower-case `\u00xx`
/// otherwise; every other character, `/` and U+2028/U+2029 included, is
/// written as its UTF-8 bytes. Scanning bytes is sound because no byte of a
/// multi-byte UTF-8 sequence is below 0x80.
fn write_string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    out.push(b'"');
    for (i, &b) in bytes.iter().enumerate() {
        let unicode_escape: [u8; 6];
        let escaped: &[u8] = match b {
            b'"' => br#"\""#,
            b'\\' => br"\\",
            0x08 => br"\b",
            b'\t' => br"\t",
            b'\n' => br"\n",
            0x0c => br"\f",
            b'\r' => br"\r",
            0x00..=0x1f => {
                unicode_escape = [b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]];
                &unicode_escape
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[plain_from..i]);
        out.extend_from_slice(escaped);
        plain_from = i + 1;
    }
    out.extend_from_slice(&bytes[plain_from..]);
    out.push(b'"');
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), JcsError> {
    let x = double_of(n).ok_or(JcsError::NonFiniteNumber)?;
    let mut buffer = ryu_js::Buffer::new();
    out.extend_from_slice(ecmascript_number(x, &mut buffer)?.as_bytes());
    Ok(())
}

/// The IEEE 754 double a JSON number denotes. An integer serde_json holds
/// exactly is rounded to the nearest double, ties to even, which is what
/// `as` does.
fn double_of(n: &Number) -> Option<f64> {
    if let Some(u) = n.as_u64() {
        Some(u as f64)
    } else if let Some(i) = n.as_i64() {
        Some(i as f64)
    } else {
        n.as_f64()
    }
}

/// ECMAScript `Number::toString(x)` (ECMA-262 §7.1.12.1 with its Note 2),
/// the spelling RFC 8785 §3.2.2.3 requires. Non-finite values are refused.
fn ecmascript_number(x: f64, buffer: &mut ryu_js::Buffer) -> Result<&str, JcsError> {
    if !x.is_finite() {
        return Err(JcsError::NonFiniteNumber);
    }
    if x == 0.0 {
        return Ok("0");
    }
    Ok(buffer.format_finite(x))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use serde_json::json;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("canonical bytes are UTF-8")
    }

    fn number(x: f64) -> Result<String, JcsError> {
        ecmascript_number(x, &mut ryu_js::Buffer::new()).map(str::to_owned)
    }

    // RFC 8785 §3.2.2: the sample input, exactly as published.
    const RFC_3_2_2_INPUT: &str = r#"
  {
    "numbers": [333333333.33333329, 1E30, 4.50,
                2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }
"#;

    // RFC 8785 §3.2.3: its canonical form (the display line wrap removed).
    const RFC_3_2_3_OUTPUT: &str = concat!(
        r#"{"literals":[null,true,false],"numbers":[333333333.3333333,"#,
        r#"1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#,
    );

    // RFC 8785 §3.2.4: the same as UTF-8, in hexadecimal.
    const RFC_3_2_4_HEX: &str = "
  7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72
  75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a
  5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31
  65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37
  5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30
  30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";

    #[test]
    fn rfc_3_2_2_sample_gives_the_published_bytes() {
        let hex: String = RFC_3_2_4_HEX.split_whitespace().collect();
        let published = hex::decode(hex).unwrap();
        assert_eq!(RFC_3_2_3_OUTPUT.as_bytes(), published);
        assert_eq!(canonicalize_str(RFC_3_2_2_INPUT).unwrap(), published);
    }

    // RFC 8785 §3.2.3: the sorting test data and the published value order.
    const RFC_3_2_3_SORT_INPUT: &str = r#"
  {
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }
"#;

    const RFC_3_2_3_SORTED_VALUES: [&str; 7] = [
        "Carriage Return",
        "One",
        "Control",
        "Latin Small Letter O With Diaeresis",
        "Euro Sign",
        "Emoji: Grinning Face",
        "Hebrew Letter Dalet With Dagesh",
    ];

    #[test]
    fn rfc_3_2_3_members_sort_by_utf16_code_units() {
        let out = text(canonicalize_str(RFC_3_2_3_SORT_INPUT).unwrap());
        let positions: Vec<usize> =
            RFC_3_2_3_SORTED_VALUES.iter().map(|v| out.find(&format!(r#""{v}""#)).unwrap()).collect();
        assert!(positions.is_sorted(), "{out}");
        assert_eq!(
            out,
            concat!(
                "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",",
                "\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",",
                "\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}",
            )
        );
    }

    /// RFC 8785 appendix B, table 1, every row: IEEE 754 bits and the
    /// expected JSON text; `None` for NaN and Infinity, which must be refused.
    const APPENDIX_B: [(u64, Option<&str>); 26] = [
        (0x0000000000000000, Some("0")),
        (0x8000000000000000, Some("0")),
        (0x0000000000000001, Some("5e-324")),
        (0x8000000000000001, Some("-5e-324")),
        (0x7fefffffffffffff, Some("1.7976931348623157e+308")),
        (0xffefffffffffffff, Some("-1.7976931348623157e+308")),
        (0x4340000000000000, Some("9007199254740992")),
        (0xc340000000000000, Some("-9007199254740992")),
        (0x4430000000000000, Some("295147905179352830000")),
        (0x7fffffffffffffff, None),
        (0x7ff0000000000000, None),
        (0x44b52d02c7e14af5, Some("9.999999999999997e+22")),
        (0x44b52d02c7e14af6, Some("1e+23")),
        (0x44b52d02c7e14af7, Some("1.0000000000000001e+23")),
        (0x444b1ae4d6e2ef4e, Some("999999999999999700000")),
        (0x444b1ae4d6e2ef4f, Some("999999999999999900000")),
        (0x444b1ae4d6e2ef50, Some("1e+21")),
        (0x3eb0c6f7a0b5ed8c, Some("9.999999999999997e-7")),
        (0x3eb0c6f7a0b5ed8d, Some("0.000001")),
        (0x41b3de4355555553, Some("333333333.3333332")),
        (0x41b3de4355555554, Some("333333333.33333325")),
        (0x41b3de4355555555, Some("333333333.3333333")),
        (0x41b3de4355555556, Some("333333333.3333334")),
        (0x41b3de4355555557, Some("333333333.33333343")),
        (0xbecbf647612f3696, Some("-0.0000033333333333333333")),
        (0x43143ff3c1cb0959, Some("1424953923781206.2")),
    ];

    #[test]
    fn appendix_b_numbers_are_spelled_as_published() {
        for (bits, expected) in APPENDIX_B {
            let x = f64::from_bits(bits);
            match expected {
                Some(expected) => {
                    assert_eq!(number(x).unwrap(), expected, "{bits:016x}");
                    assert_eq!(text(canonicalize(&Value::from(x)).unwrap()), expected, "{bits:016x}");
                    assert_eq!(text(canonicalize_str(expected).unwrap()), expected, "{bits:016x}");
                }
                None => {
                    assert!(matches!(number(x), Err(JcsError::NonFiniteNumber)), "{bits:016x}");
                    assert!(Number::from_f64(x).is_none(), "{bits:016x}");
                }
            }
        }
    }

    #[test]
    fn non_finite_numbers_are_refused() {
        assert!(matches!(number(f64::NEG_INFINITY), Err(JcsError::NonFiniteNumber)));
        for json in ["NaN", "Infinity", "-Infinity", "1e400", "[-1e400]"] {
            assert!(matches!(canonicalize_str(json), Err(JcsError::Parse(_))), "{json}");
        }
    }

    #[test]
    fn integers_beyond_2_pow_53_become_the_double_they_denote() {
        let cases: [(Value, &str); 6] = [
            (json!(9007199254740991u64), "9007199254740991"),
            (json!(9007199254740993u64), "9007199254740992"),
            (json!(9007199254740995u64), "9007199254740996"),
            (json!(-9007199254740993i64), "-9007199254740992"),
            (json!(u64::MAX), "18446744073709552000"),
            (json!(i64::MIN), "-9223372036854776000"),
        ];
        for (value, expected) in cases {
            assert_eq!(text(canonicalize(&value).unwrap()), expected);
            assert_eq!(text(canonicalize_str(&value.to_string()).unwrap()), expected);
        }
        assert_eq!(text(canonicalize_str("295147905179352825856").unwrap()), "295147905179352830000");
    }

    #[test]
    fn exact_halves_take_the_even_digit() {
        // 971022965414512.25 exactly: ECMA-262 Note 2 (as in appendix B's
        // note 4) gives .2 where Rust's shortest formatting gives .3.
        let x = f64::from_bits(0x430b991f3760d382);
        assert_eq!(format!("{x:.2}"), "971022965414512.25");
        assert_eq!(number(x).unwrap(), "971022965414512.2");
    }

    #[test]
    fn negative_zero_is_zero() {
        for json in ["-0", "-0.0", "-0e5", "0.0"] {
            assert_eq!(text(canonicalize_str(json).unwrap()), "0", "{json}");
        }
        assert_eq!(text(canonicalize(&json!(-0.0)).unwrap()), "0");
    }

    #[test]
    fn strings_escape_only_quote_backslash_and_controls() {
        let value = json!("\u{0}\u{1}\u{8}\t\n\u{b}\u{c}\r\u{1f} \u{7f}/\"\\\u{2028}\u{2029}");
        assert_eq!(
            text(canonicalize(&value).unwrap()),
            "\"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \u{7f}/\\\"\\\\\u{2028}\u{2029}\""
        );
        assert_eq!(text(canonicalize_str(r#""\u001F\u001a\/""#).unwrap()), r#""\u001f\u001a/""#);
    }

    #[test]
    fn lone_surrogates_are_refused() {
        for json in [r#""\udead""#, r#""\ud83d""#, r#""\ude00x""#] {
            assert!(matches!(canonicalize_str(json), Err(JcsError::Parse(_))), "{json}");
        }
    }

    #[test]
    fn arrays_keep_their_order_and_nested_objects_are_sorted() {
        let input = r#"[3, [2, [1, {"b": [{"z": 0, "y": 1}], "a": 2}]], [], "c", "a"]"#;
        assert_eq!(text(canonicalize_str(input).unwrap()), r#"[3,[2,[1,{"a":2,"b":[{"y":1,"z":0}]}]],[],"c","a"]"#);
    }

    #[test]
    fn empty_containers() {
        for (json, expected) in [("{}", "{}"), ("[]", "[]"), (r#"{ "b": [ ], "a": { } }"#, r#"{"a":{},"b":[]}"#)] {
            assert_eq!(text(canonicalize_str(json).unwrap()), expected);
        }
    }

    #[test]
    fn chinese_text_stays_literal_utf8() {
        let expected = b"{\"name\":\"\xe9\x8d\xbe\"}".as_slice();
        assert_eq!(canonicalize(&json!({"name": "鍾"})).unwrap(), expected);
        assert_eq!(canonicalize_str(r#"{"name":"\u937e"}"#).unwrap(), expected);

        let record = json!({"证照编号": "44000012345678901", "status": "01", "持证人姓名": "鍾", "surface": []});
        let canonical = canonicalize(&record).unwrap();
        assert_eq!(
            text(canonical.clone()),
            r#"{"status":"01","surface":[],"持证人姓名":"鍾","证照编号":"44000012345678901"}"#
        );
        assert_eq!(canonicalize_str(&text(canonical.clone())).unwrap(), canonical);
    }

    #[test]
    fn duplicate_names_keep_the_last_value() {
        assert_eq!(text(canonicalize_str(r#"{"a":1,"b":0,"a":2}"#).unwrap()), r#"{"a":2,"b":0}"#);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut value = json!([]);
        for _ in 1..MAX_DEPTH {
            value = json!([value]);
        }
        let deepest = canonicalize(&value).unwrap();
        assert_eq!(canonicalize_str(&text(deepest.clone())).unwrap(), deepest);
        assert!(matches!(canonicalize(&json!({ "a": value })), Err(JcsError::TooDeep)));
    }

    #[test]
    fn error_messages_are_lowercase_single_lines() {
        let errors = [canonicalize_str("{").unwrap_err(), JcsError::NonFiniteNumber, JcsError::TooDeep];
        for error in errors {
            let message = error.to_string();
            assert!(message.starts_with(|c: char| c.is_ascii_lowercase()), "{message}");
            assert!(!message.contains('\n'), "{message}");
            assert_eq!(error.reason(), Reason::Internal);
        }
    }

    fn finite_double() -> impl Strategy<Value = f64> {
        any::<u64>().prop_map(f64::from_bits).prop_filter("finite", |x| x.is_finite())
    }

    fn any_text() -> impl Strategy<Value = String> {
        let special = prop_oneof![
            (0u8..0x20).prop_map(char::from),
            Just('"'),
            Just('\\'),
            Just('/'),
            Just('\u{7f}'),
            Just('\u{2028}'),
            Just('\u{fb33}'),
            Just('\u{1f600}'),
            Just('鍾'),
        ];
        vec(prop_oneof![any::<char>(), special], 0..8).prop_map(String::from_iter)
    }

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            finite_double().prop_map(Value::from),
            any_text().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..6).prop_map(Value::Array),
                vec((any_text(), inner), 0..6).prop_map(|members| Value::Object(members.into_iter().collect())),
            ]
        })
    }

    fn next_random(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// JSON text for `value` with every object's members in an order drawn
    /// from `state`, numbers and strings in serde_json's own spelling, and
    /// whitespace between tokens.
    fn shuffled_text(value: &Value, state: &mut u64, out: &mut String) {
        match value {
            Value::Array(items) => {
                out.push_str("[ ");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" ,\n");
                    }
                    shuffled_text(item, state, out);
                }
                out.push_str(" ]");
            }
            Value::Object(members) => {
                let mut members: Vec<_> = members.iter().collect();
                for i in (1..members.len()).rev() {
                    let j = (next_random(state) % (i as u64 + 1)) as usize;
                    members.swap(i, j);
                }
                out.push_str("{\t");
                for (i, (name, member)) in members.into_iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&serde_json::to_string(name).unwrap());
                    out.push_str(" : ");
                    shuffled_text(member, state, out);
                }
                out.push_str("\r\n}");
            }
            leaf => out.push_str(&serde_json::to_string(leaf).unwrap()),
        }
    }

    /// (significant digits, decimal exponent of the first digit) of a
    /// finite, non-zero decimal spelling.
    fn digits_and_exponent(s: &str) -> (String, i32) {
        let s = s.trim_start_matches('-');
        let (mantissa, exponent) = s.split_once('e').map_or((s, 0), |(m, e)| (m, e.parse::<i32>().unwrap()));
        let (int, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all = format!("{int}{fraction}");
        let leading_zeros = all.len() - all.trim_start_matches('0').len();
        (all.trim_matches('0').to_owned(), exponent + int.len() as i32 - 1 - leading_zeros as i32)
    }

    proptest! {
        #[test]
        fn bytes_do_not_depend_on_member_order_or_spelling(value in any_json(), a: u64, b: u64) {
            let expected = canonicalize(&value).unwrap();
            for mut state in [a, b] {
                let mut json = String::new();
                shuffled_text(&value, &mut state, &mut json);
                prop_assert_eq!(&canonicalize_str(&json).unwrap(), &expected, "{}", json);
            }
        }

        #[test]
        fn canonicalizing_is_idempotent(value in any_json()) {
            let canonical = canonicalize(&value).unwrap();
            prop_assert_eq!(canonicalize_str(&text(canonical.clone())).unwrap(), canonical);
        }

        #[test]
        fn numbers_round_trip_with_the_shortest_digits(x in finite_double()) {
            let spelled = number(x).unwrap();
            let back: f64 = spelled.parse().unwrap();
            prop_assert_eq!(back, if x == 0.0 { 0.0 } else { x });
            prop_assert_eq!(spelled.starts_with('-'), x < 0.0);
            if x != 0.0 {
                let (digits, exponent) = digits_and_exponent(&spelled);
                let shortest = digits_and_exponent(&format!("{x:e}"));
                if (digits.clone(), exponent) != shortest {
                    // Both are shortest; they may differ only where x lies
                    // exactly halfway, and ECMA-262 Note 2 takes the even one.
                    let exact = digits_and_exponent(&format!("{x:.1100e}"));
                    prop_assert_eq!(shortest.0.len(), digits.len());
                    prop_assert_eq!(exact.1, exponent);
                    prop_assert_eq!(exact.0.len(), digits.len() + 1);
                    prop_assert!(exact.0.ends_with('5'));
                    prop_assert!(digits.ends_with(['0', '2', '4', '6', '8']));
                }
            }
        }

        #[test]
        fn parsing_rounds_decimals_correctly(
            digits in "[1-9][0-9]{0,24}",
            point in 0usize..25,
            exponent in -340i32..320,
        ) {
            let point = point.min(digits.len());
            let json = format!("{}.{}e{exponent}", &digits[..point], &digits[point..]).replace(".e", ".0e");
            let json = if json.starts_with('.') { format!("0{json}") } else { json };
            let x: f64 = json.parse().unwrap();
            match canonicalize_str(&json) {
                Ok(bytes) => prop_assert_eq!(text(bytes), number(x).unwrap()),
                Err(error) => prop_assert!(x.is_infinite(), "{} {}", json, error),
            }
        }
    }
}
