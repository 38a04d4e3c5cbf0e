# One image, three roles: the compose `command` picks rinha-api, rinha-worker or
# rinha-processor-sim.
#
# No `# syntax=` line: that would make BuildKit pull a front-end image, and the built-in front end
# already has cache mounts. Both base images are public (linux/amd64) and Debian 12 based; where no
# registry answers, perf/docker/images.sh builds local stand-ins under these same names.
FROM rust:1-slim-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# Cache mounts keep cargo's registry and the target directory between builds; the binaries are
# copied out of the cached target directory in the same step, because a cache mount is not part of
# the layer.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked \
 && mkdir -p /out \
 && for binary in rinha-api rinha-worker rinha-processor-sim; do \
      strip --strip-debug -o "/out/$binary" "target/release/$binary"; \
    done

FROM debian:bookworm-slim
COPY --from=builder /out/ /usr/local/bin/
# The binaries keep no state that a stop could lose (Redis holds it), so they rely on the default
# signal actions; as PID 1 those are ignored, hence `init: true` in docker-compose.yml, which puts a
# signal-forwarding init in front of them.
CMD ["rinha-api"]
