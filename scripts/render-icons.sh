#!/usr/bin/env bash
# Rasterises the SVG sources in icons/src into the PNG sizes Tauri's bundler and the tray
# need. The PNGs are committed; run this after editing an SVG.
set -euo pipefail
cd "$(dirname "$0")/../icons"
command -v rsvg-convert >/dev/null || { echo "render-icons: rsvg-convert missing (apt-get install librsvg2-bin)" >&2; exit 1; }
for size in 32 64 128 256 512; do
  rsvg-convert -w $size -h $size src/app.svg -o ${size}x${size}.png
done
cp 256x256.png 128x128@2x.png
cp 512x512.png icon.png
mkdir -p tray
for state in idle syncing paused attention error; do
  for size in 16 22 32 64; do
    rsvg-convert -w $size -h $size src/tray-$state.svg -o tray/$state-$size.png
  done
done
echo "render-icons: wrote $(ls *.png tray/*.png | wc -l) PNGs" >&2
