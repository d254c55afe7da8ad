#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# tests/need-hdr-js.sh DIR - fetches hdr-histogram-js into DIR/node_modules
# at the exact versions tests/hdr-js/package-lock.json pins (npm ci), for
# test_flood's interop check, which then runs with MT_HDR_JS_DIR=DIR.
# It needs the network, so only CI runs it (.ci/run); make test and a
# package build never fetch anything, and the check skips without it.
# node and npm are installed with apt-get when missing (root).
set -eu
dir=${1:?usage: tests/need-hdr-js.sh DIR}
pins=$(cd "$(dirname "$0")/hdr-js" && pwd)

sh "$(dirname "$0")/need-tools.sh" "hdr-histogram-js check" node=nodejs npm=npm

# Fetched already at these pins: nothing to do.
if [ -f "$dir/node_modules/hdr-histogram-js/package.json" ] &&
	cmp -s "$pins/package-lock.json" "$dir/package-lock.json"; then
	exit 0
fi
mkdir -p "$dir"
cp "$pins/package.json" "$pins/package-lock.json" "$dir/"
# --ignore-scripts: nothing fetched runs here.
if ! (cd "$dir" && timeout 300 npm ci --no-audit --no-fund --ignore-scripts \
	--loglevel=error >/dev/null); then
	echo "hdr-histogram-js check: npm ci in $dir failed (is the npm registry reachable?)" >&2
	exit 1
fi
version=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
	"$dir/node_modules/hdr-histogram-js/package.json" | head -n 1)
echo "hdr-histogram-js $version in $dir/node_modules" >&2
