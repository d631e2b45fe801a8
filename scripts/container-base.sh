#!/bin/sh
# Builds a local stand-in for the `node:20-alpine` base image that Dockerfile.relay names, for machines that cannot
# reach Docker Hub (CI reaches only the npm and Debian registries): Debian bookworm minbase from the Debian mirror in
# apt's sources (debootstrap), plus this machine's `node` and `npm`, its CA bundle and a `node` user with uid 1000,
# as the official images have. It is glibc, not Alpine: Dockerfile.relay must not run `apk`. The image is tagged
# docker.io/library/node:20-alpine (so `FROM node:20-alpine` finds it with --pull=never) and localhost/node-host:20.
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
