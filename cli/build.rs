//! Records what `--version` prints besides the version: the plugin ABI version (the
//! `sidecar-plugin-api` crate's) and the commit the binary was built from ("unknown" outside a
//! git checkout, as in a container build).

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=IMAGE_SIDECAR_COMMIT={commit}");
    let manifest = std::fs::read_to_string("../plugins/api/Cargo.toml").unwrap_or_default();
    let abi = manifest
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or("unknown");
    println!("cargo:rustc-env=IMAGE_SIDECAR_PLUGIN_ABI={abi}");
    println!("cargo:rerun-if-changed=../plugins/api/Cargo.toml");
    println!("cargo:rerun-if-changed=../.git/HEAD");
    println!("cargo:rerun-if-changed=../.git/refs/heads");
}
