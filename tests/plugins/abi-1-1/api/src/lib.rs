//! The author half of the plugin API at ABI 1.1, frozen for the fixture library that proves
//! libraries built against it keep loading. Do not update.

mod author;
pub mod ffi;

pub use author::{
    codec_box, guarded_list, module, summary_box, validator_box, SidecarCodec, SidecarSummary,
    SidecarValidator,
};
pub use serde_json;
pub use sidecar_model::canonical;
pub use sidecar_model::value::{ArrayRef, ObjectRef};
pub use sidecar_model::{
    Counter, Detection, Field, FieldKind, FileContext, Finding, Map, Severity, Value, View,
};
