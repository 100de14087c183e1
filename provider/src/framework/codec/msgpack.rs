//! cty's msgpack encoding (go-cty `cty/msgpack`), read against a type.
//!
//! Decoding never allocates more than the input can justify: every length prefix is
//! checked against the bytes that remain before anything is reserved.

use std::collections::BTreeMap;

use super::type_json::{type_from_json, type_to_json_text};
use super::{DecodeError, EncodeError};
use crate::framework::path::AttributePath;
use crate::framework::value::{Number, Refinements, Type, Value};

/// Extension type of a refined unknown value (payload: a msgpack map of refinements).
const REFINED_UNKNOWN_EXT: i8 = 0x0c;
/// cty rejects refinement payloads above 1 KiB as abusive; so do we.
const MAX_REFINEMENTS_LEN: usize = 1024;
/// The fixext1 cty writes for a wholly unknown value.
const UNKNOWN: [u8; 3] = [0xd4, 0, 0];
/// Nesting limit when skipping values inside refinement payloads.
const MAX_SKIP_DEPTH: usize = 32;
/// Nesting limit of decoded values. Schemas nest a few levels; only values of dynamic type
/// (which carry their own type) can nest further, and a few bytes per level would otherwise
/// let one message exhaust the stack.
const MAX_DEPTH: usize = 512;
/// Most elements reserved ahead of reading them: a length prefix is only a claim, and even a
/// claim backed by the remaining bytes (one byte per element) would reserve a `Value` (tens of
/// bytes) per input byte.
const MAX_PREALLOCATED: usize = 1024;

/// How many elements to reserve for a collection whose prefix claims `claimed` elements when
/// `remaining` bytes are left (each element takes at least one byte).
pub(super) fn initial_capacity(claimed: usize, remaining: usize) -> usize {
    claimed.min(remaining).min(MAX_PREALLOCATED)
}

const NIL: u8 = 0xc0;
const FALSE: u8 = 0xc2;
const TRUE: u8 = 0xc3;

pub(super) fn decode(bytes: &[u8], ty: &Type) -> Result<Value, DecodeError> {
    let mut d = Decoder {
        r: Reader { buf: bytes, pos: 0 },
        path: AttributePath::root(),
        depth: 0,
        fills: super::FillBudget::for_input(bytes.len()),
    };
    // Like cty, trailing bytes after the value are ignored.
    d.value(ty)
}

