//! Bencode (BEP 3): a borrowing decoder that keeps the exact bytes of every container, and an
//! owned value type that encodes canonically (dictionary keys sorted).
//!
//! The exact-bytes span is what makes info-hashes right: the info-hash is the SHA-1 of the
//! `info` dictionary exactly as it appears in the file, whatever its key order or integer style.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// Deepest nesting of lists and dictionaries the decoder accepts.
pub const MAX_DEPTH: usize = 32;

/// A decoded bencode value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// `i<n>e`.
    Integer(i64),
    /// `<len>:<bytes>`.
    Bytes(&'a [u8]),
    /// `l...e`.
    List(List<'a>),
    /// `d...e`.
    Dict(Dict<'a>),
}

/// A decoded list with the exact bytes it was decoded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List<'a> {
    items: Vec<Value<'a>>,
    raw: &'a [u8],
}

/// A decoded dictionary with the exact bytes it was decoded from.
///
/// Entries keep input order; keys are unique (duplicates are a decode error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dict<'a> {
    entries: Vec<(&'a [u8], Value<'a>)>,
    raw: &'a [u8],
}

impl<'a> List<'a> {
    /// The items in order.
    pub fn items(&self) -> &[Value<'a>] {
        &self.items
    }

    /// The exact input bytes of this list, `l` to `e` inclusive.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }
}

impl<'a> Dict<'a> {
    /// The value stored under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Option<&Value<'a>> {
        self.entries
            .iter()
            .find(|(candidate, _)| *candidate == key)
            .map(|(_, value)| value)
    }

    /// All entries in input order.
    pub fn entries(&self) -> &[(&'a [u8], Value<'a>)] {
        &self.entries
    }

    /// The exact input bytes of this dictionary, `d` to `e` inclusive.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The integer under `key`, or `None` when the key is absent.
    pub fn integer(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Value::Integer(number)) => Some(*number),
            _ => None,
        }
    }

    /// The byte string under `key`, or `None` when the key is absent or not a string.
    pub fn bytes(&self, key: &[u8]) -> Option<&'a [u8]> {
        match self.get(key) {
            Some(Value::Bytes(bytes)) => Some(bytes),
            _ => None,
        }
    }

    /// The dictionary under `key`, or `None` when absent or not a dictionary.
    pub fn dict(&self, key: &[u8]) -> Option<&Dict<'a>> {
        match self.get(key) {
            Some(Value::Dict(dict)) => Some(dict),
            _ => None,
        }
    }

    /// The list under `key`, or `None` when absent or not a list.
    pub fn list(&self, key: &[u8]) -> Option<&List<'a>> {
        match self.get(key) {
            Some(Value::List(list)) => Some(list),
            _ => None,
        }
    }
}

impl<'a> Value<'a> {
    /// Converts to an owned value (dictionary keys sorted, duplicates impossible).
    pub fn to_owned_value(&self) -> OwnedValue {
        match self {
            Value::Integer(number) => OwnedValue::Integer(*number),
            Value::Bytes(bytes) => OwnedValue::Bytes(bytes.to_vec()),
            Value::List(list) => {
                OwnedValue::List(list.items.iter().map(Value::to_owned_value).collect())
            }
            Value::Dict(dict) => OwnedValue::Dict(
                dict.entries
                    .iter()
                    .map(|(key, value)| (key.to_vec(), value.to_owned_value()))
                    .collect(),
            ),
        }
    }

    /// The dictionary inside, if this is one.
    pub fn as_dict(&self) -> Option<&Dict<'a>> {
        match self {
            Value::Dict(dict) => Some(dict),
            _ => None,
        }
    }
}

/// Decodes exactly one value that spans all of `input`.
///
/// # Errors
/// Any malformed input, nesting deeper than [`MAX_DEPTH`], or trailing bytes.
pub fn decode(input: &[u8]) -> Result<Value<'_>> {
    let (value, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(Error::BencodeTrailingBytes {
            extra: input.len() - used,
        });
    }
    Ok(value)
}

