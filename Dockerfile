# The tool in a container, next to the photos: two stages, the build in the official Rust image
# with the README's build command, the run on slim Debian as an unprivileged user.

FROM rust:1.88-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p image-sidecar-rust \
    && target/release/image-sidecar-rust man > image-sidecar-rust.1 \
    && target/release/image-sidecar-rust completions bash > image-sidecar-rust.bash

FROM debian:bookworm-slim
RUN useradd --create-home --uid 10001 --user-group sidecar
COPY --from=build /src/target/release/image-sidecar-rust /src/target/release/sportball-sidecar-rust /usr/local/bin/
COPY --from=build /src/image-sidecar-rust.1 /usr/local/share/man/man1/
COPY --from=build /src/image-sidecar-rust.bash /usr/share/bash-completion/completions/image-sidecar-rust
# The built-in pipelines are embedded in the binary; their files are here to read and copy.
COPY pipelines/ /usr/share/image-sidecar-rust/pipelines/
# The `sidecar` user, by number so that hosts resolve it alike.
USER 10001:10001
WORKDIR /data
ENTRYPOINT ["image-sidecar-rust"]
CMD ["run", "health-check", "--input", "/data"]
