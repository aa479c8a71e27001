#!/usr/bin/env bash
# Makes the images the container tests use, without any registry (none is reachable here):
#   sconsrules-base:bookworm     debootstrap'd Debian with gcc, musl-tools, binutils (docker import)
#   sconsrules-builder:bookworm  the base plus this machine's Go toolchain (FROM base, COPY go)
# Both stay on the engine (its data root is under $HOME in CI), so later runs reuse them.
set -euo pipefail
BASE=sconsrules-base:bookworm
BUILDER=sconsrules-builder:bookworm

if ! docker image inspect "$BASE" >/dev/null 2>&1; then
  mirror=$(grep -hoE '^URIs: *http[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  mirror=${mirror:-$(grep -hoE '^deb +http[^ ]+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')}
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$(mktemp -d)
  echo "make_images: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include=musl-tools,gcc,libc6-dev,binutils,ca-certificates \
    bookworm "$rootfs" "$mirror" >/dev/null
  tar -C "$rootfs" -c . | docker import - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

gover=$(go env GOVERSION)
have=$(docker image inspect "$BUILDER" --format '{{index .Config.Labels "go.version"}}' 2>/dev/null || true)
if [ "$have" != "$gover" ]; then
  ctx=$(mktemp -d)
  cp -a "$(go env GOROOT)" "$ctx/go"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL go.version=$gover
DOCKERFILE
  echo "make_images: $BUILDER with $gover"
  docker build -q -t "$BUILDER" "$ctx" >/dev/null
  rm -rf "$ctx"
fi
echo "make_images: $BASE and $BUILDER ready"
