#!/bin/sh
# vendor.sh copies the JavaScript libraries the pages use from npm into
# site/static/vendor, where the binary embeds them: go build needs no npm.
# Run it (go generate ./api/web) after changing a version in package.json,
# then commit package.json, package-lock.json and site/static/vendor.
# npm ci installs exactly what package-lock.json pins, checked against its
# integrity hashes, so the same lock file always gives the same files.
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --silent
src=node_modules/zxing-wasm
dst=site/static/vendor
mkdir -p "$dst"
# The reader build only (no barcode writer): a script that defines the
# global ZXingWASM, and the WebAssembly module it loads.
cp "$src/dist/iife/reader/index.js" "$dst/zxing-reader.js"
cp "$src/dist/reader/zxing_reader.wasm" "$dst/zxing_reader.wasm"
cp "$src/LICENSE" "$dst/zxing-wasm.LICENSE.txt"
version=$(node -p 'require("./node_modules/zxing-wasm/package.json").version')
echo "zxing-wasm $version" > "$dst/VERSIONS.txt"
echo "vendored zxing-wasm $version into $dst"
# uPlot draws the dashboard's charts: the minified build that defines the
# global uPlot, and its stylesheet (legend and cursor).
src=node_modules/uplot
cp "$src/dist/uPlot.iife.min.js" "$dst/uPlot.iife.min.js"
cp "$src/dist/uPlot.min.css" "$dst/uPlot.min.css"
cp "$src/LICENSE" "$dst/uplot.LICENSE.txt"
version=$(node -p 'require("./node_modules/uplot/package.json").version')
echo "uplot $version" >> "$dst/VERSIONS.txt"
echo "vendored uplot $version into $dst"
