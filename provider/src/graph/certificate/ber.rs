//! The little of BER/DER that PKCS#12 needs: walking TLVs, object identifiers, integers and
//! octet strings. BER rather than strict DER because some exporters (Java keytool, older
//! Windows) write indefinite lengths and constructed octet strings.

use std::borrow::Cow;

/// Universal tags used by PKCS#12 (constructed bit included where the type always has it).
pub const INTEGER: u8 = 0x02;
pub const OCTET_STRING: u8 = 0x04;
#[cfg(test)]
pub const BIT_STRING: u8 = 0x03;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// `[0]` constructed (EXPLICIT context tag 0).
pub const CONTEXT_0: u8 = 0xA0;
/// `[0]` primitive (IMPLICIT OCTET STRING under context tag 0).
pub const CONTEXT_0_PRIMITIVE: u8 = 0x80;

const CONSTRUCTED: u8 = 0x20;
/// Nesting deeper than this is not a certificate bundle; refusing it bounds the recursion.
const MAX_DEPTH: usize = 32;

/// Why the bytes could not be read; the caller adds what it was reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

/// One element: its tag, its content (for indefinite lengths, without the end-of-contents
/// marker) and its whole encoding (header included).
#[derive(Clone, Copy, Debug)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// A reader over the children of a constructed element.
    pub fn children(&self) -> Reader<'a> {
        Reader::new(self.content)
    }

    /// The value of an OCTET STRING, or of an IMPLICIT one under another tag: primitive
    /// content as is, constructed content as the concatenation of its segments.
    pub fn octets(&self) -> Result<Cow<'a, [u8]>, Malformed> {
        if self.tag & CONSTRUCTED == 0 {
            return Ok(Cow::Borrowed(self.content));
        }
        let mut out = Vec::new();
        concat_segments(self.content, &mut out, 0)?;
        Ok(Cow::Owned(out))
    }
}

fn concat_segments(content: &[u8], out: &mut Vec<u8>, depth: usize) -> Result<(), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed("nested too deeply"));
    }
    let mut r = Reader::new(content);
    while !r.is_empty() {
        let seg = r.any()?;
        match seg.tag {
            OCTET_STRING => out.extend_from_slice(seg.content),
            t if t == OCTET_STRING | CONSTRUCTED => concat_segments(seg.content, out, depth + 1)?,
            _ => return Err(Malformed("a constructed OCTET STRING holds something else")),
        }
    }
    Ok(())
}

/// Reads consecutive elements from a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next element, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element, whatever its tag.
    pub fn any(&mut self) -> Result<Tlv<'a>, Malformed> {
        let (tlv, len) = parse(self.rest, 0)?;
        self.rest = &self.rest[len..];
        Ok(tlv)
    }

    /// The next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, Malformed> {
        if self.peek_tag() != Some(tag) {
            return Err(Malformed(what));
        }
        self.any()
    }

    /// The next element if it carries `tag`.
    pub fn optional(&mut self, tag: u8) -> Result<Option<Tlv<'a>>, Malformed> {
        if self.peek_tag() == Some(tag) { self.any().map(Some) } else { Ok(None) }
    }

    /// The children of the next element, a SEQUENCE.
    pub fn sequence(&mut self, what: &'static str) -> Result<Reader<'a>, Malformed> {
        self.expect(SEQUENCE, what).map(|t| t.children())
    }

    /// The next element, an OBJECT IDENTIFIER, in dotted form.
    pub fn oid(&mut self, what: &'static str) -> Result<String, Malformed> {
        decode_oid(self.expect(OID, what)?.content).ok_or(Malformed(what))
    }

    /// The next element, a non-negative INTEGER small enough for a `u64`.
    pub fn small_uint(&mut self, what: &'static str) -> Result<u64, Malformed> {
        let bytes = self.expect(INTEGER, what)?.content;
        let (first, _) = bytes.split_first().ok_or(Malformed(what))?;
        if first & 0x80 != 0 {
            return Err(Malformed(what));
        }
        let digits = bytes.iter().skip_while(|b| **b == 0).collect::<Vec<_>>();
        if digits.len() > 8 {
            return Err(Malformed(what));
        }
        Ok(digits.iter().fold(0u64, |n, b| (n << 8) | u64::from(**b)))
    }
}

