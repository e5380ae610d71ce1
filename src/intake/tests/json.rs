//! The strict JSON reader, directly and against serde_json.

use crate::intake::MAX_JSON_DEPTH;
use crate::intake::json::{Json, JsonError, read_object};
use proptest::prelude::*;
use serde_json::Value;

#[test]
fn accepts_and_refuses() {
    use JsonError::*;
    let cases: &[(&str, Result<(), JsonError>)] = &[
        (r#"{}"#, Ok(())),
        (" \t\r\n{ \"a\" : [ 1 , -0.5e+3 , true , false , null , \"x\" , { } , [ ] ] }\n", Ok(())),
        (r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"}"#, Ok(())),
        (r#"{"a":1,"b":{"a":1}}"#, Ok(())),
        (r#"{"a":1,"a":1}"#, Err(DuplicateName)),
        (r#"{"a":1,"\u0061":2}"#, Err(DuplicateName)),
        (r#"{"é":1,"\u00e9":2}"#, Err(DuplicateName)),
        (r#"{"a":[{"x":1,"y":2,"x":3}]}"#, Err(DuplicateName)),
        (r#"[]"#, Err(NotAnObject)),
        (r#""a""#, Err(NotAnObject)),
        (r#"1"#, Err(NotAnObject)),
        (r#""#, Err(Syntax)),
        (r#"{"a":1,}"#, Err(Syntax)),
        (r#"{"a":[1,]}"#, Err(Syntax)),
        (r#"{"a" 1}"#, Err(Syntax)),
        (r#"{a:1}"#, Err(Syntax)),
        (r#"{'a':1}"#, Err(Syntax)),
        (r#"{"a":1}{}"#, Err(Syntax)),
        (r#"{"a":1} x"#, Err(Syntax)),
        (r#"{"a":01}"#, Err(Syntax)),
        (r#"{"a":1.}"#, Err(Syntax)),
        (r#"{"a":.5}"#, Err(Syntax)),
        (r#"{"a":+1}"#, Err(Syntax)),
        (r#"{"a":1e}"#, Err(Syntax)),
        (r#"{"a":-}"#, Err(Syntax)),
        (r#"{"a":NaN}"#, Err(Syntax)),
        (r#"{"a":tru}"#, Err(Syntax)),
        (r#"{"a":nul"#, Err(Syntax)),
        (r#"{"a":"\x"}"#, Err(Syntax)),
        (r#"{"a":"\u12"}"#, Err(Syntax)),
        (r#"{"a":"\ud800"}"#, Err(Syntax)),
        (r#"{"a":"\udc00"}"#, Err(Syntax)),
        (r#"{"a":"\ud800\u0041"}"#, Err(Syntax)),
        ("{\"a\":\"tab\there\"}", Err(Syntax)),
        ("{\"a\":\"nul\0\"}", Err(Syntax)),
        (r#"{"a":"unterminated}"#, Err(Syntax)),
        (r#"{"a":1 /* c */}"#, Err(Syntax)),
        ("\u{feff}{}", Err(Syntax)),
        ("{\"a\":1}\u{0}", Err(Syntax)),
        ("{\u{a0}}", Err(Syntax)),
        (r#"{"a":[}"#, Err(Syntax)),
        (r#"{"a":{]}"#, Err(Syntax)),
        (r#"{"a":1]"#, Err(Syntax)),
    ];
    for (text, expected) in cases {
        assert_eq!(read_object(text).map(drop), *expected, "input: {text:?}");
    }
}

#[test]
fn values_as_read() {
    let o =
        read_object(r#"{"i":-42,"z":-0,"f":1.0,"e":1e3,"big":9223372036854775808,"s":"\u00e9\ud83d\ude00"}"#).unwrap();
    assert_eq!(o["i"], Json::Number(Some(-42)));
    assert_eq!(o["z"], Json::Number(Some(0)));
    assert_eq!(o["f"], Json::Number(None));
    assert_eq!(o["e"], Json::Number(None));
    assert_eq!(o["big"], Json::Number(None));
    assert_eq!(o["s"], Json::String("é😀".into()));
    let max = read_object(r#"{"m":9223372036854775807,"n":-9223372036854775808}"#).unwrap();
    assert_eq!((&max["m"], &max["n"]), (&Json::Number(Some(i64::MAX)), &Json::Number(Some(i64::MIN))));
}

/// `n` nested containers in total, the outermost an object.
fn nested(n: usize, open: &str, close: &str) -> String {
    format!(r#"{{"x":{}1{}}}"#, open.repeat(n - 1), close.repeat(n - 1))
}

#[test]
fn depth_limit() {
    assert_eq!(MAX_JSON_DEPTH, 16);
    for (open, close) in [("[", "]"), (r#"{"a":"#, "}")] {
        assert!(read_object(&nested(16, open, close)).is_ok());
        assert_eq!(read_object(&nested(17, open, close)), Err(JsonError::TooDeep));
    }
    // Depth is nesting, not count: many shallow containers are fine.
    assert!(read_object(&format!(r#"{{"x":[{}1]}}"#, "[1],".repeat(2000))).is_ok());
}

#[test]
fn deep_input_does_not_exhaust_the_stack() {
    for unit in ["[", r#"{"a":"#, "[{\"a\":"] {
        let text = format!(r#"{{"x":{}"#, unit.repeat(100_000));
        assert_eq!(read_object(&text), Err(JsonError::TooDeep), "unit {unit}");
    }
    assert_eq!(read_object(&"[".repeat(100_000)), Err(JsonError::TooDeep));
}

fn convert(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => Json::Number(n.as_i64()),
        Value::String(s) => Json::String(s.clone()),
        Value::Array(a) => Json::Array(a.iter().map(convert).collect()),
        Value::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), convert(v))).collect()),
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(20, 200, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-c\\\\\"é\u{1}]{0,3}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever serde_json writes (names unique), the reader reads back the
    /// same tree, unless it nests too deep.
    #[test]
    fn reads_what_serde_json_writes(v in any_value(), pretty in any::<bool>()) {
        let doc = Value::Object([("v".to_owned(), v)].into_iter().collect());
        let text = if pretty { serde_json::to_string_pretty(&doc).unwrap() } else { doc.to_string() };
        let got = read_object(&text);
        if depth(&doc) <= MAX_JSON_DEPTH {
            prop_assert_eq!(got.map(Json::Object), Ok(convert(&doc)));
        } else {
            prop_assert_eq!(got, Err(JsonError::TooDeep));
        }
    }

    /// The reader never accepts what serde_json refuses.
    #[test]
    fn accepts_nothing_serde_json_refuses(text in r#"[{}\[\]",:\\ a-e0-9.+\-tuln]{0,40}"#) {
        if read_object(&text).is_ok() {
            prop_assert!(serde_json::from_str::<Value>(&text).is_ok(), "accepted {:?}", text);
        }
    }

    #[test]
    fn never_panics_on_text(text in any::<String>()) {
        let _ = read_object(&text);
    }

    #[test]
    fn parse_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = crate::intake::parse(&bytes);
        let _ = crate::intake::parse_claims(&bytes);
    }
}
