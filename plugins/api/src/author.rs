//! The author's side of the boundary: the model's own [`Codec`], [`Validator`] and [`Summary`]
//! traits, implemented exactly as a built-in plugin implements them, are adapted to the stable
//! ABI here, and the [`export_plugin!`](crate::export_plugin) macro turns implementations into
//! a library's root module. Every call that crosses the boundary runs inside `catch_unwind`: a panicking
//! plugin returns an error for that file instead of aborting the tool, and its panic message is
//! kept for that error rather than printed on the tool's stderr.

use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::{Arc, Mutex, Once};

use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_trait::TD_Opaque;
use abi_stable::std_types::{RResult, RSlice, RStr, RString, RVec};
use sidecar_model::{
    canonical, Check, Codec, Counter, Detection, Field, FieldKind, FileContext, Severity, Summary,
    Validator,
};

use crate::ffi::{
    FfiCodec, FfiCodecBox, FfiCodec_TO, FfiCount, FfiDetection, FfiField, FfiFile, FfiFinding,
    FfiSummary, FfiSummaryBox, FfiSummary_TO, FfiValidator, FfiValidatorBox, FfiValidator_TO,
    PluginModule, PluginModuleRef,
};

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// A text a plugin's method returns, or what it said if it panicked.
fn guarded_text(what: &str, text: impl FnOnce() -> RString) -> RString {
    guarded(what, || Ok(text())).unwrap_or_else(RString::from)
}

/// Runs `f`, turning a panic into an error message. The first call installs a panic hook in
/// the plugin's copy of the standard library that records the message instead of printing it.
fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    static QUIET: Once = Once::new();
    QUIET.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".into());
            let message = match info.location() {
                Some(at) => format!("{message} (at {}:{})", at.file(), at.line()),
                None => message,
            };
            LAST_PANIC.with(|last| *last.borrow_mut() = Some(message));
        }));
    });
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(_) => {
            let message = LAST_PANIC
                .with(|last| last.borrow_mut().take())
                .unwrap_or_else(|| "no message".into());
            Err(format!("plugin panicked in {what}: {message}"))
        }
    }
}

fn to_rresult<T>(result: Result<T, String>) -> RResult<T, RString> {
    result.map_err(RString::from).into()
}

struct CodecAdapter<T>(T);

impl<T: Codec + 'static> FfiCodec for CodecAdapter<T> {
    fn name(&self) -> RString {
        guarded_text("name", || self.0.name().into())
    }
    fn display_name(&self) -> RString {
        guarded_text("display_name", || self.0.display_name().into())
    }
    fn extensions(&self) -> RVec<RString> {
        guarded("extensions", || {
            Ok(self
                .0
                .extensions()
                .iter()
                .map(|e| RString::from(*e))
                .collect())
        })
        .unwrap_or_default()
    }
    fn version(&self) -> RString {
        guarded_text("version", || self.0.version().into())
    }
    fn detect(&self, head: RSlice<'_, u8>, file_len: u64) -> FfiDetection {
        guarded("detect", || Ok(self.0.detect(head.as_slice(), file_len)))
            .map(|d| match d {
                Detection::No => 0,
                Detection::Plausible => 1,
                Detection::Certain => 2,
            })
            .unwrap_or(0)
    }
    fn can_encode(&self) -> bool {
        guarded("can_encode", || Ok(self.0.can_encode())).unwrap_or(false)
    }
    fn read_by_other_programs(&self) -> bool {
        guarded("read_by_other_programs", || {
            Ok(self.0.read_by_other_programs())
        })
        .unwrap_or(true)
    }
    // ABI 1.x carries the value, not the warnings: a plugin's warnings stay on its side.
    fn decode(&self, bytes: RSlice<'_, u8>) -> RResult<RVec<u8>, RString> {
        to_rresult(guarded("decode", || {
            let decoded = self.0.decode(bytes.as_slice()).map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            canonical::encode(decoded.value.view(), &mut out);
            Ok(out.into())
        }))
    }
    fn encode(&self, encoded: RSlice<'_, u8>) -> RResult<RVec<u8>, RString> {
        to_rresult(guarded("encode", || {
            let mut out = Vec::new();
            self.0
                .encode_canonical(encoded.as_slice(), &mut out)
                .map_err(|e| e.to_string())?;
            Ok(out.into())
        }))
    }
}