pub(super) fn encode(value: &Value, ty: &Type) -> (Vec<u8>, Option<EncodeError>) {
    let mut e = Encoder { out: Vec::new(), error: None, path: AttributePath::root() };
    e.value(value, ty);
    (e.out, e.error)
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Result<u8, DecodeError> {
        self.buf.get(self.pos).copied().ok_or(DecodeError::Eof)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Eof);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len_u8(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(self.byte()?))
    }

    fn len_u16(&mut self) -> Result<usize, DecodeError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }

    fn len_u32(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(u32::from_be_bytes(self.be()?))
            .map_err(|_| DecodeError::Invalid("length too large".into()))
    }

    /// Array length, or `None` for nil.
    fn array_len(&mut self) -> Result<Option<usize>, DecodeError> {
        match self.byte()? {
            NIL => Ok(None),
            m @ 0x90..=0x9f => Ok(Some(usize::from(m & 0x0f))),
            0xdc => self.len_u16().map(Some),
            0xdd => self.len_u32().map(Some),
            _ => Err(DecodeError::Invalid("an array is required".into())),
        }
    }

    /// Map length, or `None` for nil.
    fn map_len(&mut self) -> Result<Option<usize>, DecodeError> {
        match self.byte()? {
            NIL => Ok(None),
            m @ 0x80..=0x8f => Ok(Some(usize::from(m & 0x0f))),
            0xde => self.len_u16().map(Some),
            0xdf => self.len_u32().map(Some),
            _ => Err(DecodeError::Invalid("a map is required".into())),
        }
    }

    /// The bytes of a str or bin item (cty's decoder accepts either for strings and for
    /// the type JSON of dynamic values).
    fn str_or_bin(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = match self.byte()? {
            m @ 0xa0..=0xbf => usize::from(m & 0x1f),
            0xd9 | 0xc4 => self.len_u8()?,
            0xda | 0xc5 => self.len_u16()?,
            0xdb | 0xc6 => self.len_u32()?,
            _ => return Err(DecodeError::Invalid("a string is required".into())),
        };
        self.take(n)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let bytes = self.str_or_bin()?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| DecodeError::Invalid("string is not valid UTF-8".into()))
    }

    fn int(&mut self) -> Result<Option<Number>, DecodeError> {
        let m = self.peek()?;
        let n = match m {
            0x00..=0x7f => Number::Int(i64::from(m)),
            0xe0..=0xff => Number::Int(i64::from(m as i8)),
            0xcc => Number::Int(i64::from(self.skip_marker().byte()?)),
            0xcd => Number::Int(i64::from(u16::from_be_bytes(self.skip_marker().be()?))),
            0xce => Number::Int(i64::from(u32::from_be_bytes(self.skip_marker().be()?))),
            0xcf => {
                let u = u64::from_be_bytes(self.skip_marker().be()?);
                i64::try_from(u).map_or(Number::UInt(u), Number::Int)
            }
            0xd0 => Number::Int(i64::from(i8::from_be_bytes(self.skip_marker().be()?))),
            0xd1 => Number::Int(i64::from(i16::from_be_bytes(self.skip_marker().be()?))),
            0xd2 => Number::Int(i64::from(i32::from_be_bytes(self.skip_marker().be()?))),
            0xd3 => Number::Int(i64::from_be_bytes(self.skip_marker().be()?)),
            0xca => float(f64::from(f32::from_be_bytes(self.skip_marker().be()?))),
            0xcb => float(f64::from_be_bytes(self.skip_marker().be()?)),
            _ => return Ok(None),
        };
        if m <= 0x7f || m >= 0xe0 {
            self.pos += 1;
        }
        Ok(Some(n))
    }

    fn skip_marker(&mut self) -> &mut Self {
        self.pos += 1;
        self
    }

    fn is_ext(marker: u8) -> bool {
        matches!(marker, 0xd4..=0xd8 | 0xc7..=0xc9)
    }

    /// An extension item: its type code and payload.
    fn ext(&mut self) -> Result<(i8, &'a [u8]), DecodeError> {
        let n = match self.byte()? {
            0xd4 => 1,
            0xd5 => 2,
            0xd6 => 4,
            0xd7 => 8,
            0xd8 => 16,
            0xc7 => self.len_u8()?,
            0xc8 => self.len_u16()?,
            0xc9 => self.len_u32()?,
            _ => return Err(DecodeError::Invalid("extension code is required for unknown value".into())),
        };
        let code = i8::from_be_bytes([self.byte()?]);
        Ok((code, self.take(n)?))
    }

    /// Skip one item of any kind (used for refinements we do not interpret).
    fn skip(&mut self, depth: usize) -> Result<(), DecodeError> {
        if depth > MAX_SKIP_DEPTH {
            return Err(DecodeError::Invalid("value nested too deeply".into()));
        }
        let m = self.peek()?;
        if Self::is_ext(m) {
            self.ext()?;
            return Ok(());
        }
        if self.int()?.is_some() {
            return Ok(());
        }
        match m {
            NIL | FALSE | TRUE => {
                self.pos += 1;
            }
            0xa0..=0xbf | 0xd9..=0xdb | 0xc4..=0xc6 => {
                self.str_or_bin()?;
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                for _ in 0..self.array_len()?.unwrap_or(0) {
                    self.skip(depth + 1)?;
                }
            }
            0x80..=0x8f | 0xde | 0xdf => {
                for _ in 0..self.map_len()?.unwrap_or(0) {
                    self.skip(depth + 1)?;
                    self.skip(depth + 1)?;
                }
            }
            _ => return Err(DecodeError::Invalid(format!("invalid msgpack marker 0x{m:02x}"))),
        }
        Ok(())
    }
}

/// cty never writes integers as floats, but other encoders might: keep integral values
/// as integers so equal numbers compare equal.
fn float(f: f64) -> Number {
    let n = Number::Float(f);
    n.as_exact_i64().map_or(n, Number::Int)
}

