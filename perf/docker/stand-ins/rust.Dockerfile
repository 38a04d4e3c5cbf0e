# Local stand-in for the public rust:1-slim-bookworm image, for machines that reach no image
# registry: the host's own Rust toolchain (the `toolchain` build context, `rustc --print sysroot`
# without its documentation) on debian:bookworm-slim with gcc and libc6-dev, laid out as the
# official image lays it out (RUSTUP_HOME=/usr/local/rustup, CARGO_HOME=/usr/local/cargo).
# The `certificates` context holds extra CA certificates the host trusts (its
# /usr/local/share/ca-certificates), which cargo needs where an HTTPS proxy stands in front of
# crates.io. The stand-in is a build tool only: nothing of it reaches the image we ship.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev binutils ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=certificates . /usr/local/share/ca-certificates/
RUN update-ca-certificates >/dev/null
COPY --from=toolchain bin /usr/local/rustup/toolchains/stable/bin
COPY --from=toolchain lib /usr/local/rustup/toolchains/stable/lib
COPY --from=toolchain libexec /usr/local/rustup/toolchains/stable/libexec
COPY --from=toolchain etc /usr/local/rustup/toolchains/stable/etc
ENV RUSTUP_HOME=/usr/local/rustup CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:$PATH
RUN mkdir -p /usr/local/cargo/bin \
 && for tool in cargo rustc rustdoc; do \
      ln -s "/usr/local/rustup/toolchains/stable/bin/$tool" "/usr/local/cargo/bin/$tool"; \
    done \
 && cargo --version && rustc --version
LABEL org.rinha-rs.stand-in="the host's Rust toolchain on debian:bookworm-slim"
