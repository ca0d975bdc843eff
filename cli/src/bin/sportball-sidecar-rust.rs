//! `sportball-sidecar-rust`: the name older scripts call; the same program as
//! `image-sidecar-rust`.

fn main() -> std::process::ExitCode {
    image_sidecar_rust::main()
}
