# Local stand-in for the public nginx:1.27-bookworm image, for machines that reach no image
# registry. Built by perf/docker/images.sh FROM the (possibly also stood-in) debian:bookworm-slim.
# It keeps the official image's layout where nginx.conf depends on it: /etc/nginx/nginx.conf,
# /var/cache/nginx for temp files (Debian's package has no such directory), logs to stderr.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/* \
 && mkdir -p /var/cache/nginx \
 && ln -sf /dev/stderr /var/log/nginx/error.log \
 && ln -sf /dev/stdout /var/log/nginx/access.log
LABEL org.rinha-rs.stand-in="nginx from Debian 12's nginx package"
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