/// Decodes one value at the start of `input` and returns it with the number of bytes it used.
///
/// `ut_metadata` data messages need this: the raw metadata piece follows the dictionary.
///
/// # Errors
/// Any malformed input or nesting deeper than [`MAX_DEPTH`].
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize)> {
    let mut parser = Parser { input, pos: 0 };
    let value = parser.value(0)?;
    Ok((value, parser.pos))
}

/// A cursor over the input. Every length is checked against the remaining input before use,
/// so nothing is ever allocated beyond what the input itself could hold.
struct Parser<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8> {
        self.input
            .get(self.pos)
            .copied()
            .ok_or(Error::BencodeEof { offset: self.pos })
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>> {
        let start = self.pos;
        match self.peek()? {
            b'i' => self.integer().map(Value::Integer),
            b'0'..=b'9' => self.bytes().map(Value::Bytes),
            b'l' => {
                self.enter(depth)?;
                let mut items = Vec::new();
                while self.peek()? != b'e' {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Value::List(List {
                    items,
                    raw: &self.input[start..self.pos],
                }))
            }
            b'd' => {
                self.enter(depth)?;
                let mut entries: Vec<(&'a [u8], Value<'a>)> = Vec::new();
                while self.peek()? != b'e' {
                    let key_offset = self.pos;
                    let key = self.bytes()?;
                    if entries.iter().any(|(existing, _)| *existing == key) {
                        return Err(Error::BencodeDuplicateKey { offset: key_offset });
                    }
                    let value = self.value(depth + 1)?;
                    entries.push((key, value));
                }
                self.pos += 1;
                Ok(Value::Dict(Dict {
                    entries,
                    raw: &self.input[start..self.pos],
                }))
            }
            byte => Err(Error::BencodeUnexpectedByte {
                byte,
                offset: self.pos,
            }),
        }
    }

    fn enter(&mut self, depth: usize) -> Result<()> {
        if depth >= MAX_DEPTH {
            return Err(Error::BencodeTooDeep {
                max: MAX_DEPTH,
                offset: self.pos,
            });
        }
        self.pos += 1;
        Ok(())
    }

    fn integer(&mut self) -> Result<i64> {
        let start = self.pos;
        let invalid = Error::BencodeInvalidInteger { offset: start };
        let rest = &self.input[start + 1..];
        let end = rest
            .iter()
            .position(|&byte| byte == b'e')
            .ok_or(Error::BencodeEof {
                offset: self.input.len(),
            })?;
        let digits = &rest[..end];
        let (negative, magnitude) = match digits.split_first() {
            Some((b'-', magnitude)) => (true, magnitude),
            _ => (false, digits),
        };
        let leading_zero = magnitude.len() > 1 && magnitude[0] == b'0';
        let negative_zero = negative && magnitude == b"0";
        let digits_only = !magnitude.is_empty() && magnitude.iter().all(u8::is_ascii_digit);
        if !digits_only || leading_zero || negative_zero {
            return Err(invalid);
        }
        let mut number: i64 = 0;
        for &digit in magnitude {
            let digit = i64::from(digit - b'0');
            number = number
                .checked_mul(10)
                .and_then(|n| {
                    if negative {
                        n.checked_sub(digit)
                    } else {
                        n.checked_add(digit)
                    }
                })
                .ok_or(invalid.clone())?;
        }
        self.pos = start + 1 + end + 1;
        Ok(number)
    }

    fn bytes(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let invalid = Error::BencodeInvalidLength { offset: start };
        let rest = &self.input[start..];
        let colon = rest
            .iter()
            .take(21)
            .position(|&byte| byte == b':')
            .ok_or_else(|| {
                if rest.len() <= 20 && rest.iter().all(u8::is_ascii_digit) {
                    Error::BencodeEof {
                        offset: self.input.len(),
                    }
                } else {
                    invalid.clone()
                }
            })?;
        let digits = &rest[..colon];
        if digits.is_empty()
            || !digits.iter().all(u8::is_ascii_digit)
            || (digits.len() > 1 && digits[0] == b'0')
        {
            return Err(invalid);
        }
        let length = digits.iter().try_fold(0usize, |length, &digit| {
            length
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(digit - b'0')))
        });
        let body_start = start + colon + 1;
        let body_end = length
            .and_then(|length| body_start.checked_add(length))
            .ok_or(invalid)?;
        if body_end > self.input.len() {
            return Err(Error::BencodeEof {
                offset: self.input.len(),
            });
        }
        self.pos = body_end;
        Ok(&self.input[body_start..body_end])
    }
}

