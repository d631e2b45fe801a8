#!/bin/sh
# Builds local stand-ins for the Docker Hub images the project names, for machines that cannot reach Docker Hub (CI
# reaches only the npm and Debian registries), both on Debian bookworm minbase from the Debian mirror in apt's
# sources (debootstrap):
# - `node:20-alpine`, Dockerfile.relay's base: this machine's `node` and `npm`, its CA bundle and a `node` user with
#   uid 1000, as the official images have. It is glibc, not Alpine: Dockerfile.relay must not run `apk`. Tagged
#   docker.io/library/node:20-alpine (so `FROM node:20-alpine` finds it with --pull=never) and localhost/node-host:20.
# - `nginx:1.27`, deploy/compose.yaml's proxy: Debian's nginx laid out as the official image is (conf.d/*.conf
#   included, no default site, logs on stdout/stderr, `nginx -g 'daemon off;'`), with notices logged so that its
#   start can be seen. Tagged docker.io/library/nginx:1.27 and localhost/nginx-debian:bookworm.
#
# Usage: sh scripts/container-base.sh WORKDIR   (root, with podman and debootstrap installed; WORKDIR keeps the
# debootstrap tree, so a second run only rebuilds the small top layer)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$here/podman-containers.conf}"
work=${1:?usage: sh scripts/container-base.sh WORKDIR}
mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian
mkdir -p "$work"
if ! podman image exists localhost/debian:bookworm-minbase; then
  [ -x "$work/rootfs/bin/sh" ] || debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror"
  tar -C "$work/rootfs" -c . | podman import - localhost/debian:bookworm-minbase
fi
ctx="$work/ctx"
rm -rf "$ctx"
mkdir -p "$ctx"
cp "$(readlink -f "$(command -v node)")" "$ctx/node"
# npm's own folder (bin/npm-cli.js lives in it), whichever prefix this machine's npm was installed under.
cp -a "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")" "$ctx/npm"
# The CAs this machine trusts: where npm is reached through a TLS-intercepting proxy, `npm ci` inside a build fails
# without them (SELF_SIGNED_CERT_IN_CHAIN).
cp /etc/ssl/certs/ca-certificates.crt "$ctx/ca-certificates.crt"
cat >"$ctx/Containerfile" <<'EOC'
FROM localhost/debian:bookworm-minbase
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/sh node
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
CMD ["node"]
EOC
podman build --pull=never --network=none -t localhost/node-host:20 "$ctx"
podman tag localhost/node-host:20 docker.io/library/node:20-alpine

# nginx from Debian's packages: the one build step that needs the network (the Debian mirror), --network=host.
nginx_ctx="$work/nginx-ctx"
rm -rf "$nginx_ctx"
mkdir -p "$nginx_ctx"
cat >"$nginx_ctx/Containerfile" <<'EOC'
FROM localhost/debian:bookworm-minbase
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default \
 && sed -i 's|^error_log .*|error_log /dev/stderr notice;|; s|^\(\s*access_log\) .*|\1 /dev/stdout;|' /etc/nginx/nginx.conf
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
EOC
podman build --pull=never --network=host -t localhost/nginx-debian:bookworm "$nginx_ctx"
podman tag localhost/nginx-debian:bookworm docker.io/library/nginx:1.27
