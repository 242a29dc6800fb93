#!/bin/sh
# Copies the Leaflet release pinned by scripts/leaflet/package-lock.json into
# static/vendor/leaflet/, where the binary embeds it (so that builds need no network).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/scripts/leaflet"
npm ci --no-audit --no-fund
dist="$root/scripts/leaflet/node_modules/leaflet/dist"
out="$root/static/vendor/leaflet"
rm -rf "$out"
mkdir -p "$out/images"
cp "$dist/leaflet.js" "$dist/leaflet.css" "$out/"
cp "$dist/images/"*.png "$out/images/"
cp "$root/scripts/leaflet/node_modules/leaflet/LICENSE" "$out/LICENSE"
echo "Leaflet $(node -p "require('./node_modules/leaflet/package.json').version") copied to $out"
