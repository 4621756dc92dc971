//! A tiny JSON subset for the chat protocol: flat objects whose values are
//! strings or integers. Parsing handles the escapes `\" \\ \/ \b \f \n \r
//! \t \uXXXX` (with surrogate pairs); writing escapes what JSON requires.

use std::collections::HashMap;
use std::fmt::Write as _;

/// A value of a flat object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
}

/// Parses a flat JSON object: `{"key": "text" | 123, ...}`.
pub fn parse_object(text: &str) -> Result<HashMap<String, Value>, String> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut object = HashMap::new();
    parser.skip_ws();
    parser.expect(b'{')?;
    parser.skip_ws();
    if parser.peek() == Some(b'}') {
        parser.pos += 1;
    } else {
        loop {
            parser.skip_ws();
            let key = parser.string()?;
            parser.skip_ws();
            parser.expect(b':')?;
            parser.skip_ws();
            let value = match parser.peek() {
                Some(b'"') => Value::Str(parser.string()?),
                Some(b'-' | b'0'..=b'9') => Value::Int(parser.integer()?),
                _ => return Err(format!("expected a string or an integer at {}", parser.pos)),
            };
            object.insert(key, value);
            parser.skip_ws();
            match parser.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(format!("expected ',' or '}}' at {}", parser.pos)),
            }
        }
    }
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err("trailing characters after the object".into());
    }
    Ok(object)
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        match self.next() {
            Some(b) if b == byte => Ok(()),
            _ => Err(format!("expected '{}' at {}", byte as char, self.pos)),
        }
    }

    fn integer(&mut self) -> Result<i64, String> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        std::str::from_utf8(&self.bytes[start..self.pos])
            .ok()
            .and_then(|digits| digits.parse().ok())
            .ok_or_else(|| format!("bad integer at {start}"))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| format!("bad \\u escape at {}", self.pos))?;
        self.pos += 4;
        Ok(digits)
    }

    fn string(&mut self) -> Result<String, String> {
        self.expect(b'"')?;
        let mut out = Vec::new();
        loop {
            match self.next() {
                None => return Err("unterminated string".into()),
                Some(b'"') => break,
                Some(b'\\') => {
                    let c = match self.next() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let first = self.hex4()?;
                            let code = if (0xd800..0xdc00).contains(&first) {
                                if self.next() != Some(b'\\') || self.next() != Some(b'u') {
                                    return Err("lone surrogate".into());
                                }
                                let second = self.hex4()?;
                                if !(0xdc00..0xe000).contains(&second) {
                                    return Err("lone surrogate".into());
                                }
                                0x10000 + ((first - 0xd800) << 10) + (second - 0xdc00)
                            } else {
                                first
                            };
                            char::from_u32(code).ok_or("invalid \\u escape")?
                        }
                        _ => return Err(format!("bad escape at {}", self.pos)),
                    };
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(byte) if byte < 0x20 => return Err("control character in a string".into()),
                Some(byte) => out.push(byte),
            }
        }
        String::from_utf8(out).map_err(|_| "invalid UTF-8".into())
    }
}

/// Writes a flat object in the order given.
pub fn write_object(fields: &[(&str, Value)]) -> String {
    let mut out = String::from("{");
    for (i, (key, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(&mut out, key);
        out.push(':');
        match value {
            Value::Str(text) => write_string(&mut out, text),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
        }
    }
    out.push('}');
    out
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_escapes() {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{7} é 😀";
        let written = write_object(&[("text", Value::Str(text.into())), ("id", Value::Int(-7))]);
        let parsed = parse_object(&written).unwrap();
        assert_eq!(parsed["text"], Value::Str(text.into()));
        assert_eq!(parsed["id"], Value::Int(-7));
    }

    #[test]
    fn unicode_escapes_and_errors() {
        let parsed = parse_object(r#" { "a" : "\u00e9\ud83d\ude00\/" , "n": 42 } "#).unwrap();
        assert_eq!(parsed["a"], Value::Str("é😀/".into()));
        assert_eq!(parsed["n"], Value::Int(42));
        assert!(parse_object("{}").unwrap().is_empty());
        for bad in [
            "",
            "{",
            r#"{"a"}"#,
            r#"{"a":true}"#,
            r#"{"a":"\ud83d"}"#,
            r#"{"a":1} x"#,
            "[1]",
        ] {
            assert!(parse_object(bad).is_err(), "{bad}");
        }
    }
}
