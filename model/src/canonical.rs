//! The canonical encoding of the value model: one tagged value, written and read with bincode
//! 2's standard configuration (little endian, variable-length integers). It is the payload of
//! the Binary format and the form in which values cross the plugin boundary; the layout is
//! specified in `docs/formats.md` and never changes within a major version.
//!
//! ```text
//! value   := tag:u8 body
//! tag 0   null            tag 1 false          tag 2 true
//! tag 3   int     i64 (zigzag varint)
//! tag 4   uint    u64 varint, only above i64::MAX
//! tag 5   float   f64, 8 bytes
//! tag 6   string  len:varint, UTF-8 bytes
//! tag 7   array   count:varint, value × count
//! tag 8   object  count:varint, (key:string body, value) × count
//! tag 9   f32s    count:varint, f32 × count (4 bytes each)
//! tag 10  f64s    count:varint, f64 × count (8 bytes each)
//! ```
//!
//! Decoding never trusts a length: strings and packed arrays are taken only when their bytes
//! are present, and arrays grow as their elements actually decode. It fills a [`Tape`], on
//! which packed arrays stay as their bytes until read.

use crate::error::{CodecError, Location};
use crate::tape::{with_tape, NodeId, Tape};
use crate::value::{exact_in_f32, Value, View};
use crate::MAX_DEPTH;
use bincode::config::{self, Config};
use bincode::de::read::{BorrowReader, Reader};
use bincode::de::{BorrowDecode, DecoderImpl};
use bincode::enc::write::Writer;
use bincode::enc::{Encode, EncoderImpl};
use bincode::error::{DecodeError, EncodeError};

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const INT: u8 = 3;
const UINT: u8 = 4;
const FLOAT: u8 = 5;
const STRING: u8 = 6;
const ARRAY: u8 = 7;
const OBJECT: u8 = 8;
const F32S: u8 = 9;
const F64S: u8 = 10;

fn config() -> impl Config {
    config::standard()
}

struct Out<'a>(&'a mut Vec<u8>);

impl Writer for Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends the canonical encoding of a document to `out`, from any representation.
pub fn encode(view: View<'_>, out: &mut Vec<u8>) {
    let mut encoder = EncoderImpl::new(Out(out), config());
    write_view(view, &mut encoder).expect("writing to a Vec cannot fail");
}

fn write_view<E: bincode::enc::Encoder>(view: View<'_>, e: &mut E) -> Result<(), EncodeError> {
    match view {
        View::Null => NULL.encode(e),
        View::Bool(false) => FALSE.encode(e),
        View::Bool(true) => TRUE.encode(e),
        View::Int(i) => {
            INT.encode(e)?;
            i.encode(e)
        }
        View::UInt(u) => {
            UINT.encode(e)?;
            u.encode(e)
        }
        View::Float(x) => {
            FLOAT.encode(e)?;
            x.encode(e)
        }
        View::Str(s) => {
            STRING.encode(e)?;
            s.encode(e)
        }
        View::Array(items) => match items.floats() {
            Some(xs) => {
                if xs.iter().all(|x| exact_in_f32(*x)) {
                    F32S.encode(e)?;
                    (xs.len() as u64).encode(e)?;
                    write_packed(e, &xs, |x| (x as f32).to_le_bytes())
                } else {
                    F64S.encode(e)?;
                    (xs.len() as u64).encode(e)?;
                    write_packed(e, &xs, f64::to_le_bytes)
                }
            }
            None => {
                ARRAY.encode(e)?;
                (items.len() as u64).encode(e)?;
                items.iter().try_for_each(|item| write_view(item, e))
            }
        },
        View::Object(map) => {
            OBJECT.encode(e)?;
            (map.len() as u64).encode(e)?;
            for (key, item) in map.iter() {
                key.encode(e)?;
                write_view(item, e)?;
            }
            Ok(())
        }
    }
}

/// Writes floats as `W` little-endian bytes each (what bincode writes for one), a block at a
/// time.
fn write_packed<E: bincode::enc::Encoder, const W: usize>(
    e: &mut E,
    xs: &[f64],
    bytes: impl Fn(f64) -> [u8; W],
) -> Result<(), EncodeError> {
    let mut block = [0u8; 512];
    for chunk in xs.chunks(block.len() / W) {
        for (slot, x) in block.chunks_exact_mut(W).zip(chunk) {
            slot.copy_from_slice(&bytes(*x));
        }
        e.writer().write(&block[..chunk.len() * W])?;
    }
    Ok(())
}

