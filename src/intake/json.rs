//! A strict JSON reader (RFC 8259) for the header and the claims.
//!
//! General-purpose parsers keep the last of two members with the same name
//! and accept any nesting their stack allows. The profile refuses both, so
//! intake reads JSON itself: the reader rejects duplicate member names at
//! every depth (names are compared after unescaping, so `"a"` and
//! `"\u0061"` collide) and refuses a seventeenth level of nesting the moment
//! it opens. It never recurses: open containers live on an explicit stack
//! that can hold at most [`MAX_JSON_DEPTH`] frames, so no input — however
//! deep it tries to go — costs more than that.
//!
//! Numbers keep only what the profile needs: whether the literal is a plain
//! integer (no fraction, no exponent) that fits an `i64`.

use super::MAX_JSON_DEPTH;
use std::collections::BTreeMap;

/// A JSON value as the reader produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    /// `Some` for an integer literal (`-?(0|[1-9][0-9]*)`) within `i64`;
    /// `None` for fractions, exponents and integers out of range.
    Number(Option<i64>),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// The members of an object; names are unique by construction.
pub(crate) type Object = BTreeMap<String, Json>;

/// Why a text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonError {
    /// Not JSON at all: bad token, bad escape, trailing text, …
    Syntax,
    /// Two members of one object have the same name.
    DuplicateName,
    /// More than [`MAX_JSON_DEPTH`] nested objects and arrays.
    TooDeep,
    /// Valid JSON, but the top-level value is not an object.
    NotAnObject,
}

/// Reads `text` as one JSON object, refusing duplicates and deep nesting.
pub(crate) fn read_object(text: &str) -> Result<Object, JsonError> {
    let mut reader = Reader { bytes: text.as_bytes(), pos: 0 };
    match reader.read_document()? {
        Json::Object(members) => Ok(members),
        _ => Err(JsonError::NotAnObject),
    }
}

