//! The archived tree: what an Rkyv file's payload holds, and the [`View`] over it.
//!
//! Containers are wrapped in local newtypes so that their archived forms can implement the
//! model's access traits.

use rkyv::{Archive, Serialize};
use sidecar_model::value::{exact_in_f32, ArrayRef, ArraySource, ObjectRef, ObjectSource};
use sidecar_model::View;

#[derive(Archive, Serialize)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    <__C as rkyv::rancor::Fallible>::Error: rkyv::rancor::Source,
)))]
pub enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Array(#[rkyv(omit_bounds)] Items),
    Object(#[rkyv(omit_bounds)] Members),
    F32s(Floats32),
    F64s(Floats64),
}

#[derive(Archive, Serialize)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    <__C as rkyv::rancor::Fallible>::Error: rkyv::rancor::Source,
)))]
pub struct Items(#[rkyv(omit_bounds)] Vec<Node>);

#[derive(Archive, Serialize)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    <__C as rkyv::rancor::Fallible>::Error: rkyv::rancor::Source,
)))]
pub struct Members(#[rkyv(omit_bounds)] Vec<Member>);

#[derive(Archive, Serialize)]
#[rkyv(serialize_bounds(
    __S: rkyv::ser::Writer + rkyv::ser::Allocator,
    __S::Error: rkyv::rancor::Source,
))]
#[rkyv(bytecheck(bounds(
    __C: rkyv::validation::ArchiveContext,
    <__C as rkyv::rancor::Fallible>::Error: rkyv::rancor::Source,
)))]
pub struct Member {
    key: String,
    #[rkyv(omit_bounds)]
    value: Node,
}

#[derive(Archive, Serialize)]
pub struct Floats32(Vec<f32>);

#[derive(Archive, Serialize)]
pub struct Floats64(Vec<f64>);

impl Node {
    pub fn from_view(view: View<'_>) -> Node {
        match view {
            View::Null => Node::Null,
            View::Bool(b) => Node::Bool(b),
            View::Int(i) => Node::Int(i),
            View::UInt(u) => Node::UInt(u),
            View::Float(x) => Node::Float(x),
            View::Str(s) => Node::Str(s.to_owned()),
            View::Array(items) => match items.floats() {
                Some(xs) if xs.iter().all(|x| exact_in_f32(*x)) => {
                    Node::F32s(Floats32(xs.into_iter().map(|x| x as f32).collect()))
                }
                Some(xs) => Node::F64s(Floats64(xs)),
                None => Node::Array(Items(items.iter().map(Node::from_view).collect())),
            },
            View::Object(map) => Node::Object(Members(
                map.iter()
                    .map(|(key, value)| Member {
                        key: key.to_owned(),
                        value: Node::from_view(value),
                    })
                    .collect(),
            )),
        }
    }
}

impl ArchivedNode {
    pub fn view(&self) -> View<'_> {
        match self {
            ArchivedNode::Null => View::Null,
            ArchivedNode::Bool(b) => View::Bool(*b),
            ArchivedNode::Int(i) => View::Int(i.to_native()),
            ArchivedNode::UInt(u) => {
                // Writers store only values above i64::MAX here; keep the model's invariant
                // even for archives that did otherwise.
                let u = u.to_native();
                i64::try_from(u).map_or(View::UInt(u), View::Int)
            }
            ArchivedNode::Float(x) => View::Float(x.to_native()),
            ArchivedNode::Str(s) => View::Str(s.as_str()),
            ArchivedNode::Array(items) => View::Array(ArrayRef::new(items, 0)),
            ArchivedNode::Object(members) => View::Object(ObjectRef::new(members, 0)),
            ArchivedNode::F32s(xs) => View::Array(ArrayRef::new(xs, 0)),
            ArchivedNode::F64s(xs) => View::Array(ArrayRef::new(xs, 0)),
        }
    }
}

impl ArraySource for ArchivedItems {
    fn len(&self, _: usize) -> usize {
        self.0.len()
    }
    fn at(&self, _: usize, index: usize) -> Option<View<'_>> {
        self.0.get(index).map(ArchivedNode::view)
    }
}

impl ObjectSource for ArchivedMembers {
    fn len(&self, _: usize) -> usize {
        self.0.len()
    }
    fn entry(&self, _: usize, index: usize) -> Option<(&str, View<'_>)> {
        self.0.get(index).map(|m| (m.key.as_str(), m.value.view()))
    }
    fn find(&self, _: usize, key: &str) -> Option<View<'_>> {
        self.0
            .iter()
            .find(|m| m.key.as_str() == key)
            .map(|m| m.value.view())
    }
}

impl ArraySource for ArchivedFloats32 {
    fn len(&self, _: usize) -> usize {
        self.0.len()
    }
    fn all_floats(&self, _: usize) -> bool {
        !self.0.is_empty()
    }
    fn at(&self, _: usize, index: usize) -> Option<View<'_>> {
        self.0
            .get(index)
            .map(|x| View::Float(f64::from(x.to_native())))
    }
    fn floats(&self, _: usize, out: &mut Vec<f64>) -> bool {
        out.extend(self.0.iter().map(|x| f64::from(x.to_native())));
        true
    }
}

impl ArraySource for ArchivedFloats64 {
    fn len(&self, _: usize) -> usize {
        self.0.len()
    }
    fn all_floats(&self, _: usize) -> bool {
        !self.0.is_empty()
    }
    fn at(&self, _: usize, index: usize) -> Option<View<'_>> {
        self.0.get(index).map(|x| View::Float(x.to_native()))
    }
    fn floats(&self, _: usize, out: &mut Vec<f64>) -> bool {
        out.extend(self.0.iter().map(|x| x.to_native()));
        true
    }
}