struct ValidatorAdapter<T> {
    inner: T,
    /// Checks already configured, by the options' JSON text: a run uses one or two.
    configured: Mutex<Vec<(String, Arc<dyn Check>)>>,
}

impl<T: Validator> ValidatorAdapter<T> {
    /// The check for `text`. The ABI carries no base directory: relative paths in a plugin's
    /// options reach it as written (`Validator::configure` gets an empty `base_dir`).
    fn check(&self, text: &str) -> Result<Arc<dyn Check>, String> {
        let mut configured = self.configured.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, check)) = configured.iter().find(|(t, _)| t == text) {
            return Ok(check.clone());
        }
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("options are not JSON: {e}"))?;
        let check: Arc<dyn Check> = Arc::from(self.inner.configure(&json, Path::new(""))?);
        configured.push((text.to_owned(), check.clone()));
        Ok(check)
    }
}

impl<T: Validator + 'static> FfiValidator for ValidatorAdapter<T> {
    fn name(&self) -> RString {
        guarded_text("name", || self.inner.name().into())
    }
    fn version(&self) -> RString {
        guarded_text("version", || self.inner.version().into())
    }
    fn description(&self) -> RString {
        guarded_text("description", || self.inner.description().into())
    }
    fn check_options(&self, options: RStr<'_>) -> RResult<(), RString> {
        to_rresult(guarded("configure", || {
            self.check(options.as_str()).map(drop)
        }))
    }
    fn validate(
        &self,
        options: RStr<'_>,
        encoded: RSlice<'_, u8>,
        file: FfiFile<'_>,
    ) -> RResult<RVec<FfiFinding>, RString> {
        to_rresult(guarded("validate", || {
            let check = self.check(options.as_str())?;
            let value = canonical::decode(encoded.as_slice(), 0).map_err(|e| e.to_string())?;
            let context = FileContext {
                path: Path::new(file.path.as_str()),
                has_image: file.has_image,
                format: file.format.as_str(),
            };
            let mut findings = Vec::new();
            check.check(value.view(), &context, &mut findings);
            Ok(findings
                .into_iter()
                .map(|f| FfiFinding {
                    severity: match f.severity {
                        Severity::Error => 0,
                        Severity::Warning => 1,
                    },
                    message: f.message.into(),
                    location: f.location.unwrap_or_default().into(),
                })
                .collect())
        }))
    }
}

struct SummaryAdapter<T> {
    inner: T,
    fields: Vec<Field>,
}

impl<T: Summary + 'static> FfiSummary for SummaryAdapter<T> {
    fn name(&self) -> RString {
        guarded_text("name", || self.inner.name().into())
    }
    fn version(&self) -> RString {
        guarded_text("version", || self.inner.version().into())
    }
    fn description(&self) -> RString {
        guarded_text("description", || self.inner.description().into())
    }
    fn fields(&self) -> RVec<FfiField> {
        self.fields
            .iter()
            .map(|f| FfiField {
                name: f.name.as_str().into(),
                kind: match f.kind {
                    FieldKind::Total => 0,
                    FieldKind::Tally => 1,
                },
            })
            .collect()
    }
    fn summarize(&self, encoded: RSlice<'_, u8>) -> RResult<RVec<FfiCount>, RString> {
        to_rresult(guarded("summarize", || {
            let value = canonical::decode(encoded.as_slice(), 0).map_err(|e| e.to_string())?;
            let mut counters: Vec<Counter> =
                self.fields.iter().map(|f| Counter::new(f.kind)).collect();
            self.inner.add(value.view(), &mut counters);
            let mut counts = RVec::new();
            for (field, counter) in counters.into_iter().enumerate() {
                match counter {
                    Counter::Total(0) => {}
                    Counter::Total(n) => counts.push(FfiCount {
                        field: field as u32,
                        key: RString::new(),
                        n,
                    }),
                    Counter::Tally(map) => {
                        counts.extend(map.into_iter().map(|(key, n)| FfiCount {
                            field: field as u32,
                            key: key.into(),
                            n,
                        }))
                    }
                }
            }
            Ok(counts)
        }))
    }
}