/// Parses one element at the start of `bytes`; returns it and the length it occupies.
fn parse(bytes: &[u8], depth: usize) -> Result<(Tlv<'_>, usize), Malformed> {
    if depth > MAX_DEPTH {
        return Err(Malformed("nested too deeply"));
    }
    let (&tag, after_tag) = bytes.split_first().ok_or(Malformed("unexpected end of data"))?;
    if tag & 0x1F == 0x1F {
        return Err(Malformed("multi-byte tags are not used in PKCS#12"));
    }
    let (&first, after_len) = after_tag.split_first().ok_or(Malformed("unexpected end of data"))?;
    let header = 2;
    if first == 0x80 {
        if tag & CONSTRUCTED == 0 {
            return Err(Malformed("indefinite length on a primitive element"));
        }
        // Children until the end-of-contents marker 00 00.
        let mut pos = 0;
        loop {
            let rest = after_len.get(pos..).ok_or(Malformed("unexpected end of data"))?;
            if rest.starts_with(&[0, 0]) {
                let tlv = Tlv { tag, content: &after_len[..pos], raw: &bytes[..header + pos + 2] };
                return Ok((tlv, header + pos + 2));
            }
            let (_, len) = parse(rest, depth + 1)?;
            pos += len;
        }
    }
    let (len, len_bytes) = if first & 0x80 == 0 {
        (usize::from(first), 0)
    } else {
        let n = usize::from(first & 0x7F);
        if n > 4 {
            return Err(Malformed("length too large"));
        }
        let digits = after_len.get(..n).ok_or(Malformed("unexpected end of data"))?;
        (digits.iter().fold(0usize, |l, b| (l << 8) | usize::from(*b)), n)
    };
    let start = header + len_bytes;
    let end = start.checked_add(len).ok_or(Malformed("length too large"))?;
    let content = bytes.get(start..end).ok_or(Malformed("length runs past the end of the data"))?;
    Ok((Tlv { tag, content, raw: &bytes[..end] }, end))
}

fn decode_oid(bytes: &[u8]) -> Option<String> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut acc: u64 = 0;
    for (i, b) in bytes.iter().enumerate() {
        if acc > (u64::MAX >> 7) {
            return None;
        }
        acc = (acc << 7) | u64::from(b & 0x7F);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (acc / 40).min(2);
                arcs.push(first);
                arcs.push(acc - first * 40);
            } else {
                arcs.push(acc);
            }
            acc = 0;
        } else if i + 1 == bytes.len() {
            return None;
        }
    }
    if arcs.is_empty() {
        return None;
    }
    Some(arcs.iter().map(u64::to_string).collect::<Vec<_>>().join("."))
}

/// DER encoding of one element (for re-encoding a private key without its attributes).
pub fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let digits: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
        out.push(0x80 | digits.len() as u8);
        out.extend_from_slice(&digits);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite_lengths_and_constructed_octet_strings() {
        // SEQUENCE (indefinite) { OCTET STRING (constructed, indefinite) { "ab", "c" }, INTEGER 300 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x01, b'c', 0x00, 0x00, 0x02, 0x02, 0x01,
            0x2C, 0x00, 0x00,
        ];
        let mut r = Reader::new(&ber);
        let seq = r.any().unwrap();
        assert!(r.is_empty());
        assert_eq!(seq.raw.len(), ber.len());
        let mut c = seq.children();
        assert_eq!(&*c.any().unwrap().octets().unwrap(), b"abc");
        assert_eq!(c.small_uint("n").unwrap(), 300);
        assert!(c.is_empty());

        // Long-form definite length.
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        let t = Reader::new(&long).any().unwrap();
        assert_eq!(t.content.len(), 0x80);
        assert_eq!(encode(0x04, t.content), long);
    }

    #[test]
    fn object_identifiers_decode_to_dotted_form() {
        // 1.2.840.113549.1.12.10.1.2 (pkcs8ShroudedKeyBag)
        let der = [0x06, 0x0B, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x0C, 0x0A, 0x01, 0x02];
        assert_eq!(Reader::new(&der).oid("oid").unwrap(), "1.2.840.113549.1.12.10.1.2");
        // 2.16.840.1.101.3.4.1.42 (aes256-CBC)
        let der = [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x01, 0x2A];
        assert_eq!(Reader::new(&der).oid("oid").unwrap(), "2.16.840.1.101.3.4.1.42");
    }

    #[test]
    fn truncated_and_hostile_input_is_refused() {
        let cases: &[&[u8]] = &[
            &[],
            &[0x30],
            &[0x30, 0x05, 0x02, 0x01],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x04, 0x80, 0x00, 0x00],
            &[0x30, 0x80, 0x02, 0x01, 0x01],
            &[0x1F, 0x01, 0x00],
        ];
        for bytes in cases {
            assert!(Reader::new(bytes).any().is_err(), "{bytes:02x?}");
        }
        // Deep nesting of indefinite lengths stops at the depth limit instead of overflowing.
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep.extend([0x30, 0x80]);
        }
        assert!(Reader::new(&deep).any().is_err());
        assert!(Reader::new(&[0x02, 0x01, 0x80]).small_uint("n").is_err());
        assert!(Reader::new(&[0x02, 0x00]).small_uint("n").is_err());
    }
}