/// An owned bencode value, used to build messages and files. Encodes canonically: dictionary
/// keys come out in ascending byte order, as BEP 3 requires and WebTorrent produces.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum OwnedValue {
    /// `i<n>e`.
    Integer(i64),
    /// `<len>:<bytes>`.
    Bytes(Vec<u8>),
    /// `l...e`.
    List(Vec<OwnedValue>),
    /// `d...e`, keys sorted.
    Dict(BTreeMap<Vec<u8>, OwnedValue>),
}

impl OwnedValue {
    /// A byte-string value from anything byte-like.
    pub fn bytes(bytes: impl AsRef<[u8]>) -> Self {
        OwnedValue::Bytes(bytes.as_ref().to_vec())
    }

    /// Encodes into a new vector.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            OwnedValue::Integer(number) => write_integer(out, *number),
            OwnedValue::Bytes(bytes) => write_bytes(out, bytes),
            OwnedValue::List(items) => {
                out.push(b'l');
                for item in items {
                    item.encode_into(out);
                }
                out.push(b'e');
            }
            OwnedValue::Dict(entries) => {
                out.push(b'd');
                for (key, value) in entries {
                    write_bytes(out, key);
                    value.encode_into(out);
                }
                out.push(b'e');
            }
        }
    }
}

/// Appends `i<number>e`.
pub fn write_integer(out: &mut Vec<u8>, number: i64) {
    out.push(b'i');
    out.extend_from_slice(number.to_string().as_bytes());
    out.push(b'e');
}

/// Appends `<len>:<bytes>`.
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

/// Builds a dictionary from `(key, value)` pairs; later keys replace earlier equal ones.
pub fn dict<K: AsRef<[u8]>>(entries: impl IntoIterator<Item = (K, OwnedValue)>) -> OwnedValue {
    OwnedValue::Dict(
        entries
            .into_iter()
            .map(|(key, value)| (key.as_ref().to_vec(), value))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_every_kind_and_keeps_spans() {
        let input = b"d3:cow3:moo4:infod1:ai-12e1:bl1:xi0eee4:spami7ee";
        let value = decode(input).expect("valid");
        let dict = value.as_dict().expect("dict");
        assert_eq!(dict.bytes(b"cow"), Some(&b"moo"[..]));
        assert_eq!(dict.integer(b"spam"), Some(7));
        let info = dict.dict(b"info").expect("info");
        assert_eq!(info.raw(), b"d1:ai-12e1:bl1:xi0eee");
        assert_eq!(info.integer(b"a"), Some(-12));
        assert_eq!(dict.raw(), input);
    }

    #[test]
    fn rejects_malformed_integers_and_lengths() {
        for bad in [
            &b"i-0e"[..],
            b"i03e",
            b"ie",
            b"i-e",
            b"i9223372036854775808e",
            b"01:a",
            b"5:abc",
            b"x",
            b"d1:ai1e1:ai2ee",
            b"i1ei2e",
        ] {
            assert!(decode(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(
            decode(b"i-9223372036854775808e"),
            Ok(Value::Integer(i64::MIN))
        );
    }

    #[test]
    fn depth_is_bounded() {
        let deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert!(matches!(decode(&deep), Err(Error::BencodeTooDeep { .. })));
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(decode(&ok).is_ok());
    }

    #[test]
    fn owned_values_encode_sorted() {
        let value = dict([("b", OwnedValue::Integer(1)), ("a", OwnedValue::bytes("x"))]);
        assert_eq!(value.encode(), b"d1:a1:x1:bi1ee");
    }
}
