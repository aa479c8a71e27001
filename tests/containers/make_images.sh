#!/usr/bin/env bash
# Makes the images the container tests use, without any registry (none is reachable here):
#   sconsrules-base:bookworm     debootstrap'd Debian with gcc, g++ (glibc's: the verifier must name it),
#                                musl-tools, binutils, pkg-config, make, perl (docker import)
#   sconsrules-builder:bookworm  the base plus this machine's Go toolchain (FROM base, COPY go)
# Both stay on the engine (its data root is under $HOME in CI), so later runs reuse them; a change of the
# package list (RECIPE) or of the base makes them again.
set -euo pipefail
BASE=sconsrules-base:bookworm
BUILDER=sconsrules-builder:bookworm
PACKAGES=musl-tools,gcc,g++,libc6-dev,binutils,ca-certificates,pkg-config,make,perl,bzip2
RECIPE=$(printf '%s' "$PACKAGES" | cksum | cut -d' ' -f1)

have_recipe=$(docker image inspect "$BASE" --format '{{index .Config.Labels "sconsrules.recipe"}}' 2>/dev/null || true)
if [ "$have_recipe" != "$RECIPE" ]; then
  mirror=${mirror:-$(grep -hoE '^URIs: *http[^ ]+' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')}
  mirror=${mirror:-$(grep -hoE '^deb +http[^ ]+' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')}
  if [ -z "$mirror" ]; then
    echo "make_images: no Debian mirror in apt's sources (/etc/apt/sources.list*); run with mirror=URL" >&2
    exit 1
  fi
  rootfs=$(mktemp -d)
  echo "make_images: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$rootfs" "$mirror" >/dev/null
  tar -C "$rootfs" -c . | docker import --change "LABEL sconsrules.recipe=$RECIPE" - "$BASE" >/dev/null
  rm -rf "$rootfs"
fi

gover=$(go env GOVERSION)
want="$gover $(docker image inspect "$BASE" --format '{{.Id}}')"
have=$(docker image inspect "$BUILDER" --format '{{index .Config.Labels "sconsrules.made-from"}}' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  ctx=$(mktemp -d)
  cp -a "$(go env GOROOT)" "$ctx/go"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
COPY go /usr/local/go
ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL go.version=$gover sconsrules.made-from="$want"
DOCKERFILE
  echo "make_images: $BUILDER with $gover"
  docker build -q -t "$BUILDER" "$ctx" >/dev/null
  rm -rf "$ctx"
  docker image prune -f >/dev/null  # the images these replaced
fi
echo "make_images: $BASE and $BUILDER ready"