/// A slice reader that knows how far it has read, so errors can name a byte offset.
struct Tracked<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader for Tracked<'_> {
    fn read(&mut self, out: &mut [u8]) -> Result<(), DecodeError> {
        let src = self.take_bytes(out.len())?;
        out.copy_from_slice(src);
        Ok(())
    }

    fn peek_read(&mut self, n: usize) -> Option<&[u8]> {
        self.bytes.get(self.pos..self.pos.checked_add(n)?)
    }

    fn consume(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.bytes.len());
    }
}

impl<'a> BorrowReader<'a> for Tracked<'a> {
    fn take_bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let remaining = self.bytes.len() - self.pos;
        if n > remaining {
            return Err(DecodeError::UnexpectedEnd {
                additional: n - remaining,
            });
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }
}

type Decoder<'a> = DecoderImpl<Tracked<'a>, config::Configuration, ()>;

/// Decodes a canonical encoding into an owned value; `base` is its offset in the file, for
/// error locations.
pub fn decode(payload: &[u8], base: u64) -> Result<Value, CodecError> {
    with_tape(|tape| {
        read(payload, base, tape)?;
        Ok(tape.view(payload).to_value())
    })
}

/// Reads a canonical encoding into `tape`, whose ranges then point into `payload`.
pub fn read(payload: &[u8], base: u64, tape: &mut Tape) -> Result<(), CodecError> {
    let mut d: Decoder<'_> = DecoderImpl::new(
        Tracked {
            bytes: payload,
            pos: 0,
        },
        config::standard(),
        (),
    );
    let result = read_node(&mut d, tape, MAX_DEPTH);
    let pos = d_pos(&mut d);
    let at = |pos: usize| Some(Location::Offset(base + pos as u64));
    match result {
        Ok(root) if pos == payload.len() => {
            tape.finish(root);
            Ok(())
        }
        Ok(_) => Err(CodecError::malformed(
            format!("{} unexpected bytes after the value", payload.len() - pos),
            at(pos),
        )),
        Err(DecodeFailure::Bincode(DecodeError::UnexpectedEnd { .. })) => Err(
            CodecError::malformed("payload ends in the middle of a value", at(pos)),
        ),
        Err(DecodeFailure::Bincode(error)) => Err(CodecError::malformed(
            format!("invalid Binary payload: {error}"),
            at(pos),
        )),
        Err(DecodeFailure::Invalid(message)) => Err(CodecError::malformed(message, at(pos))),
        Err(DecodeFailure::Codec(error)) => Err(error),
    }
}

fn d_pos(d: &mut Decoder<'_>) -> usize {
    use bincode::de::BorrowDecoder;
    d.borrow_reader().pos
}

enum DecodeFailure {
    Bincode(DecodeError),
    Invalid(String),
    Codec(CodecError),
}

impl From<DecodeError> for DecodeFailure {
    fn from(error: DecodeError) -> DecodeFailure {
        DecodeFailure::Bincode(error)
    }
}

impl From<crate::tape::TapeFull> for DecodeFailure {
    fn from(error: crate::tape::TapeFull) -> DecodeFailure {
        DecodeFailure::Codec(error.into())
    }
}

impl From<CodecError> for DecodeFailure {
    fn from(error: CodecError) -> DecodeFailure {
        DecodeFailure::Codec(error)
    }
}

