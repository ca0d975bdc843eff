//! serde on both sides of the model: [`from_view`] deserializes a program's own types straight
//! from any [`View`] (a zero-copy archive included, no [`Value`] built on the way), and
//! [`to_value`] serializes them into a [`Value`] any codec writes.
//!
//! Nothing is rounded: a float keeps its bits (`NaN` and the infinities included), integers
//! keep the whole `i64` and `u64` ranges, and an integer field refuses a float. Enums follow
//! serde's external tagging, as serde_json does (`"Unit"`, `{"Variant": value}`). Errors say
//! where, as a JSON pointer (`/faces/3/bbox/0: expected f64, found a string`).

use std::fmt;

use ::serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use ::serde::ser::{self, Serialize};

use crate::value::{ArrayRef, Map, ObjectRef, Value, View};

/// Why a value did not deserialize into a type, or a type did not serialize into a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Where, as a JSON pointer into the document (`""` for the root).
    pub pointer: String,
    /// What is wrong.
    pub message: String,
}

impl Error {
    fn under(mut self, token: &str) -> Error {
        let escaped = token.replace('~', "~0").replace('/', "~1");
        self.pointer = format!("/{escaped}{}", self.pointer);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        Error {
            pointer: String::new(),
            message: message.to_string(),
        }
    }
}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(message: T) -> Error {
        de::Error::custom(message)
    }
}

/// Deserializes a `T` from a view of a document.
///
/// ```
/// use sidecar_model::{serde::from_view, Value};
///
/// #[derive(serde::Deserialize, Debug, PartialEq)]
/// struct Face { confidence: f64 }
///
/// let mut map = sidecar_model::Map::new();
/// map.push("confidence".into(), Value::Float(f64::NAN));
/// let face: Face = from_view(Value::Object(map).view()).unwrap();
/// assert!(face.confidence.is_nan());
/// ```
pub fn from_view<T: de::DeserializeOwned>(view: View<'_>) -> Result<T, Error> {
    T::deserialize(ViewDeserializer(view))
}

/// Serializes `value` into the model.
///
/// ```
/// use sidecar_model::{serde::to_value, Value};
///
/// #[derive(serde::Serialize)]
/// struct Face { confidence: f64 }
///
/// let value = to_value(&Face { confidence: -0.0 }).unwrap();
/// let confidence = value.view().get("confidence").unwrap().as_f64().unwrap();
/// assert_eq!(confidence.to_bits(), (-0.0f64).to_bits());
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, Error> {
    value.serialize(ValueSerializer)
}

/// A [`View`] as a serde `Deserializer`.
#[derive(Clone, Copy)]
pub struct ViewDeserializer<'a>(pub View<'a>);

impl ViewDeserializer<'_> {
    fn unexpected(&self) -> de::Unexpected<'_> {
        match self.0 {
            View::Null => de::Unexpected::Unit,
            View::Bool(b) => de::Unexpected::Bool(b),
            View::Int(i) => de::Unexpected::Signed(i),
            View::UInt(u) => de::Unexpected::Unsigned(u),
            View::Float(f) => de::Unexpected::Float(f),
            View::Str(s) => de::Unexpected::Str(s),
            View::Array(_) => de::Unexpected::Seq,
            View::Object(_) => de::Unexpected::Map,
        }
    }
}

impl<'de> de::Deserializer<'de> for ViewDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            View::Null => visitor.visit_unit(),
            View::Bool(b) => visitor.visit_bool(b),
            View::Int(i) => visitor.visit_i64(i),
            View::UInt(u) => visitor.visit_u64(u),
            View::Float(f) => visitor.visit_f64(f),
            View::Str(s) => visitor.visit_str(s),
            View::Array(items) => visitor.visit_seq(Items { items, next: 0 }),
            View::Object(entries) => visitor.visit_map(Entries {
                entries,
                next: 0,
                value: None,
            }),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            View::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.0 {
            View::Str(s) => visitor.visit_enum(s.into_deserializer()),
            View::Object(entries) if entries.len() == 1 => {
                let (variant, value) = entries.entry(0).expect("one entry");
                visitor
                    .visit_enum(Variant { variant, value })
                    .map_err(|e| e.under(variant))
            }
            _ => Err(de::Error::invalid_type(
                self.unexpected(),
                &"a variant name or an object of one entry",
            )),
        }
    }

    ::serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier
        ignored_any
    }
}