struct Decoder<'a> {
    r: Reader<'a>,
    path: AttributePath,
    /// Values being decoded around the current one (see [`MAX_DEPTH`]).
    depth: usize,
    fills: super::FillBudget,
}

impl Decoder<'_> {
    fn err(&self, message: impl std::fmt::Display) -> DecodeError {
        DecodeError::at(&self.path, message)
    }

    /// Wrap a reader error with the current path (EOF stays EOF).
    fn ctx<T>(&self, r: Result<T, DecodeError>) -> Result<T, DecodeError> {
        r.map_err(|e| match e {
            DecodeError::Eof => DecodeError::Eof,
            DecodeError::Invalid(m) => self.err(m),
        })
    }

    fn value(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.err(format!("value nested more than {MAX_DEPTH} levels deep")));
        }
        self.depth += 1;
        let v = self.value_here(ty);
        self.depth -= 1;
        v
    }

    fn value_here(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let marker = self.r.peek()?;
        if Reader::is_ext(marker) {
            return self.unknown(ty);
        }
        if *ty == Type::Dynamic {
            return self.dynamic();
        }
        if marker == NIL {
            self.r.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::Bool => match self.r.byte()? {
                TRUE => Ok(Value::Bool(true)),
                FALSE => Ok(Value::Bool(false)),
                _ => Err(self.err("bool is required")),
            },
            Type::Number => self.number(),
            Type::String => {
                let s = self.r.string();
                self.ctx(s.map_err(|_| DecodeError::Invalid("string is required".into()))).map(Value::String)
            }
            Type::List(e) => self.sequence(e).map(Value::List),
            Type::Set(e) => self.sequence(e).map(Value::Set),
            Type::Tuple(es) => self.tuple(es),
            Type::Map(e) => self.map(e),
            Type::Object { attributes, .. } => self.object(attributes),
            Type::Dynamic => self.dynamic(),
        }
    }

    fn number(&mut self) -> Result<Value, DecodeError> {
        if let Some(n) = self.r.int()? {
            return Ok(Value::Number(n));
        }
        // Numbers too large or too precise for int/float64 travel as decimal strings.
        let text = self.r.string().map_err(|_| self.err("number is required"))?;
        Number::parse(&text).map(Value::Number).ok_or_else(|| self.err("number is required"))
    }

    fn sequence(&mut self, element: &Type) -> Result<Vec<Value>, DecodeError> {
        let len = self.r.array_len();
        let len = self.ctx(len)?.unwrap_or(0);
        let mut items = Vec::with_capacity(initial_capacity(len, self.r.remaining()));
        for i in 0..len {
            self.path.steps.push(crate::framework::path::Step::Index(i as i64));
            let v = self.value(element);
            self.path.steps.pop();
            items.push(v?);
        }
        Ok(items)
    }

    fn tuple(&mut self, elements: &[Type]) -> Result<Value, DecodeError> {
        let len = self.r.array_len();
        let len = self.ctx(len)?.unwrap_or(0);
        if len != elements.len() {
            return Err(self.err(format!("a tuple of length {} is required", elements.len())));
        }
        let mut items = Vec::with_capacity(len);
        for (i, t) in elements.iter().enumerate() {
            self.path.steps.push(crate::framework::path::Step::Index(i as i64));
            let v = self.value(t);
            self.path.steps.pop();
            items.push(v?);
        }
        Ok(Value::Tuple(items))
    }

    fn map(&mut self, element: &Type) -> Result<Value, DecodeError> {
        let len = self.r.map_len();
        let len = self.ctx(len)?.unwrap_or(0);
        let mut m = BTreeMap::new();
        for _ in 0..len {
            let key = self.r.string().map_err(|_| self.err("non-string key in map"))?;
            self.path.steps.push(crate::framework::path::Step::Key(key.clone()));
            let v = self.value(element);
            self.path.steps.pop();
            m.insert(key, v?);
        }
        Ok(Value::Map(m))
    }

    fn object(&mut self, attributes: &BTreeMap<String, Type>) -> Result<Value, DecodeError> {
        let len = self.r.map_len();
        let len = self.ctx(len)?.unwrap_or(0);
        let mut m = BTreeMap::new();
        for _ in 0..len {
            let key = self.r.string().map_err(|_| self.err("all keys must be strings"))?;
            let Some(t) = attributes.get(&key) else {
                return Err(self.err(format!("unsupported attribute {key:?}")));
            };
            self.path.steps.push(crate::framework::path::Step::Attribute(key.clone()));
            let v = self.value(t);
            self.path.steps.pop();
            m.insert(key, v?);
        }
        for name in attributes.keys() {
            if !m.contains_key(name) {
                self.fills.spend().map_err(|e| self.err(e))?;
                m.insert(name.clone(), Value::Null);
            }
        }
        Ok(Value::Object(m))
    }

    fn dynamic(&mut self) -> Result<Value, DecodeError> {
        let len = self.r.array_len();
        match self.ctx(len)? {
            None => return Ok(Value::Null),
            Some(2) => {}
            Some(_) => return Err(self.err("dynamic value array must have exactly two elements")),
        }
        let type_json = self.r.str_or_bin();
        let type_json = self.ctx(type_json)?;
        let json: serde_json::Value =
            serde_json::from_slice(type_json).map_err(|e| self.err(format!("invalid type JSON: {e}")))?;
        let ty = type_from_json(&json).map_err(|e| self.err(e))?;
        let v = self.value(&ty)?;
        Ok(Value::Dynamic(ty, Box::new(v)))
    }

    fn unknown(&mut self, ty: &Type) -> Result<Value, DecodeError> {
        let ext = self.r.ext();
        let (code, payload) = self.ctx(ext)?;
        // Zero- or one-byte payloads are wholly unknown values whatever the type code.
        if payload.len() <= 1 {
            return Ok(Value::unknown());
        }
        if code != REFINED_UNKNOWN_EXT {
            return Err(
                self.err(format!("unsupported extension type 0x{code:02x} with len {}", payload.len()))
            );
        }
        if payload.len() > MAX_REFINEMENTS_LEN {
            return Err(self.err("oversize unknown value refinement"));
        }
        // Refinements of dynamic values are invalid today; cty ignores them.
        if *ty == Type::Dynamic {
            return Ok(Value::unknown());
        }
        let mut not_null = false;
        let mut r = Reader { buf: payload, pos: 0 };
        let bad = |m: &str| self.err(format!("failed to decode msgpack extension body: {m}"));
        let entries = r.map_len().ok().flatten().ok_or_else(|| bad("not a map"))?;
        for _ in 0..entries {
            let Ok(Some(Number::Int(key))) = r.int() else {
                return Err(bad("non-integer key in map"));
            };
            if key == 1 {
                match r.byte() {
                    // A "definitely null" refinement collapses to a known null, as in cty.
                    Ok(TRUE) => return Ok(Value::Null),
                    Ok(FALSE) => not_null = true,
                    _ => return Err(bad("null refinement is not boolean")),
                }
            } else {
                r.skip(0).map_err(|_| bad("invalid refinement value"))?;
            }
        }
        Ok(Value::Unknown(Refinements { not_null, raw: Some(payload.to_vec()) }))
    }
}

