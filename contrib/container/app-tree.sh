#!/bin/sh
# Puts /opt/keyholder as the image holds it (the Containerfile's `app` stage) under DIR, from
# this checkout's build and its installed node_modules, for a build without a container
# registry: `buildah build --build-context app=DIR …` then skips the stages that install and
# compile (docs/container.md). Run `npm run build` first. The native module (better-sqlite3)
# is the one built here, so the image's Node must have this machine's Node major version.
#
# Usage: contrib/container/app-tree.sh DIR   (DIR must not exist yet)
set -eu
repo=$(cd "$(dirname "$0")/../.." && pwd)
app=$1/opt/keyholder
[ ! -e "$1" ] || { echo "app-tree.sh: $1 exists already" >&2; exit 2; }
for built in dist/cli/main.js protocol/dist client/dist; do
  [ -e "$repo/$built" ] || { echo "app-tree.sh: $built is missing: run npm run build first" >&2; exit 2; }
done
mkdir -p "$app"
cp "$repo/package.json" "$repo/package-lock.json" "$app/"
for workspace in ui protocol client; do
  mkdir -p "$app/$workspace" && cp "$repo/$workspace/package.json" "$app/$workspace/"
done
# Hard links where the file system allows (a copy of 600 MB otherwise); npm prune only unlinks.
cp -al "$repo/node_modules" "$app/node_modules" 2>/dev/null || cp -a "$repo/node_modules" "$app/node_modules"
# production dependencies only, as `npm ci --omit=dev --workspaces=false` installs them
(cd "$app" && npm prune --omit=dev --workspaces=false --offline --no-audit --no-fund --loglevel=error)
rm -rf "$app/ui" "$app/protocol" "$app/client" "$app/package-lock.json" "$app"/node_modules/keyholder-*
cp -a "$repo/dist" "$app/dist"
for workspace in protocol client; do
  mkdir -p "$app/node_modules/keyholder-$workspace"
  cp "$repo/$workspace/package.json" "$app/node_modules/keyholder-$workspace/"
  cp -a "$repo/$workspace/dist" "$app/node_modules/keyholder-$workspace/dist"
done
cp "$repo/contrib/container/healthcheck.mjs" "$app/"