struct Items<'a> {
    items: ArrayRef<'a>,
    next: usize,
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let Some(item) = self.items.at(self.next) else {
            return Ok(None);
        };
        let index = self.next;
        self.next += 1;
        seed.deserialize(ViewDeserializer(item))
            .map(Some)
            .map_err(|e| e.under(&index.to_string()))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len() - self.next)
    }
}

struct Entries<'a> {
    entries: ObjectRef<'a>,
    next: usize,
    /// The key and value of the entry whose key was just read.
    value: Option<(&'a str, View<'a>)>,
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        let Some((key, value)) = self.entries.entry(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        self.value = Some((key, value));
        seed.deserialize(key.into_deserializer())
            .map(Some)
            .map_err(|e: Error| e.under(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let (key, value) = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a value asked for before its key"))?;
        seed.deserialize(ViewDeserializer(value))
            .map_err(|e| e.under(key))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len() - self.next)
    }
}

struct Variant<'a> {
    variant: &'a str,
    value: View<'a>,
}

impl<'de, 'a> de::EnumAccess<'de> for Variant<'a> {
    type Error = Error;
    type Variant = ViewDeserializer<'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, ViewDeserializer<'a>), Error> {
        let variant = seed.deserialize(self.variant.into_deserializer())?;
        Ok((variant, ViewDeserializer(self.value)))
    }
}

impl<'de> de::VariantAccess<'de> for ViewDeserializer<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        match self.0 {
            View::Null => Ok(()),
            _ => Err(de::Error::invalid_type(self.unexpected(), &"null")),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Error> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        de::Deserializer::deserialize_map(self, visitor)
    }
}

/// Serializes into a [`Value`].
struct ValueSerializer;