/// An open container: its members so far and, for objects, the name
/// waiting for its value.
enum Frame {
    Array(Vec<Json>),
    Object(Object, String),
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn read_document(&mut self) -> Result<Json, JsonError> {
        let mut stack: Vec<Frame> = Vec::with_capacity(MAX_JSON_DEPTH);
        'value: loop {
            self.skip_ws();
            // Read one value; containers are opened and the loop restarts
            // for their first element.
            let mut done = match self.next_byte()? {
                b'{' => {
                    push(&mut stack, Frame::Object(Object::new(), String::new()))?;
                    self.skip_ws();
                    if self.eat(b'}') {
                        pop(&mut stack)?
                    } else {
                        let name = self.read_member_name()?;
                        set_pending_name(&mut stack, name)?;
                        continue 'value;
                    }
                }
                b'[' => {
                    push(&mut stack, Frame::Array(Vec::new()))?;
                    self.skip_ws();
                    if self.eat(b']') {
                        pop(&mut stack)?
                    } else {
                        continue 'value;
                    }
                }
                b'"' => Json::String(self.read_string_body()?),
                b't' => self.read_literal(b"rue", Json::Bool(true))?,
                b'f' => self.read_literal(b"alse", Json::Bool(false))?,
                b'n' => self.read_literal(b"ull", Json::Null)?,
                b @ (b'-' | b'0'..=b'9') => self.read_number(b)?,
                _ => return Err(JsonError::Syntax),
            };
            // Attach the finished value to its container; close containers
            // as long as their closing bracket follows.
            loop {
                self.skip_ws();
                match stack.last_mut() {
                    None => {
                        return if self.pos == self.bytes.len() { Ok(done) } else { Err(JsonError::Syntax) };
                    }
                    Some(Frame::Array(items)) => {
                        items.push(done);
                        match self.next_byte()? {
                            b',' => continue 'value,
                            b']' => done = pop(&mut stack)?,
                            _ => return Err(JsonError::Syntax),
                        }
                    }
                    Some(Frame::Object(members, name)) => {
                        members.insert(std::mem::take(name), done);
                        match self.next_byte()? {
                            b',' => {
                                self.skip_ws();
                                let name = self.read_member_name()?;
                                set_pending_name(&mut stack, name)?;
                                continue 'value;
                            }
                            b'}' => done = pop(&mut stack)?,
                            _ => return Err(JsonError::Syntax),
                        }
                    }
                }
            }
        }
    }

    /// `"name" ws ':'`.
    fn read_member_name(&mut self) -> Result<String, JsonError> {
        if !self.eat(b'"') {
            return Err(JsonError::Syntax);
        }
        let name = self.read_string_body()?;
        self.skip_ws();
        if !self.eat(b':') {
            return Err(JsonError::Syntax);
        }
        Ok(name)
    }

    /// The rest of a string after its opening quote, unescaped.
    fn read_string_body(&mut self) -> Result<String, JsonError> {
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(&b) = self.bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // The input is a `str` and the run stops only at ASCII bytes,
            // so the run is whole UTF-8.
            out.push_str(std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|_| JsonError::Syntax)?);
            match self.next_byte()? {
                b'"' => return Ok(out),
                b'\\' => out.push(self.read_escape()?),
                _ => return Err(JsonError::Syntax),
            }
        }
    }

    fn read_escape(&mut self) -> Result<char, JsonError> {
        Ok(match self.next_byte()? {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let first = self.read_hex4()?;
                let code = match first {
                    0xD800..=0xDBFF => {
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(JsonError::Syntax);
                        }
                        let second = self.read_hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&second) {
                            return Err(JsonError::Syntax);
                        }
                        0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(JsonError::Syntax),
                    _ => first,
                };
                char::from_u32(code).ok_or(JsonError::Syntax)?
            }
            _ => return Err(JsonError::Syntax),
        })
    }

    fn read_hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = char::from(self.next_byte()?).to_digit(16).ok_or(JsonError::Syntax)?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn read_literal(&mut self, rest: &[u8], value: Json) -> Result<Json, JsonError> {
        if self.bytes[self.pos..].starts_with(rest) {
            self.pos += rest.len();
            Ok(value)
        } else {
            Err(JsonError::Syntax)
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; `first` is consumed.
    fn read_number(&mut self, first: u8) -> Result<Json, JsonError> {
        let start = self.pos - 1;
        let lead = if first == b'-' { self.next_byte()? } else { first };
        match lead {
            b'0' => {}
            b'1'..=b'9' => self.skip_digits(),
            _ => return Err(JsonError::Syntax),
        }
        let int_end = self.pos;
        let mut integral = true;
        if self.eat(b'.') {
            integral = false;
            self.require_digits()?;
        }
        if self.eat(b'e') || self.eat(b'E') {
            integral = false;
            let _ = self.eat(b'+') || self.eat(b'-');
            self.require_digits()?;
        }
        let value = if integral {
            std::str::from_utf8(&self.bytes[start..int_end]).ok().and_then(|s| s.parse::<i64>().ok())
        } else {
            None
        };
        Ok(Json::Number(value))
    }

    fn require_digits(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        self.skip_digits();
        if self.pos == start { Err(JsonError::Syntax) } else { Ok(()) }
    }

    fn skip_digits(&mut self) {
        while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
            self.pos += 1;
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.bytes.get(self.pos), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn next_byte(&mut self) -> Result<u8, JsonError> {
        let b = *self.bytes.get(self.pos).ok_or(JsonError::Syntax)?;
        self.pos += 1;
        Ok(b)
    }
}

fn push(stack: &mut Vec<Frame>, frame: Frame) -> Result<(), JsonError> {
    if stack.len() == MAX_JSON_DEPTH {
        return Err(JsonError::TooDeep);
    }
    stack.push(frame);
    Ok(())
}

/// Closes the innermost container and returns it as a value.
fn pop(stack: &mut Vec<Frame>) -> Result<Json, JsonError> {
    match stack.pop() {
        Some(Frame::Array(items)) => Ok(Json::Array(items)),
        Some(Frame::Object(members, _)) => Ok(Json::Object(members)),
        None => Err(JsonError::Syntax),
    }
}

/// Records the name whose value comes next in the innermost object,
/// refusing one the object already has.
fn set_pending_name(stack: &mut [Frame], name: String) -> Result<(), JsonError> {
    match stack.last_mut() {
        Some(Frame::Object(members, pending)) => {
            if members.contains_key(&name) {
                return Err(JsonError::DuplicateName);
            }
            *pending = name;
            Ok(())
        }
        _ => Err(JsonError::Syntax),
    }
}
