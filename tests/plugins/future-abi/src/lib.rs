//! Test fixture: a root module under the plugin module's name that claims ABI version 2.0.0, as
//! a library built against a future `sidecar-plugin-api` would. The tool must refuse it in one
//! line.

use abi_stable::library::RootModule;
use abi_stable::prefix_type::PrefixTypeTrait;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::std_types::RString;
use abi_stable::{declare_root_module_statics, export_root_module, StableAbi};

#[repr(C)]
#[derive(StableAbi)]
#[sabi(kind(Prefix(prefix_ref = FutureModuleRef)))]
#[sabi(missing_field(panic))]
pub struct FutureModule {
    #[sabi(last_prefix_field)]
    pub library: extern "C" fn() -> RString,
}

impl RootModule for FutureModuleRef {
    declare_root_module_statics! {FutureModuleRef}
    const BASE_NAME: &'static str = "sidecar_plugin";
    const NAME: &'static str = "sidecar_plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("2.0.0");
}

extern "C" fn library() -> RString {
    "future".into()
}

#[export_root_module]
pub fn get_library() -> FutureModuleRef {
    FutureModule { library }.leak_into_prefix()
}