fn unsupported(what: &str) -> Error {
    de::Error::custom(format!("{what} has no place in a sidecar value"))
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = Tagged<SeqBuilder>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = Tagged<MapBuilder>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::Int(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        if let Ok(i) = i64::try_from(v) {
            Ok(Value::Int(i))
        } else if let Ok(u) = u64::try_from(v) {
            Ok(Value::from_u64(u))
        } else {
            Err(de::Error::custom(format!(
                "{v} is outside the integers a sidecar holds (i64 and u64)"
            )))
        }
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from_u64(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        u64::try_from(v).map(Value::from_u64).map_err(|_| {
            de::Error::custom(format!(
                "{v} is outside the integers a sidecar holds (i64 and u64)"
            ))
        })
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        Ok(Value::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(v.to_owned()))
    }
    /// Bytes as an array of numbers, as serde_json writes them.
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(Value::Array(
            v.iter().map(|&b| Value::Int(b.into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let inner = value
            .serialize(ValueSerializer)
            .map_err(|e| e.under(variant))?;
        let mut map = Map::with_capacity(1);
        map.push(variant.to_owned(), inner);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, Error> {
        Ok(SeqBuilder(Vec::with_capacity(len.unwrap_or(0).min(4096))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqBuilder, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<SeqBuilder>, Error> {
        Ok(Tagged {
            variant,
            inner: self.serialize_seq(Some(len))?,
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, Error> {
        Ok(MapBuilder {
            map: Map::with_capacity(len.unwrap_or(0).min(4096)),
            key: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Tagged<MapBuilder>, Error> {
        Ok(Tagged {
            variant,
            inner: self.serialize_map(Some(len))?,
        })
    }
}

/// An array being serialized.
#[doc(hidden)]
pub struct SeqBuilder(Vec<Value>);

impl SeqBuilder {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let index = self.0.len();
        let item = value
            .serialize(ValueSerializer)
            .map_err(|e| e.under(&index.to_string()))?;
        self.0.push(item);
        Ok(())
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Array(self.0))
    }
}

/// An object being serialized.
#[doc(hidden)]
pub struct MapBuilder {
    map: Map,
    key: Option<String>,
}

impl MapBuilder {
    fn entry<T: Serialize + ?Sized>(&mut self, key: String, value: &T) -> Result<(), Error> {
        let item = value
            .serialize(ValueSerializer)
            .map_err(|e| e.under(&key))?;
        self.map.push(key, item);
        Ok(())
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = self
            .key
            .take()
            .ok_or_else(|| de::Error::custom("a map value serialized before its key"))?;
        self.entry(key, value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.entry(key.to_owned(), value)
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Value::Object(self.map))
    }
}

/// A variant's content, wrapped as `{"Variant": content}` when done.
#[doc(hidden)]
pub struct Tagged<B> {
    variant: &'static str,
    inner: B,
}

impl<B> Tagged<B> {
    fn wrap(variant: &'static str, inner: Value) -> Value {
        let mut map = Map::with_capacity(1);
        map.push(variant.to_owned(), inner);
        Value::Object(map)
    }
}

impl ser::SerializeTupleVariant for Tagged<SeqBuilder> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let variant = self.variant;
        self.inner.push(value).map_err(|e| e.under(variant))
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Self::wrap(self.variant, Value::Array(self.inner.0)))
    }
}

impl ser::SerializeStructVariant for Tagged<MapBuilder> {
    type Ok = Value;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let variant = self.variant;
        self.inner
            .entry(key.to_owned(), value)
            .map_err(|e| e.under(variant))
    }
    fn end(self) -> Result<Value, Error> {
        Ok(Self::wrap(self.variant, Value::Object(self.inner.map)))
    }
}

/// Object keys: strings, and numbers, booleans and chars written as text (as serde_json
/// writes map keys).
struct KeySerializer;

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = ser::Impossible<String, Error>;
    type SerializeTuple = ser::Impossible<String, Error>;
    type SerializeTupleStruct = ser::Impossible<String, Error>;
    type SerializeTupleVariant = ser::Impossible<String, Error>;
    type SerializeMap = ser::Impossible<String, Error>;
    type SerializeStruct = ser::Impossible<String, Error>;
    type SerializeStructVariant = ser::Impossible<String, Error>;

    fn serialize_bool(self, v: bool) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, _v: f32) -> Result<String, Error> {
        Err(unsupported("a float object key"))
    }
    fn serialize_f64(self, _v: f64) -> Result<String, Error> {
        Err(unsupported("a float object key"))
    }
    fn serialize_char(self, v: char) -> Result<String, Error> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, Error> {
        Ok(v.to_owned())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, Error> {
        Err(unsupported("a bytes object key"))
    }
    fn serialize_none(self) -> Result<String, Error> {
        Err(unsupported("a null object key"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, Error> {
        Err(unsupported("a null object key"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, Error> {
        Err(unsupported("a null object key"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String, Error> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, Error> {
        Err(unsupported("an enum object key with content"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(unsupported("an array object key"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("an array object key"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("an array object key"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("an array object key"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(unsupported("an object object key"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(unsupported("an object object key"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("an object object key"))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use ::serde::{Deserialize, Serialize};

    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    enum Kind {
        Face,
        Box { x: f64 },
        Pair(i64, u64),
        Named(String),
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct Detection {
        confidence: f32,
        big: u64,
        small: i64,
        kinds: Vec<Kind>,
        note: Option<String>,
        extra: BTreeMap<String, bool>,
    }

    #[test]
    fn a_type_comes_back_through_the_model() {
        let detection = Detection {
            confidence: 0.1,
            big: u64::MAX,
            small: i64::MIN,
            kinds: vec![
                Kind::Face,
                Kind::Box { x: -0.0 },
                Kind::Pair(-1, u64::MAX),
                Kind::Named("é".into()),
            ],
            note: None,
            extra: [("a".to_owned(), true)].into(),
        };
        let value = to_value(&detection).unwrap();
        let back: Detection = from_view(value.view()).unwrap();
        assert_eq!(back, detection);
        let Kind::Box { x } = back.kinds[1] else {
            panic!("the second kind is a box")
        };
        assert_eq!(x.to_bits(), (-0.0f64).to_bits());
    }

    #[test]
    fn float_bits_survive() {
        for bits in [
            f64::NAN.to_bits(),
            0x7ff8_0000_0000_0001,
            1,
            f64::INFINITY.to_bits(),
        ] {
            let value = to_value(&f64::from_bits(bits)).unwrap();
            let back: f64 = from_view(value.view()).unwrap();
            assert_eq!(back.to_bits(), bits);
        }
    }

    #[test]
    fn errors_say_where() {
        let value =
            to_value(&serde_json::json!({"kinds": ["Face", {"Box": {"x": "wide"}}]})).unwrap();
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Only {
            kinds: Vec<Kind>,
        }
        let error = from_view::<Only>(value.view()).unwrap_err();
        assert_eq!(error.pointer, "/kinds/1/Box/x");
        assert!(error.message.contains("expected f64"), "{error}");
    }

    #[test]
    fn an_integer_field_refuses_a_float_and_an_out_of_range_integer() {
        assert!(from_view::<i64>(Value::Float(1.0).view()).is_err());
        assert!(from_view::<u8>(Value::Int(300).view()).is_err());
        assert!(to_value(&(i128::MAX)).is_err());
        assert_eq!(
            to_value(&(u64::MAX as i128)).unwrap(),
            Value::UInt(u64::MAX)
        );
    }
}