fn read_node(d: &mut Decoder<'_>, tape: &mut Tape, depth: usize) -> Result<NodeId, DecodeFailure> {
    let tag = u8::borrow_decode(d)?;
    Ok(match tag {
        NULL => tape.null()?,
        FALSE => tape.bool(false)?,
        TRUE => tape.bool(true)?,
        INT => tape.int(i64::borrow_decode(d)?)?,
        UINT => {
            let u = u64::borrow_decode(d)?;
            if i64::try_from(u).is_ok() {
                return Err(DecodeFailure::Invalid(format!(
                    "unsigned integer {u} should have been stored as a signed one"
                )));
            }
            tape.uint(u)?
        }
        FLOAT => tape.float(f64::borrow_decode(d)?)?,
        STRING => {
            let s = read_str(d)?;
            tape.string(s)?
        }
        ARRAY => {
            let depth = deeper(depth)?;
            let count = read_len(d)?;
            let frame = tape.begin_array()?;
            for _ in 0..count {
                let item = read_node(d, tape, depth)?;
                tape.item(item);
            }
            tape.end_array(frame)?
        }
        OBJECT => {
            let depth = deeper(depth)?;
            let count = read_len(d)?;
            let frame = tape.begin_object()?;
            for _ in 0..count {
                let key = read_str(d)?;
                tape.key(key)?;
                let value = read_node(d, tape, depth)?;
                tape.value_of_key(value);
            }
            tape.end_object(frame)?
        }
        F32S | F64S => {
            deeper(depth)?;
            let width = if tag == F32S { 4 } else { 8 };
            let count = read_len(d)?;
            if count == 0 {
                return Err(DecodeFailure::Invalid("empty packed float array".into()));
            }
            let len = count.checked_mul(width).ok_or_else(|| {
                DecodeFailure::Invalid(format!("packed array of {count} floats is too large"))
            })?;
            let start = d_pos(d);
            take(d, len)?;
            tape.packed(start, count, width)?
        }
        other => return Err(DecodeFailure::Invalid(format!("unknown value tag {other}"))),
    })
}

fn deeper(depth: usize) -> Result<usize, DecodeFailure> {
    depth
        .checked_sub(1)
        .ok_or_else(|| DecodeFailure::Invalid(format!("nesting deeper than {MAX_DEPTH} levels")))
}

fn read_len(d: &mut Decoder<'_>) -> Result<usize, DecodeFailure> {
    let len = u64::borrow_decode(d)?;
    usize::try_from(len).map_err(|_| DecodeFailure::Invalid(format!("length {len} is too large")))
}

fn take<'a>(d: &mut Decoder<'a>, len: usize) -> Result<&'a [u8], DecodeFailure> {
    use bincode::de::BorrowDecoder;
    Ok(d.borrow_reader().take_bytes(len)?)
}

fn read_str<'a>(d: &mut Decoder<'a>) -> Result<&'a str, DecodeFailure> {
    let len = read_len(d)?;
    let bytes = take(d, len)?;
    std::str::from_utf8(bytes)
        .map_err(|e| DecodeFailure::Invalid(format!("string is not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(value: &Value) -> Value {
        let mut out = Vec::new();
        encode(value.view(), &mut out);
        decode(&out, 0).unwrap()
    }

    #[test]
    fn packed_arrays_round_trip_bit_exact() {
        let embedding: Vec<Value> = (0..512)
            .map(|i| Value::Float(f64::from((i as f32) * 0.123_f32)))
            .collect();
        let mixed = vec![
            Value::Float(0.1),
            Value::Float(f64::NAN),
            Value::Float(-0.0),
        ];
        for items in [embedding, mixed] {
            let value = Value::Array(items);
            assert_eq!(round_trip(&value), value);
        }
    }

    #[test]
    fn f32_packing_is_used_for_float32_values() {
        let items: Vec<Value> = (0..100)
            .map(|i| Value::Float(f64::from(i as f32 / 3.0)))
            .collect();
        let mut out = Vec::new();
        encode(Value::Array(items).view(), &mut out);
        assert_eq!(out[0], F32S);
        assert!(out.len() < 100 * 4 + 8);
    }

    #[test]
    fn a_huge_declared_count_does_not_allocate() {
        // tag ARRAY, count 2^62 as a bincode varint (0xFD = u64 follows).
        let mut bytes = vec![ARRAY, 0xFD];
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        let err = decode(&bytes, 32).unwrap_err();
        assert!(err.message.contains("ends in the middle"), "{err}");
        let mut bytes = vec![STRING, 0xFD];
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(decode(&bytes, 32).is_err());
        let mut bytes = vec![F32S, 0xFD];
        bytes.extend_from_slice(&(1u64 << 62).to_le_bytes());
        assert!(decode(&bytes, 32).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let bytes: Vec<u8> = std::iter::repeat_n([ARRAY, 1], 100_000).flatten().collect();
        let err = decode(&bytes, 0).unwrap_err();
        assert!(err.message.contains("nesting"), "{err}");
    }

    #[test]
    fn errors_carry_the_file_offset() {
        let err = decode(&[STRING, 5, b'a'], 32).unwrap_err();
        assert_eq!(err.location, Some(Location::Offset(34)));
        let err = decode(&[42], 32).unwrap_err();
        assert!(err.message.contains("unknown value tag 42"), "{err}");
    }
}
