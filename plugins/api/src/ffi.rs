//! The types that cross the library boundary, all `#[repr(C)]` and checked by abi_stable when a
//! library loads. Values cross as their canonical encoding (`sidecar_model::canonical`, the
//! Binary format's payload, specified in `docs/formats.md`); options cross as JSON text.
//!
//! Plugin authors do not use these directly: [`crate::export_plugin!`] builds them from the
//! model's traits [`crate::Codec`], [`crate::Validator`] and [`crate::Summary`]. Changing any of
//! them changes the ABI: `tests/plugins/abi-1-1` is built against a frozen copy of this file and
//! must keep loading.

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::{RBox, RResult, RSlice, RStr, RString, RVec};
use abi_stable::{declare_root_module_statics, package_version_strings, sabi_trait, StableAbi};

/// How sure a codec is about some bytes: 0 no, 1 plausible, 2 certain.
pub type FfiDetection = u8;

/// Severity of a finding: 0 error, 1 warning.
pub type FfiSeverity = u8;

#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiFinding {
    pub severity: FfiSeverity,
    pub message: RString,
    /// A JSON pointer into the document, or empty.
    pub location: RString,
}

/// What a validator knows about the file besides its content.
#[repr(C)]
#[derive(StableAbi, Debug, Clone, Copy)]
pub struct FfiFile<'a> {
    pub path: RStr<'a>,
    pub has_image: bool,
    pub format: RStr<'a>,
}

/// A sidecar format, as a library provides it.
#[sabi_trait]
pub trait FfiCodec: Send + Sync {
    fn name(&self) -> RString;
    fn display_name(&self) -> RString;
    fn extensions(&self) -> RVec<RString>;
    fn version(&self) -> RString;
    fn detect(&self, head: RSlice<'_, u8>, file_len: u64) -> FfiDetection;
    fn can_encode(&self) -> bool;
    /// File bytes to the canonical encoding of the document.
    fn decode(&self, bytes: RSlice<'_, u8>) -> RResult<RVec<u8>, RString>;
    /// The canonical encoding of a document to file bytes.
    #[sabi(last_prefix_field)]
    fn encode(&self, canonical: RSlice<'_, u8>) -> RResult<RVec<u8>, RString>;
    /// Added in ABI 1.1; a 1.0 library's codecs answer `false`.
    fn read_by_other_programs(&self) -> bool {
        false
    }
}

/// A validation rule set, as a library provides it.
#[sabi_trait]
pub trait FfiValidator: Send + Sync {
    fn name(&self) -> RString;
    fn version(&self) -> RString;
    fn description(&self) -> RString;
    /// Checks options (JSON text).
    fn check_options(&self, options: RStr<'_>) -> RResult<(), RString>;
    /// Validates one document (canonical encoding) under options already checked.
    #[sabi(last_prefix_field)]
    fn validate(
        &self,
        options: RStr<'_>,
        canonical: RSlice<'_, u8>,
        file: FfiFile<'_>,
    ) -> RResult<RVec<FfiFinding>, RString>;
}

/// A field a summary adds to the stats report; `kind` 0 is a total, 1 a tally.
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiField {
    pub name: RString,
    pub kind: u8,
}

/// One increment a summary found in a document: `n` added to field number `field`, under
/// `key` for a tally (empty for a total).
#[repr(C)]
#[derive(StableAbi, Debug, Clone)]
pub struct FfiCount {
    pub field: u32,
    pub key: RString,
    pub n: u64,
}

/// A stats contributor, as a library provides it (ABI 1.1).
#[sabi_trait]
pub trait FfiSummary: Send + Sync {
    fn name(&self) -> RString;
    fn version(&self) -> RString;
    fn description(&self) -> RString;
    fn fields(&self) -> RVec<FfiField>;
    /// What one document (canonical encoding) adds to the fields.
    #[sabi(last_prefix_field)]
    fn summarize(&self, canonical: RSlice<'_, u8>) -> RResult<RVec<FfiCount>, RString>;
}

pub type FfiCodecBox = FfiCodec_TO<'static, RBox<()>>;
pub type FfiValidatorBox = FfiValidator_TO<'static, RBox<()>>;
pub type FfiSummaryBox = FfiSummary_TO<'static, RBox<()>>;

/// The root module every plugin library exports.
#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = PluginModuleRef)))]
#[sabi(missing_field(panic))]
pub struct PluginModule {
    /// The library's own name and version, for `plugins list`.
    pub library: extern "C" fn() -> RString,
    pub library_version: extern "C" fn() -> RString,
    pub codecs: extern "C" fn() -> RVec<FfiCodecBox>,
    #[sabi(last_prefix_field)]
    pub validators: extern "C" fn() -> RVec<FfiValidatorBox>,
    /// Added in ABI 1.1: libraries built against 1.0 have none.
    #[sabi(missing_field(option))]
    pub summaries: extern "C" fn() -> RVec<FfiSummaryBox>,
}

impl RootModule for PluginModuleRef {
    declare_root_module_statics! {PluginModuleRef}
    const BASE_NAME: &'static str = "sidecar_plugin";
    const NAME: &'static str = "sidecar_plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}