/// Wraps a summary for export. Used by [`export_plugin!`](crate::export_plugin).
pub fn summary_box<T: Summary + 'static>(summary: T) -> FfiSummaryBox {
    let fields = guarded("fields", || Ok(summary.fields())).unwrap_or_default();
    FfiSummary_TO::from_value(
        SummaryAdapter {
            inner: summary,
            fields,
        },
        TD_Opaque,
    )
}

/// Wraps a codec for export. Used by [`export_plugin!`](crate::export_plugin).
pub fn codec_box<T: Codec + 'static>(codec: T) -> FfiCodecBox {
    FfiCodec_TO::from_value(CodecAdapter(codec), TD_Opaque)
}

/// Wraps a validator for export. Used by [`export_plugin!`](crate::export_plugin).
pub fn validator_box<T: Validator + 'static>(validator: T) -> FfiValidatorBox {
    FfiValidator_TO::from_value(
        ValidatorAdapter {
            inner: validator,
            configured: Mutex::new(Vec::new()),
        },
        TD_Opaque,
    )
}

/// Builds the collections a root module hands out, keeping a panicking constructor from
/// crossing the boundary (it yields an empty list).
pub fn guarded_list<T>(make: impl FnOnce() -> Vec<T>) -> RVec<T> {
    guarded("plugin construction", || Ok(make()))
        .unwrap_or_default()
        .into()
}

/// The root module of a library. Used by [`export_plugin!`](crate::export_plugin).
pub fn module(
    library: extern "C" fn() -> RString,
    library_version: extern "C" fn() -> RString,
    codecs: extern "C" fn() -> RVec<FfiCodecBox>,
    validators: extern "C" fn() -> RVec<FfiValidatorBox>,
    summaries: extern "C" fn() -> RVec<FfiSummaryBox>,
) -> PluginModuleRef {
    PluginModule {
        library,
        library_version,
        codecs,
        validators,
        summaries,
    }
    .leak_into_prefix()
}

/// Exports the codecs, validators and (optionally) summaries of a plugin library:
///
/// ```ignore
/// sidecar_plugin_api::export_plugin! {
///     codecs: [CborCodec],
///     validators: [RulesValidator],
///     summaries: [Ratings],
/// }
/// ```
///
/// The crate must be a `cdylib` and depend on `abi_stable` (the root module's attribute names
/// it). The library's name and version in `plugins list` are the crate's.
#[macro_export]
macro_rules! export_plugin {
    (codecs: [$($codec:expr),* $(,)?], validators: [$($validator:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin! { codecs: [$($codec),*], validators: [$($validator),*], summaries: [] }
    };
    (
        codecs: [$($codec:expr),* $(,)?],
        validators: [$($validator:expr),* $(,)?],
        summaries: [$($summary:expr),* $(,)?] $(,)?
    ) => {
        #[::abi_stable::export_root_module]
        pub fn get_library() -> $crate::ffi::PluginModuleRef {
            extern "C" fn library() -> ::abi_stable::std_types::RString {
                env!("CARGO_PKG_NAME").into()
            }
            extern "C" fn library_version() -> ::abi_stable::std_types::RString {
                env!("CARGO_PKG_VERSION").into()
            }
            extern "C" fn codecs() -> ::abi_stable::std_types::RVec<$crate::ffi::FfiCodecBox> {
                $crate::guarded_list(|| vec![$($crate::codec_box($codec)),*])
            }
            extern "C" fn validators() -> ::abi_stable::std_types::RVec<$crate::ffi::FfiValidatorBox> {
                $crate::guarded_list(|| vec![$($crate::validator_box($validator)),*])
            }
            extern "C" fn summaries() -> ::abi_stable::std_types::RVec<$crate::ffi::FfiSummaryBox> {
                $crate::guarded_list(|| vec![$($crate::summary_box($summary)),*])
            }
            $crate::module(library, library_version, codecs, validators, summaries)
        }
    };
}
