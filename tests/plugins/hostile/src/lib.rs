//! Test fixture: a shared library whose constructor runs when it is opened, before anyone can
//! ask whether it is a plugin. What it does comes from `SIDECAR_TEST_CONSTRUCTOR`: `segv`
//! crashes with SIGSEGV, `abort` aborts, `marker:PATH` writes the opening process's id to PATH.
//! The tool must open such a library only in its scanner process, and carry on.

#[used]
#[link_section = ".init_array"]
static CONSTRUCTOR: extern "C" fn() = constructor;

extern "C" fn constructor() {
    match std::env::var("SIDECAR_TEST_CONSTRUCTOR").as_deref() {
        Ok("segv") => {
            // SAFETY: none; the point is the crash a broken library causes.
            unsafe { std::ptr::null_mut::<u32>().write_volatile(1) }
        }
        Ok("abort") => std::process::abort(),
        Ok(marker) => {
            if let Some(path) = marker.strip_prefix("marker:") {
                let _ = std::fs::write(path, std::process::id().to_string());
            }
        }
        Err(_) => {}
    }
}