struct Encoder {
    out: Vec<u8>,
    error: Option<EncodeError>,
    path: AttributePath,
}

impl Encoder {
    fn fail(&mut self, message: impl Into<String>) {
        if self.error.is_none() {
            self.error = Some(EncodeError::new(&self.path, message));
        }
        self.out.push(NIL);
    }

    fn value(&mut self, v: &Value, ty: &Type) {
        if *ty == Type::Dynamic {
            return self.dynamic(v);
        }
        match (v, ty) {
            (Value::Dynamic(_, inner), _) => self.value(inner, ty),
            (Value::Unknown(r), _) => self.unknown(r),
            (Value::Null, _) => self.out.push(NIL),
            (Value::Bool(b), Type::Bool) => self.out.push(if *b { TRUE } else { FALSE }),
            (Value::String(s), Type::Bool) if s == "true" || s == "false" => {
                self.out.push(if s == "true" { TRUE } else { FALSE });
            }
            (Value::Number(n), Type::Number) => self.number(n),
            (Value::String(s), Type::Number) => match Number::parse(s) {
                Some(n) => self.number(&n),
                None => self.fail(format!("{s:?} is not a number")),
            },
            (Value::String(s), Type::String) => self.str(s),
            (Value::Number(n), Type::String) => self.str(&n.to_text()),
            (Value::Bool(b), Type::String) => self.str(if *b { "true" } else { "false" }),
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::List(e)) => {
                self.array(items, e)
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Set(e)) => {
                self.array(&dedup_set(items), e);
            }
            (Value::List(items) | Value::Set(items) | Value::Tuple(items), Type::Tuple(es)) => {
                if items.len() != es.len() {
                    return self.fail(format!("a tuple of length {} is required", es.len()));
                }
                self.array_len(items.len());
                for (i, (item, t)) in items.iter().zip(es).enumerate() {
                    self.path.steps.push(crate::framework::path::Step::Index(i as i64));
                    self.value(item, t);
                    self.path.steps.pop();
                }
            }
            (Value::Map(m) | Value::Object(m), Type::Map(e)) => {
                self.map_len(m.len());
                for (k, item) in m {
                    self.str(k);
                    self.path.steps.push(crate::framework::path::Step::Key(k.clone()));
                    self.value(item, e);
                    self.path.steps.pop();
                }
            }
            (Value::Map(m) | Value::Object(m), Type::Object { attributes, .. }) => {
                if let Some(extra) = m.keys().find(|k| !attributes.contains_key(*k)) {
                    return self.fail(format!("unsupported attribute {extra:?}"));
                }
                self.map_len(attributes.len());
                for (k, t) in attributes {
                    self.str(k);
                    self.path.steps.push(crate::framework::path::Step::Attribute(k.clone()));
                    // Attributes a resource left out are null.
                    self.value(m.get(k).unwrap_or(&Value::Null), t);
                    self.path.steps.pop();
                }
            }
            (v, ty) => self.fail(format!("{} given where {} is required", v.kind_name(), ty.friendly_name())),
        }
    }

    fn dynamic(&mut self, v: &Value) {
        match v {
            Value::Null => self.out.push(NIL),
            // cty never refines unknowns of dynamic type.
            Value::Unknown(_) => self.out.extend_from_slice(&UNKNOWN),
            Value::Dynamic(t, inner) if *t != Type::Dynamic => self.typed(t, inner),
            Value::Dynamic(_, inner) => self.dynamic(inner),
            other => match other.implied_type() {
                Some(t) => self.typed(&t, other),
                None => self.fail("the type of this dynamic value cannot be determined"),
            },
        }
    }

    /// `[type JSON as bin, value]`, cty's wrapper for dynamically-typed values.
    fn typed(&mut self, t: &Type, v: &Value) {
        self.array_len(2);
        self.bin(type_to_json_text(t).as_bytes());
        self.value(v, t);
    }

    fn unknown(&mut self, r: &Refinements) {
        match (&r.raw, r.not_null) {
            (Some(raw), _) if raw.len() > 1 => self.ext(REFINED_UNKNOWN_EXT, raw),
            // {1: false}: "definitely not null".
            (_, true) => self.ext(REFINED_UNKNOWN_EXT, &[0x81, 0x01, FALSE]),
            _ => self.out.extend_from_slice(&UNKNOWN),
        }
    }

    fn number(&mut self, n: &Number) {
        match n {
            Number::Int(i) => self.int(*i),
            Number::UInt(u) => match i64::try_from(*u) {
                Ok(i) => self.int(i),
                // cty writes integers beyond int64 as strings.
                Err(_) => self.str(&u.to_string()),
            },
            Number::Float(f) if f.is_nan() => self.fail("NaN is not a number"),
            Number::Float(f) if f.is_infinite() => self.float(*f),
            Number::Float(f) => match n.as_exact_i64() {
                Some(i) => self.int(i),
                None if f.fract() == 0.0 => self.str(&format!("{f:.0}")),
                None => self.float(*f),
            },
            Number::Big(s) => match Number::parse(s) {
                Some(Number::Big(canonical)) => self.str(&canonical),
                Some(other) => self.number(&other),
                None => self.fail(format!("{s:?} is not a number")),
            },
        }
    }

    fn int(&mut self, i: i64) {
        let out = &mut self.out;
        match i {
            0..=0x7f => out.push(i as u8),
            0x80..=0xff => out.extend_from_slice(&[0xcc, i as u8]),
            0x100..=0xffff => {
                out.push(0xcd);
                out.extend_from_slice(&(i as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(0xce);
                out.extend_from_slice(&(i as u32).to_be_bytes());
            }
            0x1_0000_0000.. => {
                out.push(0xcf);
                out.extend_from_slice(&(i as u64).to_be_bytes());
            }
            -32..=-1 => out.push(i as i8 as u8),
            -128..=-33 => out.extend_from_slice(&[0xd0, i as i8 as u8]),
            -32768..=-129 => {
                out.push(0xd1);
                out.extend_from_slice(&(i as i16).to_be_bytes());
            }
            -2_147_483_648..=-32769 => {
                out.push(0xd2);
                out.extend_from_slice(&(i as i32).to_be_bytes());
            }
            _ => {
                out.push(0xd3);
                out.extend_from_slice(&i.to_be_bytes());
            }
        }
    }

    fn float(&mut self, f: f64) {
        self.out.push(0xcb);
        self.out.extend_from_slice(&f.to_be_bytes());
    }

    fn str(&mut self, s: &str) {
        let n = s.len();
        if n < 32 {
            self.out.push(0xa0 | n as u8);
        } else {
            self.len_prefix(n, [0xd9, 0xda, 0xdb]);
        }
        self.out.extend_from_slice(s.as_bytes());
    }

    fn bin(&mut self, b: &[u8]) {
        self.len_prefix(b.len(), [0xc4, 0xc5, 0xc6]);
        self.out.extend_from_slice(b);
    }

    /// An 8/16/32-bit length prefix with the given markers.
    fn len_prefix(&mut self, n: usize, markers: [u8; 3]) {
        if let Ok(n8) = u8::try_from(n) {
            self.out.extend_from_slice(&[markers[0], n8]);
        } else if let Ok(n16) = u16::try_from(n) {
            self.out.push(markers[1]);
            self.out.extend_from_slice(&n16.to_be_bytes());
        } else {
            self.out.push(markers[2]);
            self.out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        }
    }

    fn array_len(&mut self, n: usize) {
        if n < 16 {
            self.out.push(0x90 | n as u8);
        } else {
            self.collection_len(n, 0xdc, 0xdd);
        }
    }

    fn map_len(&mut self, n: usize) {
        if n < 16 {
            self.out.push(0x80 | n as u8);
        } else {
            self.collection_len(n, 0xde, 0xdf);
        }
    }

    fn collection_len(&mut self, n: usize, m16: u8, m32: u8) {
        if let Ok(n16) = u16::try_from(n) {
            self.out.push(m16);
            self.out.extend_from_slice(&n16.to_be_bytes());
        } else {
            self.out.push(m32);
            self.out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
        }
    }

    fn ext(&mut self, code: i8, payload: &[u8]) {
        let fixed = match payload.len() {
            1 => Some(0xd4),
            2 => Some(0xd5),
            4 => Some(0xd6),
            8 => Some(0xd7),
            16 => Some(0xd8),
            _ => None,
        };
        match fixed {
            Some(m) => self.out.push(m),
            None => self.len_prefix(payload.len(), [0xc7, 0xc8, 0xc9]),
        }
        self.out.push(code.to_be_bytes()[0]);
        self.out.extend_from_slice(payload);
    }

    fn array(&mut self, items: &[Value], element: &Type) {
        self.array_len(items.len());
        for (i, item) in items.iter().enumerate() {
            self.path.steps.push(crate::framework::path::Step::Index(i as i64));
            self.value(item, element);
            self.path.steps.pop();
        }
    }
}

/// Sets hold each known value once; unknown elements stay distinct, as in cty.
/// Known elements are bucketed by `semantic_hash`, so large sets decode in linear time.
fn dedup_set(items: &[Value]) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    let mut known: std::collections::HashMap<u64, Vec<usize>> = std::collections::HashMap::new();
    for item in items {
        if !item.is_fully_known() {
            out.push(item.clone());
            continue;
        }
        let bucket = known.entry(item.semantic_hash()).or_default();
        if !bucket.iter().any(|&i| out[i].semantically_equal(item)) {
            bucket.push(out.len());
            out.push(item.clone());
        }
    }
    out
}
