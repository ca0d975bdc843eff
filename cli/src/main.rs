//! `image-sidecar-rust`: see the library for everything it does.

fn main() -> std::process::ExitCode {
    image_sidecar_rust::main()
}
