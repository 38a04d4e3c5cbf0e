# Local stand-in for the public redis:7-bookworm image, for machines that reach no image registry.
# Built by perf/docker/images.sh FROM the (possibly also stood-in) debian:bookworm-slim. It keeps
# the official image's layout where the stack depends on it: redis-server on PATH, /data as the
# working directory.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data
WORKDIR /data
LABEL org.rinha-rs.stand-in="redis from Debian 12's redis-server package"
CMD ["redis-server"]
